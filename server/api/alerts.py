"""Alert API: list and filter, one alert with its lots, corrective action and history,
acknowledge, record the corrective action, close. Tenancy: server/alerting/visibility.py
(built on server/core/access.py); an alert the caller may not see answers 404. What people
do to an alert, and how one is shown: server/alerting/actions.py (the pages call it too)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from coldchain.settings import AlertingSettings
from server.alerting import actions
from server.alerting.schemas import (
    AcknowledgeIn,
    AlertDetailOut,
    AlertOut,
    CloseIn,
    CorrectiveActionIn,
    EntryOut,
)
from server.alerting.visibility import get_visible_alert, visible_alerts
from server.api.paging import PagingDep, paginate
from server.core.deps import SessionDep, ViewerDep
from server.core.models import utcnow
from server.core.models.alerts import Alert, AlertEntry
from server.schemas.common import IdPath, Instant, Page

router = APIRouter(prefix="/alerts", tags=["alerts"])

StateFilter = Literal["open", "acknowledged", "action_recorded", "closed", "info"]
KindFilter = Literal[
    "temperature_excursion",
    "door_open",
    "sensor_fault",
    "probe_offline",
    "evaluation_suspended",
    "calibration_overdue",  # server/alerting/maintenance.py
]
Id = Annotated[int | None, Query(ge=1, le=2_147_483_647)]


def alerting_settings(request: Request) -> AlertingSettings:
    settings: AlertingSettings = request.app.state.settings.alerting
    return settings


AlertingDep = Annotated[AlertingSettings, Depends(alerting_settings)]


@router.get("")
def list_alerts(
    viewer: ViewerDep,
    session: SessionDep,
    page: PagingDep,
    state: StateFilter | None = None,
    kind: KindFilter | None = None,
    severity: Literal["info", "tolerated", "warning", "critical"] | None = None,
    zone_id: Id = None,
    cold_room_id: Id = None,
    van_id: Id = None,
    delivery_id: Id = None,
    since: Annotated[Instant | None, Query()] = None,
    until: Annotated[Instant | None, Query()] = None,
) -> Page[AlertOut]:
    """Alerts the caller may see, newest first; filters by state, kind, place and period
    (alerts whose excursion overlaps [since, until))."""
    query = select(Alert).where(visible_alerts(viewer))
    for column, value in (
        (Alert.state, state),
        (Alert.kind, kind),
        (Alert.severity, severity),
        (Alert.zone_id, zone_id),
        (Alert.cold_room_id, cold_room_id),
        (Alert.van_id, van_id),
        (Alert.delivery_id, delivery_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where((Alert.end_at.is_(None)) | (Alert.end_at >= since))
    if until is not None:
        query = query.where(Alert.start_at < until)
    return paginate(session, query.order_by(Alert.start_at.desc(), Alert.id.desc()), page, AlertOut)


@router.get("/{alert_id}")
def read_alert(alert_id: IdPath, viewer: ViewerDep, session: SessionDep) -> AlertDetailOut:
    """One alert: the engine's record, the lots and producers affected, the corrective action."""
    return actions.detail(session, get_visible_alert(session, viewer, alert_id))


@router.get("/{alert_id}/history")
def alert_history(alert_id: IdPath, viewer: ViewerDep, session: SessionDep) -> list[EntryOut]:
    """Everything that happened to the alert, oldest first (engine events, people, escalations)."""
    alert = get_visible_alert(session, viewer, alert_id)
    entries = session.scalars(
        select(AlertEntry).where(AlertEntry.alert_id == alert.id).order_by(AlertEntry.id)
    )
    return [EntryOut.model_validate(e) for e in entries]


@router.post("/{alert_id}/acknowledge")
def acknowledge(
    alert_id: IdPath,
    body: AcknowledgeIn,
    viewer: ViewerDep,
    session: SessionDep,
    settings: AlertingDep,
) -> AlertDetailOut:
    """I have seen it and I am on it: stops the escalation and silences the in-van alarm."""
    alert = actions.acknowledge(session, viewer, alert_id, body.note, settings, utcnow())
    return actions.detail(session, alert)


@router.post("/{alert_id}/corrective-action", status_code=201)
def record_corrective_action(
    alert_id: IdPath,
    body: CorrectiveActionIn,
    viewer: ViewerDep,
    session: SessionDep,
    settings: AlertingDep,
) -> AlertDetailOut:
    """Immediate action, product assessment, decision per affected lot, root cause,
    preventive action, AFSCA notification decision (docs/sources.md#corrective-action-record)."""
    alert = actions.record_corrective_action(session, viewer, alert_id, body, settings, utcnow())
    return actions.detail(session, alert)


@router.post("/{alert_id}/close")
def close_alert(
    alert_id: IdPath, body: CloseIn, viewer: ViewerDep, session: SessionDep, settings: AlertingDep
) -> AlertDetailOut:
    """The hygiene officer's review closes the alert (critical: needs the corrective action)."""
    alert = actions.close(session, viewer, alert_id, body.review_note, settings, utcnow())
    return actions.detail(session, alert)
