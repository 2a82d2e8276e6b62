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
from server.alerting.texts import alert_text
from server.core import catalogue
from server.core.models import User, utcnow
from server.core.models.alerts import Alert, AlertEntry, AlertState, Notification
from server.domain.place_readings import Place, probes_installed

# The words of the display, the e-mails and the severities: the `alerts` catalogue
# (server/locale/<lang>/LC_MESSAGES/alerts.po; contexts `display`, `severity`, `entry`).
DOMAIN = "alerts"


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


def brussels(t: datetime, lang: str = "fr") -> str:
    pattern = catalogue.words(DOMAIN, lang)["email_time_format"]
    return t.astimezone(clock.zone()).strftime(pattern)


def _figure(text: str, lang: str) -> str:
    return text if lang == "en" else text.replace(".", ",")  # a decimal comma in fr and nl


def short_text(alert: Alert, lang: str = "fr") -> str:
    """The probe display (64 characters): « ALERTE frais 9,1°C>7°C », in `lang` (the site's
    `alerting.language`). A place name too long for it is shortened, never the figures."""
    name = str(alert.record.get("location_name", ""))
    zone = name.rsplit("—", 1)[-1].strip()
    heads = catalogue.words(DOMAIN, lang, "display")
    head = heads.get(alert.kind, heads["other"])
    tail = ""
    limit = alert.record.get("limit") or {}
    if alert.kind == "temperature_excursion" and alert.peak is not None:
        above = judge(alert.peak, Bounds(limit.get("max_c"), None), in_transport=False).above
        peak = f"{alert.peak:.1f}"
        if above and float(peak) <= limit["max_c"]:
            # 2.04 °C over a 2 °C limit read « 2,0°C>2°C » (seen in the demo): a second
            # decimal when the first hides why it is an alarm.
            peak = f"{alert.peak:.2f}"
        tail += _figure(f" {peak}°C", lang)
        if above:
            tail += _figure(f">{limit['max_c']:g}°C", lang)
    room = MAX_ALARM_TEXT_CHARS - len(head) - len(tail) - 1
    if len(zone) > room:
        zone = zone[: room - 1].rstrip() + "…"
    return alarm_text(f"{head} {zone}{tail}")


def probe_alarm(
    session: Session, alert: Alert, on: bool, now: datetime, settings: AlertingSettings
) -> None:
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
        payload = {"on": True, "alert": first.uid, "text": short_text(first, settings.language)}
        if not ringing:
            payload["ring"] = False  # the display only: a warning wakes nobody
    place = Place(zone_id=alert.zone_id, cold_room_id=alert.cold_room_id)
    for probe_id in probes_installed(session, place, now):
        session.add(
            Notification(alert_id=alert.id, channel="probe_alarm", target=probe_id, payload=payload)
        )


def email_body(
    alert: Alert, what: str, settings: AlertingSettings, lang: str = "fr"
) -> tuple[str, str]:
    """The e-mail about `alert` (`what`: the entry's kind, « opened », « escalation »...) in
    `lang`, with the English text below when it is in another language."""
    words = catalogue.words(DOMAIN, lang)
    told = catalogue.words(DOMAIN, lang, "entry").get(what, what).capitalize()
    severity = catalogue.words(DOMAIN, lang, "severity").get(alert.severity, alert.severity)
    name = alert.record.get("location_name", alert.location_key)
    subject = words["email_subject"].format(what=told, severity=severity, place=name)
    lines = [
        words["email_heading"].format(what=told, severity=severity),
        "",
        alert_text(alert, lang),
        "",
        words["email_place"].format(place=name),
        words["email_probe"].format(probe=alert.probe_id, channel=alert.channel),
        words["email_start"].format(at=brussels(alert.start_at, lang)),
    ]
    if alert.detected_late:
        lines.append(words["email_late"].format(at=brussels(alert.detected_at, lang)))
    # A late verification needs a calibration, not a corrective action.
    ask = "email_ask_calibration" if alert.kind == "calibration_overdue" else "email_ask_action"
    lines += ["", words[ask], f"{settings.public_url.rstrip('/')}/api/v1/alerts/{alert.id}"]
    if lang != "en":
        lines += ["", "-- English --", alert.text_en]
    return subject, "\n".join(lines)


def email_people(
    session: Session, alert: Alert, users: list[User], what: str, settings: AlertingSettings
) -> None:
    """One e-mail per user, in the language they chose (User.language), else the site's."""
    if not settings.smtp_host:
        return
    for user in users:
        lang = user.language if user.language in catalogue.LANGUAGES else settings.language
        subject, body = email_body(alert, what, settings, lang)
        session.add(
            Notification(
                alert_id=alert.id,
                channel="email",
                target=user.email,
                payload={"subject": subject, "body": body, "language": lang},
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
