"""What the live parts of the pages say of alerts now: the banner of the alerts still going
on (by severity, with the time elapsed and the age of the data), and each alert's row in the
lists (whether it is still going on, its text once over). The server renders them, on the
page and again for static/live.js (server/pages/live_pages.py) when the alert stream says
something changed or a minute has passed, so a number on a live page is computed in one
place, with the server's clock (coldchain/clock.py) and time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from server.alerting.texts import alert_text as stored_text
from server.alerting.visibility import visible_alerts
from server.core.access import Viewer
from server.core.models.alerts import Alert, AlertState
from server.domain.place_readings import from_ms
from server.pages.i18n import celsius, duration, local_time, translator
from server.pages.status import OLD, minutes_between

# What the banner is for: conditions going on at a place now (not a calibration overdue,
# nor a suspension window, which are records to read, not alarms).
LIVE_KINDS = ("temperature_excursion", "door_open", "probe_offline", "sensor_fault")
BANNER_SEVERITIES = ("critical", "warning", "tolerated")
ICONS = {"critical": "✖", "warning": "▲", "tolerated": "◆", "info": "ℹ"}
MINUTES = re.compile(r"\b\d+ min\b")


def is_ongoing(alert: Alert) -> bool:
    """The condition is still going on (the engine has not resolved or withdrawn it)."""
    return alert.engine_status == "open" and alert.state != AlertState.CLOSED


def place_of(alert: Alert) -> str:
    name = alert.record.get("location_name") if isinstance(alert.record, dict) else None
    return str(name) if name else alert.location_key


def bound_of(alert: Alert) -> float | None:
    """The limit a temperature alert is about, from its record: the max it went above, or
    the min it went below (its peak says which)."""
    record = alert.record if isinstance(alert.record, dict) else {}
    limit = record.get("limit")
    if alert.kind != "temperature_excursion" or not isinstance(limit, dict):
        return None
    high, low = limit.get("max_c"), limit.get("min_c")
    peak = alert.peak
    below = low is not None and peak is not None and (high is None or peak < low)
    value = low if below else high
    return float(value) if isinstance(value, int | float) else None


def alert_text(alert: Alert, lang: str, now: datetime) -> str:
    """The engine's text, except where time has made it false: going on, its « depuis
    7 min » (counted to the last reading) says the time since the start, as the banner; a
    probe that was silent and is back no longer « n'envoie plus rien »."""
    text = stored_text(alert, lang)
    if alert.kind == "probe_offline" and not is_ongoing(alert) and alert.end_at is not None:
        words = translator(lang)
        return words["probe_back_text"].format(
            place=place_of(alert),
            probe=alert.probe_id,
            start=local_time(alert.start_at, lang, with_date=False),
            end=local_time(alert.end_at, lang, with_date=False),
        )
    if alert.kind in ("temperature_excursion", "door_open") and is_ongoing(alert):
        spans = MINUTES.findall(text)
        if len(spans) == 1:  # the one figure of time the engine's text gives (alerts/texts.py)
            elapsed = duration(minutes_between(alert.start_at, now), lang)
            return MINUTES.sub(elapsed, text)
    return text


def course(alert: Alert, lang: str) -> str:
    """Still going on, or over since when, in the words of its kind."""
    words = translator(lang)
    kind = alert.kind if alert.kind in LIVE_KINDS else "other"
    if alert.engine_status == "withdrawn":
        return words["course_withdrawn"]
    if is_ongoing(alert):
        return words[f"course_ongoing_{kind}"]
    if alert.end_at is None:
        return words["course_over"]
    return words[f"course_ended_{kind}"].format(at=local_time(alert.end_at, lang))


@dataclass(frozen=True)
class AlertRow:
    """One alert of a list (templates/_alerts.html)."""

    alert: Alert
    icon: str
    text: str
    course: str
    ongoing: bool


def rows(alerts: list[Alert], lang: str, now: datetime) -> list[AlertRow]:
    return [
        AlertRow(
            a, ICONS.get(a.severity, "▲"), alert_text(a, lang, now), course(a, lang), is_ongoing(a)
        )
        for a in alerts
    ]


@dataclass(frozen=True)
class Ongoing:
    """An alert of the banner: still going on, with what a person needs at a glance."""

    alert: Alert
    icon: str
    place: str
    since: str  # « 12 min »: since it started (the door opened, the probe went silent...)
    started: str  # its start, local time
    bound: str | None  # « 2,0 °C »: the limit it is about
    peak: str | None
    data_age: int | None  # minutes since the probe's newest reading, when that is old

    @property
    def severity(self) -> str:
        return self.alert.severity


def ongoing_alerts(
    session: Session, store: ReadingStore, viewer: Viewer, now: datetime, lang: str
) -> list[Ongoing]:
    """The alerts the viewer sees that are still going on, the most severe first."""
    alerts = session.scalars(
        select(Alert)
        .where(
            visible_alerts(viewer),
            Alert.engine_status == "open",
            Alert.state != AlertState.CLOSED,
            Alert.kind.in_(LIVE_KINDS),
            Alert.severity.in_(BANNER_SEVERITIES),
        )
        .order_by(Alert.start_at, Alert.id)
        .limit(50)
    )
    out = []
    for alert in alerts:
        newest = store.latest([alert.probe_id]).values()
        last = max((from_ms(r.time_ms) for r in newest), default=None)
        age = None if last is None or now - last < OLD else minutes_between(last, now)
        bound = bound_of(alert)
        out.append(
            Ongoing(
                alert,
                ICONS[alert.severity],
                place_of(alert),
                duration(minutes_between(alert.start_at, now), lang),
                local_time(alert.start_at, lang, with_date=False),
                celsius(bound, lang) if bound is not None else None,
                celsius(alert.peak, lang) if bound is not None and alert.peak is not None else None,
                age,
            )
        )
    out.sort(key=lambda o: BANNER_SEVERITIES.index(o.severity))  # stable: oldest first within
    return out
