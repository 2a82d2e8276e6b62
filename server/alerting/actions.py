"""What people do that changes alerts, each one transaction: acknowledge, record the
corrective action, close after review (the rules: server/alerting/lifecycle.py), and record
a calibration, which resolves at once the overdue-calibration alert it answers. The API
(server/api/alerts.py, probes.py) and the pages (server/pages/alert_pages.py,
admin_probes.py) call these, so they refuse the same things with the same words.

Also one alert as both show it: `detail` (its lots with their producers, its corrective
action).

A lot is released after a critical excursion only on a core-temperature check
(`check_release`): the reading and the thermometer are in the corrective action, and the
reading is within the lot's own limit (alerts/judgement.py, as the engine judges)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.judgement import Level, judge
from alerts.limits import limit_for_category
from coldchain.settings import AlertingSettings
from server.alerting import lifecycle
from server.alerting.maintenance import check_calibrations
from server.alerting.schemas import (
    AlertDetailOut,
    AlertLotOut,
    AlertOut,
    CorrectiveActionIn,
    CorrectiveActionOut,
    LotDecisionOut,
)
from server.alerting.visibility import get_visible_alert
from server.core.access import Viewer
from server.core.crud import commit
from server.core.errors import ApiError, Figure, phrase
from server.core.models import Calibration, Load, Organisation
from server.core.models.alerts import Alert, AlertLot, CorrectiveAction, Decision, LotDecision
from server.domain import probes
from server.domain.categories import profiles
from server.schemas.registry import CalibrationIn

CHANGED_MEANWHILE = phrase("alert_changed")


def detail(session: Session, alert: Alert) -> AlertDetailOut:
    """The alert, the engine's record, the lots affected and their producers, the
    corrective action with its decision per lot."""
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


def acknowledge(
    session: Session,
    viewer: Viewer,
    alert_id: int,
    note: str | None,
    settings: AlertingSettings,
    now: datetime,
) -> Alert:
    """I have seen it and I am on it: stops the escalation and silences the in-van alarm."""
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.acknowledge(session, alert, viewer, note, settings, now)
    commit(session, CHANGED_MEANWHILE)
    return alert


def record_corrective_action(
    session: Session,
    viewer: Viewer,
    alert_id: int,
    action: CorrectiveActionIn,
    settings: AlertingSettings,
    now: datetime,
) -> Alert:
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.record_action(session, alert, viewer, action, settings, now)
    try:  # after the lifecycle's own checks (who may act, state, one decision per lot)
        check_release(session, alert, action)
    except ApiError:
        session.rollback()
        raise
    commit(session, phrase("action_already_recorded"))
    return alert


def check_release(session: Session, alert: Alert, action: CorrectiveActionIn) -> None:
    """After a critical excursion, « release » needs the core temperature measured (with the
    thermometer) and that temperature within the limit of every lot released: the lot's own
    category and label, judged as the engine judges (in a van, the transport tolerance of
    frozen food counts). A warning's lots may be released on the assessment alone."""
    if alert.severity != "critical":
        return
    released = [d.load_id for d in action.lot_decisions if d.decision is Decision.RELEASE]
    if not released:
        return
    core = action.core_temperature_c
    if core is None or not action.thermometer:
        raise ApiError(422, "release_needs_core_check")
    beyond = []
    for load in session.scalars(select(Load).where(Load.id.in_(released)).order_by(Load.id)):
        limit = limit_for_category(profiles(), load.category, load.label_max_c, True)
        if judge(core, limit, in_transport=alert.zone_id is not None).level is Level.BEYOND:
            bound = limit.max_c if limit.max_c is not None and core > limit.max_c else limit.min_c
            beyond.append(
                phrase(
                    "lot_core_beyond",
                    lot=load.lot_reference,
                    core=Figure(core, 1),
                    limit=Figure(bound, 1),
                )
            )
    if beyond:
        raise ApiError(422, "release_core_beyond", detail=tuple(beyond))


def close(
    session: Session,
    viewer: Viewer,
    alert_id: int,
    review_note: str,
    settings: AlertingSettings,
    now: datetime,
) -> Alert:
    """The hygiene officer's review closes the alert (critical: needs the corrective action)."""
    alert = get_visible_alert(session, viewer, alert_id)
    lifecycle.close(session, alert, viewer, review_note, settings, now)
    commit(session, CHANGED_MEANWHILE)
    return alert


def record_calibration(
    session: Session,
    viewer: Viewer,
    probe_pk: int,
    facts: CalibrationIn,
    settings: AlertingSettings,
    now: datetime,
) -> Calibration:
    """Record the calibration (server/domain/probes.py), then resolve the
    `calibration_overdue` alert it answers now rather than at the worker's next check."""
    calibration = probes.add_calibration(session, viewer, probe_pk, facts)
    check_calibrations(session, settings, now, probe_pks=[calibration.probe_id], open_new=False)
    session.commit()
    return calibration
