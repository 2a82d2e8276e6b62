"""Notifications to send, written in the same transaction as the alert change that
causes them (an outbox): the dispatcher sends them, logs each attempt and retries.

Who is told what, per kind and severity, is `POLICY` (docs/alert-lifecycle.md,
"Notification policy"): a temperature warning (beyond the legal limit, not yet for the
critical delay) shows on the page and the probe's display, silently; critical rings, is
e-mailed and escalates. Inside the legal limit the engine raises nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.judgement import Bounds, judge
from coldchain import clock
from coldchain.protocol import MAX_ALARM_TEXT_CHARS
from coldchain.settings import AlertingSettings
from server.alerting.notify.probe_alarm import alarm_text
from server.core.models import User, utcnow
from server.core.models.alerts import Alert, AlertEntry, AlertState, Notification
from server.domain.place_readings import Place, probes_installed

SEVERITY_FR = {
    "critical": "critique",
    "warning": "avertissement",
    "tolerated": "tolérance de transport",
    "info": "information",
}
SHORT_FR = {
    "temperature_excursion": "ALERTE",
    "door_open": "PORTE OUVERTE",
    "sensor_fault": "DEFAUT SONDE",
    "probe_offline": "SONDE MUETTE",
    "calibration_overdue": "ETALONNAGE EN RETARD",
}
ENTRY_FR = {
    "opened": "nouvelle alerte",
    "escalated": "alerte aggravée",
    "updated": "alerte mise à jour",
    "resolved": "excursion terminée",
    "withdrawn": "alerte retirée",
    "escalation": "alerte non prise en charge",
    "reminder": "rappel : alerte non prise en charge",
}


@dataclass(frozen=True, slots=True)
class Telling:
    """What an open alert of one kind and severity makes happen, besides the page."""

    display: bool  # its text on the display of every probe at the place (down/alarm)
    ring: bool  # the buzzer and LED too (the in-van or cold-room alarm)
    email: bool  # e-mailed to level 0 when it opens or rises (recipients.at_level)
    escalate: bool  # up the chain, then reminders, until someone acknowledges


PAGE_ONLY = Telling(display=False, ring=False, email=False, escalate=False)
POLICY: dict[tuple[str, str], Telling] = {
    # Beyond the legal limit: seen at once where the goods are, nobody woken up yet.
    ("temperature_excursion", "warning"): Telling(True, False, False, False),
    # Beyond it for the critical delay, or by the hard margin: act now.
    ("temperature_excursion", "critical"): Telling(True, True, True, True),
    # Open past door_open_max_min: whoever is at the van or room can shut it.
    ("door_open", "warning"): Telling(True, True, False, False),
    # Open past door_critical_min: the goods are warming up.
    ("door_open", "critical"): Telling(True, True, True, True),
    # A fault code, a stuck value, an impossible jump: the probe needs looking at.
    ("sensor_fault", "warning"): Telling(True, False, True, False),
    # Silent past max(3 x interval, 10 min): a dead zone is normal, the page shows it.
    ("probe_offline", "warning"): PAGE_ONLY,
    # Silent an hour: a hole in the record; the probe cannot show anything itself.
    ("probe_offline", "critical"): Telling(False, False, True, True),
    # A calibration check overdue: e-mailed once by server/alerting/maintenance.py.
    ("calibration_overdue", "warning"): Telling(False, False, True, False),
}


def telling(kind: str, severity: str) -> Telling:
    """The policy for an alert (a tolerated rise or a suspension window: the page only)."""
    return POLICY.get((kind, severity), PAGE_ONLY)


def brussels(t: datetime) -> str:
    return t.astimezone(clock.zone()).strftime("%d/%m/%Y %H:%M")


def short_text(alert: Alert) -> str:
    """The probe display (64 characters): « ALERTE frais 9,1°C>7°C ». A place name too long
    for it is shortened, never the figures."""
    name = str(alert.record.get("location_name", ""))
    zone = name.rsplit("—", 1)[-1].strip()
    head = SHORT_FR.get(alert.kind, "ALERTE")
    tail = ""
    limit = alert.record.get("limit") or {}
    if alert.kind == "temperature_excursion" and alert.peak is not None:
        tail += f" {alert.peak:.1f}°C".replace(".", ",")
        above = judge(alert.peak, Bounds(limit.get("max_c"), None), in_transport=False).above
        if above:
            tail += f">{limit['max_c']:g}°C".replace(".", ",")
    room = MAX_ALARM_TEXT_CHARS - len(head) - len(tail) - 1
    if len(zone) > room:
        zone = zone[: room - 1].rstrip() + "…"
    return alarm_text(f"{head} {zone}{tail}")


def probe_alarm(session: Session, alert: Alert, on: bool, now: datetime) -> None:
    """Bring the probes at `alert`'s place up to date after a change of it (`on`: it opened
    or its severity changed, acknowledged or not: it counts; False: resolved, withdrawn or
    acknowledged, it no longer does). The place shows the most pressing open alert the
    policy displays (unacknowledged, or this one), rings if any of them rings, and gets
    `{"on": false}` once none is left. Nothing for an alert the policy never displays."""
    if not telling(alert.kind, alert.severity).display:
        return
    query = select(Alert).where(
        Alert.location_key == alert.location_key, Alert.engine_status == "open"
    )
    if on:
        query = query.where(or_(Alert.state == AlertState.OPEN, Alert.id == alert.id))
    else:
        query = query.where(Alert.state == AlertState.OPEN, Alert.id != alert.id)
    shown = [a for a in session.scalars(query) if telling(a.kind, a.severity).display]
    payload: dict[str, Any] = {"on": False, "alert": alert.uid}
    if shown:
        ringing = [a for a in shown if telling(a.kind, a.severity).ring]
        # The ringing one first, then the most severe, then the newest.
        first = max(shown, key=lambda a: (a in ringing, a.severity == "critical", a.id))
        payload = {"on": True, "alert": first.uid, "text": short_text(first)}
        if not ringing:
            payload["ring"] = False  # the display only: a warning wakes nobody
    place = Place(zone_id=alert.zone_id, cold_room_id=alert.cold_room_id)
    for probe_id in probes_installed(session, place, now):
        session.add(
            Notification(alert_id=alert.id, channel="probe_alarm", target=probe_id, payload=payload)
        )


def email_body(alert: Alert, what: str, settings: AlertingSettings) -> tuple[str, str]:
    severity = SEVERITY_FR.get(alert.severity, alert.severity)
    name = alert.record.get("location_name", alert.location_key)
    subject = f"[Coldchain] {what.capitalize()} ({severity}) — {name}"
    lines = [
        f"{what.capitalize()} — {severity}",
        "",
        alert.text_fr,
        "",
        f"Lieu : {name}",
        f"Sonde : {alert.probe_id} ({alert.channel})",
        f"Début : {brussels(alert.start_at)} (heure de Bruxelles)",
    ]
    if alert.detected_late:
        lines.append(f"Détectée en retard : données arrivées le {brussels(alert.detected_at)}")
    ask = (  # a late verification needs a calibration, not a corrective action
        "Merci d'accuser réception puis de faire vérifier la sonde (hardware/calibration.md) :"
        if alert.kind == "calibration_overdue"
        else "Merci d'accuser réception puis d'enregistrer l'action corrective :"
    )
    lines += [
        "",
        ask,
        f"{settings.public_url.rstrip('/')}/api/v1/alerts/{alert.id}",
        "",
        "-- English --",
        alert.text_en,
    ]
    return subject, "\n".join(lines)


def email_people(
    session: Session, alert: Alert, users: list[User], what: str, settings: AlertingSettings
) -> None:
    if not settings.smtp_host:
        return
    subject, body = email_body(alert, what, settings)
    for user in users:
        session.add(
            Notification(
                alert_id=alert.id,
                channel="email",
                target=user.email,
                payload={"subject": subject, "body": body},
            )
        )


def webhooks(session: Session, alert: Alert, entry: AlertEntry, settings: AlertingSettings) -> None:
    for hook in settings.webhooks:
        body = {
            "entry": {"id": entry.id, "kind": entry.kind, "at": entry.at.isoformat()},
            "alert": summary(alert),
        }
        session.add(
            Notification(
                alert_id=alert.id, channel="webhook", target=hook.url, payload={"body": body}
            )
        )


def summary(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "uid": alert.uid,
        "kind": alert.kind,
        "severity": alert.severity,
        "state": alert.state,
        "engine_status": alert.engine_status,
        "location_key": alert.location_key,
        "location_name": alert.record.get("location_name"),
        "zone_id": alert.zone_id,
        "cold_room_id": alert.cold_room_id,
        "van_id": alert.van_id,
        "delivery_id": alert.delivery_id,
        "probe_id": alert.probe_id,
        "channel": alert.channel,
        "start_at": alert.start_at.isoformat(),
        "end_at": alert.end_at.isoformat() if alert.end_at else None,
        "alert_at": alert.alert_at.isoformat() if alert.alert_at else None,
        "critical_at": alert.critical_at.isoformat() if alert.critical_at else None,
        "peak": alert.peak,
        "n_readings": alert.n_readings,
        "detected_at": alert.detected_at.isoformat(),
        "detected_late": alert.detected_late,
        "text_fr": alert.text_fr,
        "text_en": alert.text_en,
    }


def add_entry(
    session: Session,
    alert: Alert,
    kind: str,
    data: dict[str, Any],
    settings: AlertingSettings,
    actor_id: int | None = None,
) -> AlertEntry:
    entry = AlertEntry(alert_id=alert.id, kind=kind, data=data, actor_id=actor_id, at=utcnow())
    session.add(entry)
    session.flush()
    webhooks(session, alert, entry, settings)
    return entry
