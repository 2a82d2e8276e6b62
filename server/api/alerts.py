"""Alert API: list and filter, one alert with its lots, corrective action and history,
acknowledge, record the corrective action, close. Tenancy: server/alerting/visibility.py
(built on server/core/access.py); an alert the caller may not see answers 404."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from coldchain.settings import AlertingSettings
from server.alerting import lifecycle
from server.alerting.schemas import (
    AcknowledgeIn,
    AlertDetailOut,
    AlertLotOut,
    AlertOut,
    CloseIn,
    CorrectiveActionIn,
    CorrectiveActionOut,
    EntryOut,
    LotDecisionOut,
)
from server.alerting.visibility import get_visible_alert, visible_alerts
from server.core.crud import commit, paginate
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import Both
from server.core.models import Load, Organisation, utcnow
from server.core.models.alerts import Alert, AlertEntry, AlertLot, CorrectiveAction, LotDecision
from server.schemas.common import IdPath, Instant, Page, Paging, paging

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
    page: Annotated[Paging, Depends(paging)],
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


def _detail(session: SessionDep, alert: Alert) -> AlertDetailOut:
    lots = [
        AlertLotOut(
            load_id=load.id,
            delivery_id=link.delivery_id,
            consignor_id=link.consignor_id,
            consignor_name=producer.name,
            lot_reference=load.lot_reference,
            description=load.description,
            quantity=str(load.quantity),
            unit=load.unit,
            consignee=load.consignee,
        )
        for link, load, producer in session.execute(
            select(AlertLot, Load, Organisation)
            .join(Load, Load.id == AlertLot.load_id)
            .join(Organisation, Organisation.id == AlertLot.consignor_id)
            .where(AlertLot.alert_id == alert.id)
            .order_by(Load.id)
        )
    ]
    action = session.scalar(select(CorrectiveAction).where(CorrectiveAction.alert_id == alert.id))
    action_out = None
    if action is not None:
        action_out = CorrectiveActionOut.model_validate(action)
        action_out.lot_decisions = [
            LotDecisionOut.model_validate(d)
            for d in session.scalars(
                select(LotDecision).where(LotDecision.corrective_action_id == action.id)
            )
        ]
    base = AlertOut.model_validate(alert).model_dump()
    return AlertDetailOut(**base, record=alert.record, lots=lots, corrective_action=action_out)


@router.get("/{alert_id}")
def read_alert(alert_id: IdPath, viewer: ViewerDep, session: SessionDep) -> AlertDetailOut:
    """One alert: the engine's record, the lots and producers affected, the corrective action."""
    return _detail(session, get_visible_alert(session, viewer, alert_id))


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
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.acknowledge(session, alert, viewer, body.note, settings, utcnow())
    commit(session, Both("alerte modifiée entre-temps", "alert changed meanwhile"))
    return _detail(session, alert)


@router.post("/{alert_id}/corrective-action", status_code=201)
def record_corrective_action(
    alert_id: IdPath,
    body: CorrectiveActionIn,
    viewer: ViewerDep,
    session: SessionDep,
    settings: AlertingDep,
) -> AlertDetailOut:
    """Immediate action, product assessment, decision per affected lot, root cause,
    preventive action, AFSCA notification decision (regulatory.md §4.2)."""
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.record_action(session, alert, viewer, body, settings, utcnow())
    commit(
        session, Both("action corrective déjà enregistrée", "corrective action already recorded")
    )
    return _detail(session, alert)


@router.post("/{alert_id}/close")
def close_alert(
    alert_id: IdPath, body: CloseIn, viewer: ViewerDep, session: SessionDep, settings: AlertingDep
) -> AlertDetailOut:
    """The hygiene officer's review closes the alert (critical: needs the corrective action)."""
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.close(session, alert, viewer, body.review_note, settings, utcnow())
    commit(session, Both("alerte modifiée entre-temps", "alert changed meanwhile"))
    return _detail(session, alert)
