"""Maintenance alert: a probe channel whose periodic verification (EN 13486) is overdue.

For each probe installed somewhere now, the latest calibration of each channel decides
(server/core/calibration.py `is_overdue`, the site's calendar day); a probe never calibrated is
overdue as a whole (channel "*"). One open `calibration_overdue` alert per probe channel,
located where the probe is installed now, so the existing visibility rules show it to that
van's owner or that cold room's owner and cooperatives. It is resolved (engine status
closed) once a calibration with a later due date is recorded, the probe moved elsewhere
(a new alert opens there) or it was taken out of service; then the hygiene officer closes
it after review, as any alert (a warning needs no corrective action).

It rings no in-van alarm and does not escalate: nothing spoils while a verification is
late; the people of the place are told by e-mail once.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from coldchain import clock
from coldchain.settings import AlertingSettings
from server.alerting import outbox, recipients
from server.alerting.event_writer import room_cooperative
from server.alerting.places import cold_room_key, zone_key
from server.alerting.texts import calibration_text
from server.core.calibration import is_overdue
from server.core.models import Calibration, ColdRoom, Installation, Probe, Van, Zone
from server.core.models.alerts import Alert, AlertState

KIND: Final = "calibration_overdue"
ALL_CHANNELS: Final = "*"  # a probe never calibrated: every channel is unverified


@dataclass(frozen=True)
class Overdue:
    probe: Probe
    channel: str
    due: date | None  # None: never calibrated
    calibration_id: int | None
    installation: Installation


def check_calibrations(
    session: Session,
    settings: AlertingSettings,
    now: datetime,
    probe_pks: Collection[int] | None = None,
    open_new: bool = True,
) -> list[Alert]:
    """Open the missing alerts and resolve the ones no longer overdue; returns the alerts
    opened or resolved. `probe_pks` limits the check (after a calibration is recorded);
    `open_new=False` only resolves."""
    today = clock.today(now)
    wanted = {
        (o.probe.probe_id, o.channel, _key(o.installation)): o
        for o in overdue_channels(session, today, now, probe_pks)
    }
    query = select(Alert).where(Alert.kind == KIND, Alert.engine_status == "open")
    if probe_pks is not None:
        wire = select(Probe.probe_id).where(Probe.id.in_(probe_pks))
        query = query.where(Alert.probe_id.in_(wire))
    touched = []
    for alert in session.scalars(query):
        if wanted.pop((alert.probe_id, alert.channel, alert.location_key), None) is None:
            _resolve(session, alert, settings, now)
            touched.append(alert)
    if open_new:
        for (_probe, _channel, key), late in sorted(wanted.items()):
            touched.append(_open(session, late, key, settings, now))
    return touched


def overdue_channels(
    session: Session, today: date, now: datetime, probe_pks: Collection[int] | None = None
) -> list[Overdue]:
    installed = select(Installation, Probe).join(Probe, Probe.id == Installation.probe_id)
    installed = installed.where(
        Installation.start <= now, or_(Installation.end.is_(None), Installation.end > now)
    )
    if probe_pks is not None:
        installed = installed.where(Probe.id.in_(probe_pks))
    where = {probe.id: (probe, inst) for inst, probe in session.execute(installed)}
    latest: dict[tuple[int, str], Calibration] = {}
    for calibration in session.scalars(
        select(Calibration)
        .where(Calibration.probe_id.in_(where))
        .order_by(Calibration.calibrated_at, Calibration.id)
    ):
        latest[(calibration.probe_id, calibration.channel)] = calibration
    out = []
    for pk, (probe, inst) in sorted(where.items()):
        channels = {ch: c for (p, ch), c in latest.items() if p == pk}
        if not channels:
            out.append(Overdue(probe, ALL_CHANNELS, None, None, inst))
        for channel, calibration in sorted(channels.items()):
            if is_overdue(calibration.next_due, today):
                out.append(Overdue(probe, channel, calibration.next_due, calibration.id, inst))
    return out


def _key(inst: Installation) -> str:
    if inst.zone_id is not None:
        return zone_key(inst.zone_id)
    assert inst.cold_room_id is not None
    return cold_room_key(inst.cold_room_id)


def texts(late: Overdue) -> tuple[str, str]:
    """(French, English): the texts stored with the alert (server/alerting/texts.py)."""
    fr, en = (
        calibration_text(late.probe.probe_id, late.channel, late.due, lang) for lang in ("fr", "en")
    )
    return fr, en


def _open(
    session: Session, late: Overdue, key: str, settings: AlertingSettings, now: datetime
) -> Alert:
    inst = late.installation
    if late.due is None:
        since = inst.start  # unverified since it was put to work here
    else:  # overdue from the first day after the due date, Brussels midnight
        since = datetime.combine(late.due + timedelta(days=1), time(), clock.zone())
    text_fr, text_en = texts(late)
    alert = Alert(
        uid=f"{KIND}-{uuid.uuid4().hex}",  # one open per channel: checked above, not by uid
        kind=KIND,
        severity="warning",
        engine_status="open",
        state=AlertState.OPEN,
        location_key=key,
        zone_id=inst.zone_id,
        cold_room_id=inst.cold_room_id,
        probe_id=late.probe.probe_id,
        channel=late.channel,
        start_at=since,
        last_out_at=now,
        detected_at=now,
        detected_late=False,
        text_fr=text_fr[:500],
        text_en=text_en[:500],
        escalation_level=0,
        created_at=now,
        updated_at=now,
    )
    name = _locate(session, alert)
    alert.record = _record(alert, late, name)
    session.add(alert)
    session.flush()
    outbox.add_entry(session, alert, "opened", alert.record, settings)
    told = recipients.up_to(session, alert, 0)
    outbox.email_people(session, alert, told, "opened", settings)
    return alert


def _locate(session: Session, alert: Alert) -> str:
    """Whose alert it is (the place's owner, never a delivery: maintenance is the owner's
    duty, not the cooperative that happens to use the van today); returns the place name."""
    if alert.zone_id is not None:
        zone = session.get(Zone, alert.zone_id)
        van = session.get(Van, zone.van_id) if zone else None
        alert.van_id = van.id if van else None
        alert.cooperative_id = van.owner_id if van else None
        return f"{van.name} — {zone.name}" if van and zone else alert.location_key
    room = session.get(ColdRoom, alert.cold_room_id)
    if room is None:
        return alert.location_key
    alert.owner_id = room.owner_id
    alert.cooperative_id = room_cooperative(session, room)
    return room.name


def _record(alert: Alert, late: Overdue, location_name: str) -> dict[str, Any]:
    return {
        "alert_id": alert.uid,
        "kind": KIND,
        "severity": "warning",
        "status": "open",
        "location_id": alert.location_key,
        "location_name": location_name,
        "probe_id": alert.probe_id,
        "channel": alert.channel,
        "next_due": late.due.isoformat() if late.due else None,
        "calibration_id": late.calibration_id,
        "text_fr": alert.text_fr,
        "text_en": alert.text_en,
    }


def _resolve(session: Session, alert: Alert, settings: AlertingSettings, now: datetime) -> None:
    alert.engine_status = "closed"
    alert.end_at = now
    alert.updated_at = now
    alert.record = {**alert.record, "status": "closed", "end": now.isoformat()}
    outbox.add_entry(
        session, alert, "resolved", {"kind": KIND, "reason": "verified, moved or removed"}, settings
    )
