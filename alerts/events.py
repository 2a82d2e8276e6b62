"""Alert events: what the engine tells the server, carrying the whole alert record
(docs/sources.md#alert-record)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from alerts.findings import AlertKind, Record, Severity
from alerts.limits import ZoneLimit
from alerts.profiles import ProductProfile


class EventType(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"  # warning -> critical (or tolerated -> critical)
    UPDATED = "updated"  # peak, window, gaps or limit changed; or a periodic progress update
    RESOLVED = "resolved"
    WITHDRAWN = "withdrawn"  # late readings show the alert should not have been raised
    # Only figures changed (a reading counted, a replay moved a time by a minute): nothing to
    # tell anyone, but the stored alert must carry the engine's figures (docs/alerts.md).
    REFRESHED = "refreshed"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    event: EventType
    alert_id: str
    kind: AlertKind
    severity: Severity
    status: str  # open, closed or withdrawn
    location_id: str
    location_kind: str
    location_name: str
    probe_id: str
    channel: str  # what was measured: air or product (simulant); door, ...
    detail: str  # fault code, stuck_value, impossible_jump, "<reason>|<mode>" of a window
    start_ms: int  # first out-of-limit reading (device time, UTC ms)
    last_out_ms: int  # last out-of-limit reading
    end_ms: int | None  # first reading back inside, once the excursion is over
    resolved_at_ms: int | None  # the reading that showed it was over (after the clearance time)
    duration_ms: int
    n_readings: int
    interval_s: int  # recording interval in force
    peak: float | None
    mean: float | None
    time_above_ms: int  # time beyond the legal limit
    degree_minutes: float  # integral of the excess over the legal limit
    tolerated_ms: int  # time spent within a legal transport tolerance
    gaps: tuple[tuple[int, int], ...]  # data gaps inside the excursion
    clock_unsynced: bool  # a reading inside came from a probe whose clock was not synced
    limit: dict[str, Any] | None  # the limit, its source and our choices (see limit_record)
    lot_ids: tuple[str, ...]  # lots on board during the excursion
    alert_at_ms: int | None  # device time at which the alert condition was met
    critical_at_ms: int | None
    # Arrival (wall clock) of the readings with which the engine first knew the alert critical
    # (a critical one; the others: first knew it at all). alerts/publisher.py.
    detected_at_ms: int
    # detected_at more than the data-gap threshold after the device time it became critical
    # (alert_at for an alert that is not critical): the readings that revealed it came late.
    detected_late: bool
    text_fr: str
    text_en: str

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in _EVENT_FIELDS}
        out["event"], out["kind"], out["severity"] = (
            self.event.value,
            self.kind.value,
            self.severity.value,
        )
        out["gaps"] = [list(g) for g in self.gaps]
        out["lot_ids"] = list(self.lot_ids)
        if self.limit is not None:
            out["limit"] = dict(self.limit)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AlertEvent:
        fields = dict(data)
        fields["event"] = EventType(data["event"])
        fields["kind"] = AlertKind(data["kind"])
        fields["severity"] = Severity(data["severity"])
        fields["gaps"] = tuple((int(a), int(b)) for a, b in data["gaps"])
        fields["lot_ids"] = tuple(data["lot_ids"])
        return cls(**fields)


_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(AlertEvent))

# The figures every event of an alert carries, equal to the engine's record when the event
# is made and kept equal after every replay (`figures`; the publisher compares them).
FIGURES = (
    "severity",
    "status",
    "start_ms",
    "last_out_ms",
    "end_ms",
    "resolved_at_ms",
    "duration_ms",
    "n_readings",
    "peak",
    "mean",
    "time_above_ms",
    "degree_minutes",
    "tolerated_ms",
    "clock_unsynced",
    "alert_at_ms",
    "critical_at_ms",
)


def figures(fields: dict[str, Any]) -> tuple[Any, ...]:
    """The figures of `record_fields(record)` or of a published event's dict, comparable
    (severities compare equal to their values; gaps as pairs)."""
    return (*[fields[name] for name in FIGURES], *[tuple(g) for g in fields["gaps"]])


def record_figures(record: Record) -> tuple[Any, ...]:
    """`figures(record_fields(record))`, made straight from the record (the publisher asks
    for it at every reading of an open alert)."""
    mean = record.mean
    return (
        record.severity or Severity.INFO,
        "closed" if record.closed else "open",
        record.start_ms,
        record.last_out_ms,
        record.end_ms,
        record.resolved_at_ms,
        record.duration_ms,
        record.n,
        record.peak,
        None if mean is None else round(mean, 3),
        record.time_above_ms,
        round(record.degree_ms / 60_000, 3),
        record.tolerated_ms,
        record.clock_unsynced,
        record.alert_at_ms,
        record.critical_at_ms,
        *record.gaps,
    )


def limit_record(
    limit: ZoneLimit | None, side: int, profiles: dict[str, ProductProfile]
) -> dict[str, Any] | None:
    """The applicable limit and its basis, as the alert record shows it
    (docs/sources.md#alert-record, point 5)."""
    if limit is None:
        return None
    code = limit.max_category if side >= 0 else limit.min_category
    profile = profiles.get(code or "")
    choices = limit.choices
    return {
        "max_c": limit.max_c,
        "min_c": limit.min_c,
        "category": code,
        "category_name_fr": profile.name_fr if profile else None,
        "category_name_en": profile.name_en if profile else None,
        "basis": limit.max_basis if side >= 0 else limit.min_basis,
        "label_applied": limit.label_applied,
        "applies_to": profile.applies_to.value if profile else None,
        "legal_source": profile.source.cite() if profile else None,
        "confidence": profile.source.confidence if profile else None,
        # Why a number is ours, how the limit is applied (alerts/profiles.toml).
        "source_note": profile.explanation if profile else None,
        "categories_on_board": list(limit.categories),
        "warning_max_c": limit.warn_max,
        "warning_min_c": limit.warn_min,
        "tolerance_c": limit.tolerance_c,
        "tolerance_max_min": limit.tolerance_min,
        "haccp_rationale": "docs/alerts.md, « Our HACCP choices »",
        "our_choices": {  # HACCP decisions, justified in docs/alerts.md
            "warning_margin_c": choices.warning_margin_c,  # « proche de la limite »: a status
            "critical_delay_min": choices.critical_delay_min,
            "hard_margin_c": choices.hard_margin_c,
            "clearance_margin_c": choices.clearance_margin_c,
            "clearance_min": choices.clearance_min,
        },
        "conflict": limit.conflict,
    }


def record_fields(record: Record) -> dict[str, Any]:
    """The measured part of an event, straight from the record."""
    return {
        "alert_id": record.alert_id,
        "kind": record.kind,
        "severity": record.severity or Severity.INFO,
        "status": "closed" if record.closed else "open",
        "probe_id": record.probe_id,
        "channel": record.channel,
        "detail": record.detail,
        "start_ms": record.start_ms,
        "last_out_ms": record.last_out_ms,
        "end_ms": record.end_ms,
        "resolved_at_ms": record.resolved_at_ms,
        "duration_ms": record.duration_ms,
        "n_readings": record.n,
        "peak": record.peak,
        "mean": None if record.mean is None else round(record.mean, 3),
        "time_above_ms": record.time_above_ms,
        "degree_minutes": round(record.degree_ms / 60_000, 3),
        "tolerated_ms": record.tolerated_ms,
        "gaps": tuple(record.gaps),
        "clock_unsynced": record.clock_unsynced,
        "alert_at_ms": record.alert_at_ms,
        "critical_at_ms": record.critical_at_ms,
    }
