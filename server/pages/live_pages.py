"""The live parts of the pages, rendered by the server: the banner of the alerts still going
on (every page), « Mon camion maintenant » (the driver's vans, zones and probes), the
producer's rooms now, and the alerts lists. A role page renders them inside itself; the
routes here render them again, alone, for static/live.js, which swaps them in when the alert
stream says something changed and every `live_every` seconds (elapsed times, ages of data,
a probe back). One rendering for both: what a page says now is computed once, on the server,
with its clock and time zone (coldchain/clock.py) and the one judging function
(alerts/judgement.py, through server/pages/status.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.alerting.visibility import visible_alerts
from server.core.deps import SessionDep, StoreDep
from server.core.models import Role, utcnow
from server.core.models.alerts import Alert, AlertState
from server.pages import i18n, live_view, status
from server.pages.web import NavLink, Visitor, allowed_visitor, render, visitor

router = APIRouter(prefix="/live", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # parts of other pages

LIVE_EVERY_S = 20.0  # real seconds between two refreshes when nothing was heard
DEMO_EVERY_S = 2.0  # while the demo's fast clock runs: a demo minute is a real second


def live_every() -> float:
    return DEMO_EVERY_S if clock.accelerated() else LIVE_EVERY_S


def newest_alerts(session: Session, visit: Visitor, *, open_only: bool = True) -> list[Alert]:
    """The 50 newest alerts the visitor sees (not closed ones, unless `open_only` is False)."""
    query = select(Alert).where(visible_alerts(visit.viewer))
    if open_only:
        query = query.where(Alert.state != AlertState.CLOSED)
    return list(session.scalars(query.order_by(Alert.start_at.desc(), Alert.id.desc()).limit(50)))


def common(
    request: Request,
    session: Session,
    store: ReadingStore,
    visit: Visitor,
    now: datetime,
    src: str,
) -> dict[str, Any]:
    """What every live page has: the banner, where its parts come from and how often."""
    lang = i18n.page_language(request)
    return {
        "banner": live_view.ongoing_alerts(session, store, visit.viewer, now, lang),
        "live_src": src,
        "live_every": live_every(),
        "live_at": i18n.local_time(now, lang, with_date=False),
        "now": now,
    }


def driver_parts(
    request: Request, session: Session, store: ReadingStore, visit: Visitor
) -> dict[str, Any]:
    now = utcnow()
    lang = i18n.page_language(request)
    empty = request.app.state.settings.alerting.empty_zone_category
    return {
        **common(request, session, store, visit, now, "/live/driver"),
        "trucks": status.my_trucks(session, store, visit.viewer, empty, now),
        "rows": live_view.rows(newest_alerts(session, visit), lang, now),
    }


def producer_parts(
    request: Request, session: Session, store: ReadingStore, visit: Visitor
) -> dict[str, Any]:
    now = utcnow()
    lang = i18n.page_language(request)
    return {
        **common(request, session, store, visit, now, "/live/producer"),
        "rooms_now": status.my_rooms(session, store, visit.viewer, now),
        "rows": live_view.rows(newest_alerts(session, visit, open_only=False), lang, now),
    }


def hygiene_parts(
    request: Request, session: Session, store: ReadingStore, visit: Visitor
) -> dict[str, Any]:
    now = utcnow()
    lang = i18n.page_language(request)
    return {
        **common(request, session, store, visit, now, "/live/hygiene"),
        "rows": live_view.rows(newest_alerts(session, visit), lang, now),
    }


def parts(request: Request, visit: Visitor, names: tuple[str, ...], **context: Any) -> Response:
    response = render(request, "live_parts.html", visit, parts=names, **context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Live-Parts"] = "1"  # live.js: this is parts, not the login page
    return response


def role(request: Request, session: Session, wanted: str) -> Visitor:
    return allowed_visitor(request, session, lambda visit: visit.has_role(wanted))


@router.get("/banner", response_class=HTMLResponse)
def banner(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = visitor(request, session)
    context = common(request, session, store, visit, utcnow(), "/live/banner")
    return parts(request, visit, ("banner",), **context)


@router.get("/driver", response_class=HTMLResponse)
def driver(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role(request, session, Role.DRIVER)
    context = driver_parts(request, session, store, visit)
    return parts(request, visit, ("banner", "trucks", "alerts"), **context)


@router.get("/producer", response_class=HTMLResponse)
def producer(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role(request, session, Role.PRODUCER)
    context = producer_parts(request, session, store, visit)
    return parts(request, visit, ("banner", "rooms", "alerts"), **context)


@router.get("/hygiene", response_class=HTMLResponse)
def hygiene(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role(request, session, Role.HYGIENE_OFFICER)
    context = hygiene_parts(request, session, store, visit)
    return parts(request, visit, ("banner", "alerts"), **context)
