"""Alerts and their corrective actions, as records and exports show them
(read from the alert worker's tables, server/core/models/alerts.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from server.core.models import Load
from server.core.models.alerts import Alert, AlertLot, CorrectiveAction, LotDecision
from server.domain.users import full_name


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def for_delivery(session: Session, delivery_id: int, lots: dict[int, str]) -> list[dict[str, Any]]:
    via_lots = select(AlertLot.alert_id).where(AlertLot.delivery_id == delivery_id)
    condition = Alert.delivery_id.is_(None) & Alert.id.in_(via_lots)
    return entries(session, (Alert.delivery_id == delivery_id) | condition, lots)


def entries(
    session: Session,
    condition: ColumnElement[bool],
    lots: dict[int, str] | None = None,
    full: bool = False,
) -> list[dict[str, Any]]:
    """The alerts matching `condition`, oldest first. `full` adds to each corrective action
    what the sealed documents do not carry (when the core temperature was taken, who owns
    the preventive measure): for the exports; the sealed documents keep their shape."""
    alerts = list(
        session.scalars(select(Alert).where(condition).order_by(Alert.start_at, Alert.id))
    )
    return [_entry(session, alert, lots, full) for alert in alerts]


def _lot_refs(
    session: Session, load_ids: Iterable[int], lots: dict[int, str] | None
) -> dict[int, str]:
    wanted = set(load_ids)
    known = {k: v for k, v in (lots or {}).items() if k in wanted}
    missing = wanted - set(known)
    if missing:
        known.update(
            {
                load.id: load.lot_reference
                for load in session.scalars(select(Load).where(Load.id.in_(missing)))
            }
        )
    return known


def _entry(
    session: Session, alert: Alert, lots: dict[int, str] | None, full: bool = False
) -> dict[str, Any]:
    lot_ids = list(session.scalars(select(AlertLot.load_id).where(AlertLot.alert_id == alert.id)))
    action = session.scalar(select(CorrectiveAction).where(CorrectiveAction.alert_id == alert.id))
    decisions = (
        list(
            session.scalars(
                select(LotDecision).where(LotDecision.corrective_action_id == action.id)
            )
        )
        if action
        else []
    )
    refs = _lot_refs(session, [*lot_ids, *(d.load_id for d in decisions)], lots)
    more = (
        {
            "core_measured_at": _iso(action.core_measured_at),
            "preventive_owner": action.preventive_owner,
        }
        if full and action is not None
        else {}
    )
    return {
        "uid": alert.uid,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "zone_id": alert.zone_id,
        "cold_room_id": alert.cold_room_id,
        "probe": alert.probe_id,
        "channel": alert.channel,
        "start_at": _iso(alert.start_at),
        "end_at": _iso(alert.end_at),
        "peak": alert.peak,
        "detected_late": alert.detected_late,
        "text_fr": alert.text_fr,
        "lots": sorted(refs[i] for i in lot_ids),
        "acknowledged_by": full_name(session, alert.acknowledged_by_id),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "closed_by": full_name(session, alert.closed_by_id),
        "closed_at": _iso(alert.closed_at),
        "review_note": alert.review_note,
        "corrective_action": None
        if action is None
        else {
            "recorded_by": full_name(session, action.recorded_by_id),
            "recorded_at": _iso(action.recorded_at),
            "immediate_action": action.immediate_action,
            "action_at": _iso(action.action_at),
            "core_temperature_c": action.core_temperature_c,
            "thermometer": action.thermometer,
            "product_assessment": action.product_assessment,
            "root_cause": action.root_cause,
            "preventive_action": action.preventive_action,
            "preventive_due": action.preventive_due.isoformat() if action.preventive_due else None,
            "afsca_notified": action.afsca_notified,
            "afsca_reason": action.afsca_reason,
            "lot_decisions": [
                {
                    "lot_reference": refs[d.load_id],
                    "decision": d.decision,
                    "justification": d.justification,
                }
                for d in sorted(decisions, key=lambda d: d.load_id)
            ],
            **more,
        },
    }
