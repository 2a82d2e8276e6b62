"""Builders for the alert engine tests: readings minute by minute, a location, an engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from alerts.config import LocationConfig, LocationKind
from alerts.engine import Engine
from alerts.events import AlertEvent, EventType
from alerts.findings import Record
from alerts.limits import Lot
from coldchain.protocol import Reading

MIN = 60_000
# 2026-11-20 09:00 UTC (10:00 in Brussels)
T0 = int(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC).timestamp() * 1000)


def minutes(
    values: Sequence[float | None],
    channel: str = "air",
    probe: str = "p1",
    start: int = T0,
    step_ms: int = MIN,
    fault: str | None = None,
) -> list[Reading]:
    """One reading per step; None values become fault readings."""
    return [
        Reading(
            probe,
            channel,
            start + i * step_ms,
            i,
            v,
            None if v is not None else fault or "crc_error",
        )
        for i, v in enumerate(values)
    ]


def constant(value: float, count: int, **kwargs: object) -> list[float | None]:
    del kwargs
    return [value] * count


def config(
    category: str, kind: LocationKind = LocationKind.VAN_ZONE, **kwargs: object
) -> LocationConfig:
    return LocationConfig("loc-1", kind, "Zone A", category, **kwargs)  # type: ignore[arg-type]


def engine_for(
    category: str,
    kind: LocationKind = LocationKind.VAN_ZONE,
    lots: Sequence[Lot] | None = None,
    **kwargs: object,
) -> Engine:
    engine = Engine()
    engine.configure(config(category, kind, **kwargs), T0, lots)
    return engine


def feed(engine: Engine, readings: Sequence[Reading], live: bool = True) -> list[AlertEvent]:
    """Feed readings; live: each arrives at its own device time, else all at once at the end."""
    events: list[AlertEvent] = []
    if live:
        for r in readings:
            result = engine.ingest("loc-1", [r], r.time_ms + 1000)
            assert not result.errors, result.errors
            events.extend(result.events)
    else:
        result = engine.ingest("loc-1", list(readings), readings[-1].time_ms + 1000)
        assert not result.errors, result.errors
        events.extend(result.events)
    return events


def told(events: Sequence[AlertEvent]) -> list[AlertEvent]:
    """The events worth telling people: without `refreshed` (figures only, kept in step)."""
    return [e for e in events if e.event is not EventType.REFRESHED]


def excursion_view(records: Sequence[Record]) -> list[tuple[object, ...]]:
    """What must not depend on arrival order: windows, severity and statistics."""
    return [
        (
            r.kind.value,
            r.probe_id,
            r.channel,
            r.detail,
            r.side,
            r.start_ms,
            r.last_out_ms,
            r.end_ms,
            r.severity,
            r.n,
            r.peak,
            round(r.sum_v, 6),
            r.time_above_ms,
            round(r.degree_ms, 3),
            tuple(r.gaps),
            r.alert_at_ms,
            r.critical_at_ms,
        )
        for r in records
    ]
