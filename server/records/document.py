"""The canonical content of a delivery's HACCP record, built from the database and the
reading store. Everything an inspector may ask about is copied in, readings included, so
the record never depends on the reading store's retention.
"""

from __future__ import annotations

import itertools
import statistics as stats_lib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.limits import Lot, timeline_for_lots
from alerts.profiles import ProductProfile
from coldchain.readingstore.base import ReadingStore
from server.core.access import delivery_window
from server.core.models import Delivery, Load, Organisation, Stop, Van, Zone
from server.domain.deliveries import DeliveryFile, HandedOver, file_of
from server.domain.former_names import Subject, in_force, one_in_force
from server.domain.place_readings import Place, PlaceReading, series, to_ms
from server.domain.users import full_name
from server.records import alerts_log
from server.records.verdict import Point, limit_of, statistics, verdict

# /2: each alert keeps `text_facts` (server/records/alerts_log.py), the envelope
# `change_facts` (server/records/changes.py). A /1 record stays as sealed (docs/records.md).
FORMAT = "coldchain-haccp-record/2"
FORMAT_1 = "coldchain-haccp-record/1"
READING_COLUMNS = [
    "time_ms",
    "probe",
    "channel",
    "raw",
    "value",
    "calibration_id",
    "fault",
    "synced",
]
GAP_MIN_MS = 5 * 60_000  # a silence longer than this (and 3 intervals) is a gap
OFFLINE_MS = 30 * 60_000  # a gap this long is an offline period
EMPTY_ZONE_CATEGORY = "ambient"  # nothing on board: no limit (as alerting.empty_zone_category)


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ZoneThen:
    """A zone as the record names it: its name in force when the delivery closed
    (server/domain/former_names.py: a rename afterwards changes no record, no reseal)."""

    id: int
    name: str
    kind: str


def build(
    session: Session,
    store: ReadingStore,
    delivery: Delivery,
    profiles: Mapping[str, ProductProfile],
) -> dict[str, Any]:
    """The record's content (without the seal envelope: version, sequence, sealed_at)."""
    van = session.get(Van, delivery.van_id)
    coop = session.get(Organisation, delivery.cooperative_id)
    assert van is not None and coop is not None
    file = file_of(session, delivery)  # the stops, loads, checks and handovers
    stops, loads = file.stops, file.loads
    zone_ids = sorted({load.zone_id for load in loads})
    window = delivery_window(delivery)
    start, end = window[0], window[1] or window[0]
    then = end  # the delivery's closing (delivery_window): the names in force then
    found = list(session.scalars(select(Zone).where(Zone.id.in_(zone_ids))))
    names = in_force(session, Subject.ZONE, {z.id: z.name for z in found}, "name", then)
    zones = {z.id: ZoneThen(z.id, names[z.id], z.kind) for z in found}
    van_name = one_in_force(session, Subject.VAN, van.id, "name", van.name, then)
    plate = one_in_force(session, Subject.VAN, van.id, "plate", van.plate, then)
    coop_name = one_in_force(session, Subject.ORGANISATION, coop.id, "name", coop.name, then)
    readings = {
        zid: series(session, store, Place(zone_id=zid), [window], start, end) for zid in zone_ids
    }
    lots = {load.id: load.lot_reference for load in loads}
    return {
        "format": FORMAT,
        "cooperative": {"id": coop.id, "name": coop_name},
        "delivery": {
            "id": delivery.id,
            "day": delivery.day.isoformat(),
            "van": {"id": van.id, "name": van_name, "plate": plate},
            "driver": full_name(session, delivery.driver_id),
            "departed_at": iso(delivery.departed_at),
            "closed_at": iso(delivery.closed_at),
            "closed_by": full_name(session, delivery.closed_by_id),
        },
        "departure_checks": _departure_checks(session, file, zones),
        "stops": [_stop(session, s, file.handovers.get(s.id), lots, zones) for s in stops],
        "loads": [_load(session, load, file, zones, readings, profiles, end) for load in loads],
        "zones": [
            _zone(zones[zid], readings[zid], _limits(profiles, file, zid, start, end))
            for zid in zone_ids
        ],
        "alerts": alerts_log.for_delivery(session, delivery.id, lots),
    }


def in_shape_of(content: Mapping[str, Any], sealed_format: str | None) -> dict[str, Any]:
    """`content` (this code's) as a record of `sealed_format` would hold it: what sealing
    compares with an older version, so that what a newer format adds is not a change."""
    if sealed_format != FORMAT_1:
        return dict(content)
    alerts = [
        {k: v for k, v in alert.items() if k != "text_facts"} for alert in content.get("alerts", [])
    ]
    return {**content, "format": FORMAT_1, "alerts": alerts}


def _departure_checks(
    session: Session, file: DeliveryFile, zones: dict[int, ZoneThen]
) -> list[Any]:
    rows = file.departure_checks  # by zone
    return [
        {
            "zone": zones[r.zone_id].name if r.zone_id in zones else str(r.zone_id),
            "checked_at": iso(r.checked_at),
            "checked_by": full_name(session, r.checked_by_id),
            "temperature_c": r.temperature_c,
            "limit_c": r.limit_c,
            "source": r.source,
        }
        for r in rows
    ]


def _stop(
    session: Session,
    stop: Stop,
    done: HandedOver | None,
    lots: dict[int, str],
    zones: dict[int, ZoneThen],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "sequence": stop.sequence,
        "kind": stop.kind,
        "place_kind": stop.place_kind,
        "place_name": stop.place_name,
        "address": stop.address,
        "planned_at": iso(stop.planned_at),
        "actual_at": iso(stop.actual_at),
        "handover": None,
    }
    if done is None:
        return out
    handover, temperatures = done.handover, done.zone_temperatures  # by zone
    out["handover"] = {
        "at": iso(handover.at),
        "recorded_by": full_name(session, handover.recorded_by_id),
        "receiver_name": handover.receiver_name,
        "core_temperature_c": handover.core_temperature_c,
        "zone_temperatures": [
            {
                "zone": zones[t.zone_id].name if t.zone_id in zones else str(t.zone_id),
                "channel": t.channel,
                "temperature_c": t.temperature_c,
                "measured_at": iso(t.measured_at),
            }
            for t in temperatures
        ],
        "decisions": [
            {"lot_reference": lots[d.load_id], "accepted": d.accepted, "reason": d.reason}
            for d in sorted(done.decisions, key=lambda d: d.load_id)
            if d.load_id in lots
        ],
    }
    return out


def judged_channel(readings: list[PlaceReading]) -> str:
    """The product simulant when the zone has one (closer to the legal product limit), else air."""
    return (
        "product"
        if any(r.channel == "product" and r.value is not None for r in readings)
        else "air"
    )


def _load(
    session: Session,
    load: Load,
    file: DeliveryFile,
    zones: dict[int, ZoneThen],
    readings: dict[int, list[PlaceReading]],
    profiles: Mapping[str, ProductProfile],
    closed_at: datetime,
) -> dict[str, Any]:
    consignor = session.get(Organisation, load.consignor_id)
    consignor_name = str(load.consignor_id)
    if consignor is not None:
        consignor_name = one_in_force(
            session, Subject.ORGANISATION, consignor.id, "name", consignor.name, closed_at
        )
    stop_seq = {s.id: s.sequence for s in file.stops}
    span = file.on_board(load, closed_at)
    zone_readings = readings[load.zone_id]
    channel = judged_channel(zone_readings)
    points = []
    if span is not None:
        a, b = to_ms(span[0]), to_ms(span[1])
        points = [
            Point(to_ms(r.time), r.value)
            for r in zone_readings
            if r.channel == channel and r.value is not None and a <= to_ms(r.time) < b
        ]
    limit = limit_of(profiles, load.category, load.label_max_c)
    figures = statistics(points, limit)
    profile = profiles.get(load.category)
    return {
        "id": load.id,
        "lot_reference": load.lot_reference,
        "description": load.description,
        "category": load.category,
        "category_fr": profile.name_fr if profile else load.category,
        "quantity": f"{load.quantity:.3f}",  # same text on SQLite and PostgreSQL
        "unit": load.unit,
        "consignor": consignor_name,
        "consignee": load.consignee,
        "label_max_c": load.label_max_c,
        "zone": zones[load.zone_id].name,
        "zone_id": load.zone_id,
        "pickup_stop": stop_seq.get(load.pickup_stop_id),
        "drop_stop": stop_seq.get(load.drop_stop_id),
        "on_board_from": iso(span[0]) if span else None,
        "on_board_until": iso(span[1]) if span else None,
        "channel": channel,
        "limit": limit,
        "stats": figures,
        "verdict": verdict(figures, limit),
    }


def _limits(
    profiles: Mapping[str, ProductProfile],
    file: DeliveryFile,
    zone_id: int,
    start: datetime,
    end: datetime,
) -> list[dict[str, Any]]:
    """The zone's limit in force over the delivery (strictest lot on board, alerts/limits.py)."""
    lots = []
    for load in file.loads:
        span = file.on_board(load, end)
        if load.zone_id == zone_id and span is not None:
            lots.append(
                Lot(
                    load.lot_reference,
                    load.category,
                    to_ms(span[0]),
                    to_ms(span[1]),
                    load.label_max_c,
                )
            )
    timeline = timeline_for_lots(profiles, lots, EMPTY_ZONE_CATEGORY)
    a, b = to_ms(start), to_ms(end)
    out = []
    for index, segment_start in enumerate(timeline.starts):
        segment_end = timeline.starts[index + 1] if index + 1 < len(timeline.starts) else b
        lo, hi = max(a, segment_start), min(b, segment_end)
        if lo < hi:
            limit = timeline.limits[index]
            out.append(
                {
                    "from_ms": lo,
                    "to_ms": hi,
                    "max_c": limit.max_c,
                    "min_c": limit.min_c,
                    "lots": list(limit.lot_ids),
                }
            )
    return out


def sealed_reading(r: PlaceReading) -> list[Any]:
    """A reading as the sealed document keeps it: its values under READING_COLUMNS."""
    return [
        to_ms(r.time),
        r.probe_id,
        r.channel,
        r.raw_value,
        r.value,
        r.calibration_id,
        r.fault,
        r.clock_synced,
    ]


def _zone(
    zone: ZoneThen, readings: list[PlaceReading], limits: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "limits": limits,
        "id": zone.id,
        "name": zone.name,
        "kind": zone.kind,
        "reading_columns": READING_COLUMNS,
        "readings": [sealed_reading(r) for r in readings],
        "quality": quality(readings),
    }


def gap_threshold(times: list[int]) -> float | None:
    """A silence longer than this between two readings of a channel (in time order, ms) is
    a gap: 5 minutes and 3 of its usual intervals. None: fewer than two readings."""
    steps = [b - a for a, b in itertools.pairwise(times)]
    return max(GAP_MIN_MS, 3 * stats_lib.median(steps)) if steps else None


def quality(readings: list[PlaceReading]) -> dict[str, Any]:
    """Gaps and offline periods (per channel), unsynchronised clocks, faults."""
    gaps: list[dict[str, Any]] = []
    for channel in sorted({r.channel for r in readings}):
        times = [to_ms(r.time) for r in readings if r.channel == channel]
        limit = gap_threshold(times)
        if limit is None:
            continue
        for a, b in itertools.pairwise(times):
            if b - a > limit:
                gaps.append(
                    {
                        "channel": channel,
                        "from_ms": a,
                        "to_ms": b,
                        "minutes": round((b - a) / 60_000, 3),
                        "offline": b - a >= OFFLINE_MS,
                    }
                )
    return {
        "gaps": gaps,
        "unsynced_readings": sum(1 for r in readings if not r.clock_synced),
        "faults": sum(1 for r in readings if r.fault is not None),
        "readings": len(readings),
    }
