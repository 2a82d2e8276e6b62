"""Alerts and their corrective actions, as records and exports show them
(read from the alert worker's tables, server/core/models/alerts.py).

An alert's text is stored in French (`text_fr`) and sealed so; next to it each entry keeps
`text_facts`, what the text is made of (alerts/texts.py `Facts`, or a probe verification's
due day), so a document in another language says the same thing in its words (`text`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from alerts import texts as engine_texts
from server.core import catalogue
from server.core.models import Load
from server.core.models.alerts import Alert, AlertLot, CorrectiveAction, LotDecision
from server.domain import categories
from server.domain.users import full_name
from server.records.wording import Words

# A probe verification overdue (server/alerting/maintenance.py's kind): not an engine event.
CALIBRATION_OVERDUE = "calibration_overdue"
FACTS = frozenset(f.name for f in dataclasses.fields(engine_texts.Facts))
NEEDED = frozenset(
    f.name
    for f in dataclasses.fields(engine_texts.Facts)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
)


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
        "text_facts": text_facts(alert),
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


def text_facts(alert: Alert) -> dict[str, Any] | None:
    """What the alert's text is made of, from its stored engine event (as
    server/alerting/texts.py makes a Dutch text); None when the stored record is no event."""
    record = alert.record or {}
    if alert.kind == CALIBRATION_OVERDUE:
        due = record.get("next_due")
        return {
            "kind": alert.kind,
            "probe_id": alert.probe_id,
            "channel": alert.channel,
            "due": due,
        }
    if "duration_ms" not in record:
        return None
    code = str((record.get("limit") or {}).get("category") or "")
    known = code in categories.profiles()
    names = {each: categories.name(code, each) for each in catalogue.LANGUAGES} if known else {}
    return dataclasses.asdict(engine_texts.facts_of_event(record, names))


def text(alert: Mapping[str, Any], w: Words) -> str:
    """The alert's text in `w`'s language, made from its facts; the French as stored (and
    sealed) when it has none (a record sealed before they were kept) or when they no longer
    give that French (a profile's name changed since), with a note saying so."""
    sealed = str(alert.get("text_fr") or "")
    if w.lang == "fr":
        return sealed
    facts = alert.get("text_facts")
    if not isinstance(facts, Mapping) or _made(facts, "fr") != sealed:
        return w.sealed(sealed)
    return _made(facts, w.lang) or w.sealed(sealed)


def _made(facts: Mapping[str, Any], lang: str) -> str | None:
    """The text the facts give in `lang`; None when they are not facts of ours."""
    if facts.get("kind") == CALIBRATION_OVERDUE:
        # The words of server/alerting/texts.py `calibration_text` (records may not import
        # the alerting service: pyproject.toml's layers).
        said = catalogue.words("alerts", lang)
        due = facts.get("due")
        if not due:
            return said["calibration_none"].format(probe=facts.get("probe_id"))
        day = date.fromisoformat(str(due))
        written = day.isoformat() if lang == "en" else day.strftime("%d/%m/%Y")
        return said["calibration_late"].format(
            probe=facts.get("probe_id"), channel=facts.get("channel"), day=written
        )
    if not NEEDED <= set(facts) <= FACTS:
        return None
    return engine_texts.text(engine_texts.Facts(**facts), lang)
