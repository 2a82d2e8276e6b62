"""Notifications to send, written in the same transaction as the alert change that
causes them (an outbox): the dispatcher sends them, logs each attempt and retries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.judgement import Bounds, judge
from coldchain import clock
from coldchain.settings import AlertingSettings
from server.alerting.notify.probe_alarm import alarm_text
from server.core.models import Installation, User, utcnow
from server.core.models.alerts import Alert, AlertEntry, AlertState, Notification

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


def brussels(t: datetime) -> str:
    return t.astimezone(clock.zone()).strftime("%d/%m/%Y %H:%M")


def short_text(alert: Alert) -> str:
    """The probe display (64 characters): « ALERTE frais 9,1°C>7°C »."""
    name = str(alert.record.get("location_name", ""))
    zone = name.rsplit("—", 1)[-1].strip()
    text = f"{SHORT_FR.get(alert.kind, 'ALERTE')} {zone}"
    limit = alert.record.get("limit") or {}
    if alert.kind == "temperature_excursion" and alert.peak is not None:
        text += f" {alert.peak:.1f}°C".replace(".", ",")
        above = judge(alert.peak, Bounds(limit.get("max_c"), None), in_transport=False).above
        if above:
            text += f">{limit['max_c']:g}°C".replace(".", ",")
    return alarm_text(text)


def probes_at(session: Session, alert: Alert, now: datetime) -> list[str]:
    from server.core.models import Probe  # local: avoids a long import list for one query

    where = (
        Installation.zone_id == alert.zone_id
        if alert.zone_id is not None
        else Installation.cold_room_id == alert.cold_room_id
    )
    return list(
        session.scalars(
            select(Probe.probe_id)
            .join(Installation, Installation.probe_id == Probe.id)
            .where(
                where,
                Installation.start <= now,
                or_(Installation.end.is_(None), Installation.end > now),
            )
        )
    )


def probe_alarm(session: Session, alert: Alert, on: bool, now: datetime) -> None:
    if not on:
        others = session.scalar(
            select(Alert.id).where(
                Alert.location_key == alert.location_key,
                Alert.id != alert.id,
                Alert.engine_status == "open",
                Alert.state == AlertState.OPEN,
            )
        )
        if others is not None:
            return  # another alert there still rings
    payload: dict[str, Any] = {"on": on, "alert": alert.uid}
    if on:
        payload["text"] = short_text(alert)
    for probe_id in probes_at(session, alert, now):
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
        "peak": alert.peak,
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
