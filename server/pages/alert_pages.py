"""One alert: what happened, the lots affected, and the forms of its lifecycle
(acknowledge, corrective action, close after review). The forms call the services the
API calls (server/alerting/actions.py), so the rules and checks are the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain import clock
from coldchain.settings import AlertingSettings
from server.alerting import actions
from server.alerting.lifecycle import may_act, may_review
from server.alerting.schemas import AcknowledgeIn, CloseIn, CorrectiveActionIn
from server.alerting.visibility import get_visible_alert
from server.core.access import Viewer
from server.core.deps import SessionDep, StoreDep
from server.core.errors import ApiError
from server.core.models import Load, utcnow
from server.core.models.alerts import AlertLot
from server.core.validation_fr import problem
from server.pages import alert_view, i18n, live_view, replay
from server.pages.web import (
    CsrfChecked,
    NavLink,
    PageRefused,
    Visitor,
    handle_form,
    local_input,
    local_instant,
    render,
    see_other,
    visitor,
)
from server.schemas.common import IdPath

T = TypeVar("T")

router = APIRouter(prefix="/alerts", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # reached from the alert lists

FIELDS = (
    "immediate_action",
    "action_at",
    "product_assessment",
    "core_temperature_c",
    "thermometer",
    "root_cause",
    "preventive_action",
    "afsca_reason",
)


def show(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    visit: Visitor,
    alert_id: int,
    errors: list[str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    try:
        alert = get_visible_alert(session, visit.viewer, alert_id)
    except ApiError as missing:  # not visible answers like not there
        raise PageRefused(missing.status, visit) from missing
    detail = actions.detail(session, alert)
    lang = i18n.page_language(request)
    words = i18n.translator(lang)
    empty = request.app.state.settings.alerting.empty_zone_category
    title = f"{words['alert_chart']} — {alert.record.get('location_name') or alert.location_key}"
    now = clock.utcnow()
    around = alert_view.view(session, store, visit.viewer, alert, detail, empty, now, lang, title)
    return render(
        request,
        "alert.html",
        visit,
        status_code,
        alert=detail,
        lead=live_view.alert_text(alert, lang, now),
        course=live_view.course(alert, lang),
        around=around,
        may_act=may_act(visit.viewer, session, alert),
        may_review=may_review(visit.viewer, alert),
        decisions=alert_view.DECISIONS,
        errors=errors or [],
        form=form or {"action_at": local_input(clock.utcnow())},
    )


@router.get("/{alert_id}", response_class=HTMLResponse)
def alert_page(
    alert_id: IdPath, request: Request, session: SessionDep, store: StoreDep
) -> Response:
    return show(request, session, store, visitor(request, session), alert_id)


# A step of the alert's lifecycle (server/alerting/actions.py), given what its form says.
Step = Callable[[Session, Viewer, int, T, AlertingSettings, datetime], object]


async def submit(
    request: Request,
    session: SessionDep,
    store: StoreDep,
    alert_id: int,
    read: Callable[[dict[str, str]], T],
    step: Step[T],
) -> Response:
    """The form as the step's input (`read` validates it), then the step; back to the alert,
    or the alert again with what is wrong."""
    settings = request.app.state.settings.alerting

    def handle(form: dict[str, str]) -> Response:
        visit = visitor(request, session)
        lang = i18n.page_language(request)
        try:
            step(session, visit.viewer, alert_id, read(form), settings, utcnow())
        except ValidationError as invalid:
            errors = [said(session, alert_id, form, e, lang) for e in invalid.errors()]
            return show(request, session, store, visit, alert_id, errors, form, 422)
        except ApiError as refused:
            if refused.status == 404:
                raise PageRefused(404, visit) from refused
            session.rollback()
            errors = [i18n.refusal(refused, lang)]
            return show(request, session, store, visit, alert_id, errors, form, refused.status)
        return see_other(f"/alerts/{alert_id}")

    return await handle_form(request, replay.once(request, session, handle))


def said(session: Session, alert_id: int, form: dict[str, str], error: Any, lang: str) -> str:
    """What is wrong with one field, in words: a lot's decision or justification names the
    lot (its reference, when it is one of the alert's lots)."""
    words = i18n.translator(lang)
    loc = error["loc"]
    if len(loc) == 3 and loc[0] == "lot_decisions" and isinstance(loc[1], int):
        keys = [key for key in form if key.startswith("decision_")]
        load_id = keys[loc[1]].removeprefix("decision_") if loc[1] < len(keys) else ""
        lot = lot_reference(session, alert_id, load_id) or load_id
        if loc[2] == "decision" and not error.get("input"):
            return words["decision_missing"].format(lot=lot)
        named = f"{words['lot_decision']} {lot} — {words.get(str(loc[2]), loc[2])}"
        return named + words["sep_colon"] + problem(error, lang)
    field = words.get(str(loc[0]), loc[0]) if loc else ""
    return field + words["sep_colon"] + problem(error, lang)


def lot_reference(session: Session, alert_id: int, load_id: str) -> str | None:
    """The reference of one of the alert's lots (anything else: None)."""
    if not load_id.isdigit() or len(load_id) > 12:
        return None
    return session.scalar(
        select(Load.lot_reference)
        .join(AlertLot, AlertLot.load_id == Load.id)
        .where(AlertLot.alert_id == alert_id, Load.id == int(load_id))
    )


@router.post("/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: IdPath, request: Request, session: SessionDep, store: StoreDep, _csrf: CsrfChecked
) -> Response:
    def note(form: dict[str, str]) -> str | None:
        return AcknowledgeIn(note=form.get("note") or None).note

    return await submit(request, session, store, alert_id, note, actions.acknowledge)


def corrective_action(form: dict[str, str]) -> CorrectiveActionIn:
    decisions = [
        {
            "load_id": key.removeprefix("decision_"),
            "decision": value,
            "justification": form.get(f"justification_{key.removeprefix('decision_')}", ""),
        }
        for key, value in form.items()
        if key.startswith("decision_")
    ]
    action_at = local_instant(form.get("action_at", ""))
    return CorrectiveActionIn.model_validate(
        {
            "immediate_action": form.get("immediate_action", ""),
            "action_at": action_at,
            "product_assessment": form.get("product_assessment", ""),
            "core_temperature_c": (form.get("core_temperature_c") or "").replace(",", ".") or None,
            "core_measured_at": action_at if form.get("core_temperature_c") else None,
            "thermometer": form.get("thermometer") or None,
            "lot_decisions": decisions,
            "root_cause": form.get("root_cause", ""),
            "preventive_action": form.get("preventive_action", ""),
            "afsca_notified": form.get("afsca_notified") == "yes",
            "afsca_reason": form.get("afsca_reason", ""),
        }
    )


@router.post("/{alert_id}/corrective-action")
async def record_action(
    alert_id: IdPath, request: Request, session: SessionDep, store: StoreDep, _csrf: CsrfChecked
) -> Response:
    return await submit(
        request, session, store, alert_id, corrective_action, actions.record_corrective_action
    )


@router.post("/{alert_id}/close")
async def close(
    alert_id: IdPath, request: Request, session: SessionDep, store: StoreDep, _csrf: CsrfChecked
) -> Response:
    def review_note(form: dict[str, str]) -> str:
        return CloseIn(review_note=form.get("review_note", "")).review_note

    return await submit(request, session, store, alert_id, review_note, actions.close)
