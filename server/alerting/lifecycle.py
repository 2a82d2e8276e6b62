"""The alert lifecycle (docs/sources.md#records): open -> acknowledged (who, when) ->
corrective action recorded -> closed by the hygiene officer's review.

A critical alert cannot close without a corrective action; no alert closes while its
excursion is still going on. Acknowledging silences the probe's in-van alarm and stops
the escalation. Every step is an entry in the alert's history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.settings import AlertingSettings
from server.alerting import outbox
from server.alerting.schemas import CorrectiveActionIn
from server.core.access import STAFF, Viewer, require
from server.core.errors import ApiError, Value, phrase
from server.core.models import Delivery, Role
from server.core.models.alerts import (
    Alert,
    AlertLot,
    AlertState,
    CorrectiveAction,
    LotDecision,
)


def is_driver(viewer: Viewer, session: Session, alert: Alert) -> bool:
    if alert.delivery_id is None:
        return False
    delivery = session.get(Delivery, alert.delivery_id)
    return delivery is not None and delivery.driver_id == viewer.user_id


def may_act(viewer: Viewer, session: Session, alert: Alert) -> bool:
    """Record a corrective action: the cooperative's staff, the driver, the room's producer."""
    staff = alert.cooperative_id is not None and viewer.has(alert.cooperative_id, *STAFF)
    owner = alert.owner_id is not None and viewer.has(alert.owner_id, Role.PRODUCER)
    return staff or owner or is_driver(viewer, session, alert)


def may_review(viewer: Viewer, alert: Alert) -> bool:
    """Close: the cooperative's hygiene officer (a producer's own room: the producer)."""
    if alert.cooperative_id is not None:
        return viewer.has(alert.cooperative_id, Role.HYGIENE_OFFICER)
    return alert.owner_id is not None and viewer.has(alert.owner_id, Role.PRODUCER)


def _state_error(alert: Alert, action: str) -> ApiError:
    """409: the alert's state forbids `action` (a `detail` message: what was tried)."""
    return ApiError(409, "alert_state", state=Value(alert.state), action=phrase(action))


def acknowledge(
    session: Session,
    alert: Alert,
    viewer: Viewer,
    note: str | None,
    settings: AlertingSettings,
    now: datetime,
) -> None:
    if alert.state != AlertState.OPEN:
        raise _state_error(alert, "alert_acknowledge")
    alert.state = AlertState.ACKNOWLEDGED
    alert.acknowledged_by_id, alert.acknowledged_at = viewer.user_id, now
    alert.next_escalation_at = None
    outbox.add_entry(session, alert, "acknowledged", {"note": note}, settings, viewer.user_id)
    outbox.probe_alarm(session, alert, False, now, settings)  # silenced: someone is on it


def record_action(
    session: Session,
    alert: Alert,
    viewer: Viewer,
    body: CorrectiveActionIn,
    settings: AlertingSettings,
    now: datetime,
) -> CorrectiveAction:
    require(may_act(viewer, session, alert))
    if alert.state not in (AlertState.OPEN, AlertState.ACKNOWLEDGED):
        raise _state_error(alert, "alert_record_action")
    affected = set(session.scalars(select(AlertLot.load_id).where(AlertLot.alert_id == alert.id)))
    decided = [d.load_id for d in body.lot_decisions]
    problems = []
    if len(decided) != len(set(decided)):
        problems.append(phrase("lot_decided_twice"))
    if set(decided) - affected:
        extra = sorted(set(decided) - affected)
        problems.append(phrase("lots_not_affected", lots=extra))
    if affected - set(decided):
        missing = sorted(affected - set(decided))
        problems.append(phrase("decision_missing", lots=missing))
    if problems:
        raise ApiError(422, "lot_decisions_invalid", detail=tuple(problems))
    if alert.state == AlertState.OPEN:  # acting on it is acknowledging it
        acknowledge(session, alert, viewer, None, settings, now)
    fields = body.model_dump(exclude={"lot_decisions"})
    action = CorrectiveAction(
        alert_id=alert.id, recorded_by_id=viewer.user_id, recorded_at=now, **fields
    )
    session.add(action)
    session.flush()
    for decision in body.lot_decisions:
        session.add(
            LotDecision(
                corrective_action_id=action.id,
                load_id=decision.load_id,
                decision=decision.decision.value,
                justification=decision.justification,
            )
        )
    alert.state = AlertState.ACTION_RECORDED
    outbox.add_entry(
        session, alert, "corrective_action", body.model_dump(mode="json"), settings, viewer.user_id
    )
    return action


def close(
    session: Session,
    alert: Alert,
    viewer: Viewer,
    review_note: str,
    settings: AlertingSettings,
    now: datetime,
) -> None:
    require(may_review(viewer, alert))
    if alert.state in (AlertState.CLOSED, AlertState.INFO):
        raise _state_error(alert, "alert_close")
    if alert.engine_status == "open":
        raise ApiError(409, "excursion_ongoing")
    has_action = session.scalar(
        select(CorrectiveAction.id).where(CorrectiveAction.alert_id == alert.id)
    )
    if alert.severity == "critical" and has_action is None:
        raise ApiError(409, "corrective_action_required")
    if alert.acknowledged_at is None:
        alert.acknowledged_by_id, alert.acknowledged_at = viewer.user_id, now
    alert.state = AlertState.CLOSED
    alert.closed_by_id, alert.closed_at, alert.review_note = viewer.user_id, now, review_note
    alert.next_escalation_at = None
    outbox.add_entry(
        session, alert, "closed", {"review_note": review_note}, settings, viewer.user_id
    )
