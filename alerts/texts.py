"""Alert texts for people, in every language of the catalogues: the words come from the
gettext catalogue `alerts` (server/locale/<lang>/LC_MESSAGES/alerts.po, read by
alerts/wording.py), the figures from the alert. Times in the site's zone.

An alert's text is made twice from the same `Facts`: by the engine when it publishes an
event (French and English, stored with the alert), and by the server from the stored event
for any other language a person reads (server/alerting/texts.py) — one function, `text`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from alerts import wording
from alerts.findings import AlertKind, Record, Severity
from alerts.profiles import ProductProfile
from coldchain import clock

STORED = ("fr", "en")  # the texts the engine writes into its events (text_fr, text_en)


@dataclass(frozen=True, slots=True)
class Facts:
    """What an alert's text says, in no language yet."""

    kind: str  # an AlertKind value
    place: str
    minutes: int  # how long it has lasted
    closed: bool
    probe_id: str = ""
    channel: str = ""
    detail: str = ""  # fault code, "<reason>|<mode>" of an evaluation window
    start_ms: int = 0
    severity: str = ""
    side: int = 1  # +1 too warm, -1 too cold
    peak: float | None = None
    bound: float | None = None
    category: Mapping[str, str] = field(default_factory=dict)  # language -> name
    label: bool = False  # a label temperature stricter than the category's limit applies
    tolerance_c: float | None = None
    tolerance_min: float | None = None


def number(value: float, lang: str) -> str:
    """One decimal at most, as the engine rounds: « 9,1 », « −2 » in French (decimal comma,
    a true minus sign), « 9,1 » in Dutch, "9.1" in English. (The engine cannot use Babel:
    server/core/numbers.py writes the pages' numbers.)"""
    text = f"{value:.1f}"
    text = text[:-2] if text.endswith(".0") else text
    if lang == "en":
        return text
    text = text.replace(".", ",")
    return text.replace("-", "−") if lang == "fr" else text


def local_time(t_ms: int, lang: str = "fr") -> str:
    pattern = wording.words(lang)["time_format"]
    return dt.datetime.fromtimestamp(t_ms / 1000, clock.zone()).strftime(pattern)


def _minutes(ms: int) -> int:
    return max(0, round(ms / 60_000))


def facts(record: Record, place: str, profiles: Mapping[str, ProductProfile]) -> Facts:
    """The facts of the engine's record of an alert."""
    limit = record.limit
    bound = code = None
    if limit is not None:
        bound = limit.max_c if record.side > 0 else limit.min_c
        code = limit.max_category if record.side > 0 else limit.min_category
    profile = profiles.get(code or "")
    names = {} if profile is None else {lang: profile.name(lang) for lang in ("fr", "nl", "en")}
    return Facts(
        kind=record.kind.value,
        place=place,
        minutes=_minutes(record.duration_ms),
        closed=record.closed,
        probe_id=record.probe_id,
        channel=record.channel,
        detail=record.detail,
        start_ms=record.start_ms,
        severity=record.severity.value if record.severity is not None else "",
        side=record.side,
        peak=record.peak,
        bound=bound,
        category=names,
        label=limit is not None and limit.label_applied,
        tolerance_c=None if limit is None else limit.tolerance_c,
        tolerance_min=None if limit is None else limit.tolerance_min,
    )


def facts_of_event(event: Mapping[str, Any], category: Mapping[str, str]) -> Facts:
    """The facts of a stored event (AlertEvent.to_dict(): an alert's `record`);
    `category`: the name of its limit's category per language."""
    limit = event.get("limit") or {}
    peak = event.get("peak")
    high, low = limit.get("max_c"), limit.get("min_c")
    # The side the engine judged: too cold when the peak is under the minimum.
    side = -1 if peak is not None and low is not None and peak < low else 1
    return Facts(
        kind=str(event.get("kind", "")),
        place=str(event.get("location_name", "")),
        minutes=_minutes(int(event.get("duration_ms") or 0)),
        closed=event.get("status") != "open",
        probe_id=str(event.get("probe_id", "")),
        channel=str(event.get("channel", "")),
        detail=str(event.get("detail", "")),
        start_ms=int(event.get("start_ms") or 0),
        severity=str(event.get("severity", "")),
        side=side,
        peak=peak,
        bound=high if side > 0 else low,
        category=category,
        label=bool(limit.get("label_applied")),
        tolerance_c=limit.get("tolerance_c"),
        tolerance_min=limit.get("tolerance_max_min"),
    )


def text(alert: Facts, lang: str) -> str:
    """The one-line text of the alert's current state in `lang`."""
    words = wording.words(lang)
    place = alert.place
    if alert.kind == AlertKind.TEMPERATURE.value:
        return _temperature(alert, lang)
    if alert.kind == AlertKind.DOOR_OPEN.value:
        key = "door_open_closed" if alert.closed else "door_open_open"
        return words[key].format(place=place, minutes=alert.minutes)
    if alert.kind == AlertKind.SENSOR_FAULT.value:
        fault = wording.words(lang, "fault").get(alert.detail, alert.detail)
        return words["sensor_fault"].format(
            place=place, probe=alert.probe_id, channel=alert.channel, fault=fault
        )
    since = local_time(alert.start_ms, lang)
    if alert.kind == AlertKind.PROBE_OFFLINE.value:
        return words["probe_offline"].format(place=place, probe=alert.probe_id, since=since)
    reason, _, mode = alert.detail.partition("|")
    reason = wording.words(lang, "reason").get(reason, reason)
    key = "window_suspend" if mode == "suspend" else "window_relax"
    return words[key].format(place=place, reason=reason, since=since)


def _temperature(alert: Facts, lang: str) -> str:
    words = wording.words(lang)
    medium = wording.words(lang, "medium").get(alert.channel, alert.channel)
    category = alert.category.get(lang) or alert.category.get("fr") or ""
    category = category[:1].lower() + category[1:]  # inside the sentence: « viande hachée »
    if not category:
        what = words["what_medium"].format(medium=medium)
    else:
        key = "what_category_label" if alert.label else "what_category"
        what = words[key].format(category=category, medium=medium)
    side = "above" if alert.side > 0 else "below"
    out = words[f"temperature_{side}_{'closed' if alert.closed else 'open'}"].format(
        place=alert.place,
        peak=number(alert.peak if alert.peak is not None else 0.0, lang),
        bound="?" if alert.bound is None else number(alert.bound, lang),
        what=what,
        minutes=alert.minutes,
    )
    if alert.severity == Severity.TOLERATED.value:
        # The tolerance of the limit in force (alerts/profiles.toml), never a figure of ours.
        within = (
            words["tolerated_brief"]
            if alert.tolerance_min is None
            else words["tolerated_under"].format(minutes=number(alert.tolerance_min, lang))
        )
        if alert.tolerance_c is not None:
            within = f"+{number(alert.tolerance_c, lang)} °C, {within}"
        out += words["tolerated"].format(within=within)
    return out


def texts(record: Record, place: str, profiles: Mapping[str, ProductProfile]) -> tuple[str, str]:
    """(French, English) one-line text for the alert's current state (the event's
    text_fr and text_en)."""
    said = facts(record, place, profiles)
    fr, en = (text(said, lang) for lang in STORED)
    return fr, en
