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
from sqlalchemy.orm import Session

from coldchain import clock
from coldchain.settings import AlertingSettings
from server.alerting import actions
from server.alerting.lifecycle import may_act, may_review
from server.alerting.schemas import AcknowledgeIn, CloseIn, CorrectiveActionIn
from server.alerting.visibility import get_visible_alert
from server.core.access import Viewer
from server.core.deps import SessionDep
from server.core.errors import ApiError, message
from server.core.models import utcnow
from server.core.models.alerts import Decision
from server.core.validation_fr import problem
from server.pages import i18n
from server.pages.i18n import Words
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
WORDS: Words = {}  # the alert words are shared with the lists (i18n.py)

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
    return render(
        request,
        "alert.html",
        visit,
        status_code,
        alert=detail,
        may_act=may_act(visit.viewer, session, alert),
        may_review=may_review(visit.viewer, alert),
        decisions=list(Decision),
        errors=errors or [],
        form=form or {"action_at": local_input(clock.utcnow())},
    )


@router.get("/{alert_id}", response_class=HTMLResponse)
def alert_page(alert_id: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, session, visitor(request, session), alert_id)


# A step of the alert's lifecycle (server/alerting/actions.py), given what its form says.
Step = Callable[[Session, Viewer, int, T, AlertingSettings, datetime], object]


async def submit(
    request: Request,
    session: SessionDep,
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
        words = i18n.translator(lang)
        try:
            step(session, visit.viewer, alert_id, read(form), settings, utcnow())
        except ValidationError as invalid:
            errors = [
                f"{words.get(str(e['loc'][0]), e['loc'][0]) if e['loc'] else ''} : "
                f"{problem(e, lang)}"
                for e in invalid.errors()
            ]
            return show(request, session, visit, alert_id, errors, form, 422)
        except ApiError as refused:
            if refused.status == 404:
                raise PageRefused(404, visit) from refused
            session.rollback()
            errors = [message(refused.code, lang, refused.params)]
            return show(request, session, visit, alert_id, errors, form, refused.status)
        return see_other(f"/alerts/{alert_id}")

    return await handle_form(request, handle)


@router.post("/{alert_id}/acknowledge")
async def acknowledge(
    alert_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def note(form: dict[str, str]) -> str | None:
        return AcknowledgeIn(note=form.get("note") or None).note

    return await submit(request, session, alert_id, note, actions.acknowledge)


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
    alert_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    return await submit(
        request, session, alert_id, corrective_action, actions.record_corrective_action
    )


@router.post("/{alert_id}/close")
async def close(
    alert_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def review_note(form: dict[str, str]) -> str:
        return CloseIn(review_note=form.get("review_note", "")).review_note

    return await submit(request, session, alert_id, review_note, actions.close)
