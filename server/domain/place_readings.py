"""Readings of a place (a van zone or a cold room): attribution by installation history
and calibration in force, both decided by the reading's DEVICE time.

A reading that arrives a day late lands where the probe was when it measured, because
nothing here looks at arrival time: the installation and calibration tables are asked
"where / which offset at time t" for each reading's own t.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from coldchain.protocol import TEMPERATURE_CHANNELS, Reading
from coldchain.readingstore.base import ReadingStore
from server.core.access import Interval, clip
from server.core.models import Calibration, Installation, Probe


@dataclass(frozen=True)
class Place:
    zone_id: int | None = None
    cold_room_id: int | None = None


@dataclass(frozen=True)
class PlaceReading:
    probe_id: str
    channel: str
    time: datetime
    seq: int
    raw_value: float | None
    value: float | None  # raw + offset of the calibration in force (None on a fault)
    calibration_id: int | None
    fault: str | None
    clock_synced: bool


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def to_ms(t: datetime) -> int:
    """Milliseconds since the epoch, in integers (a float product can land 1 ms early)."""
    return (t - EPOCH) // MS


def from_ms(ms: int) -> datetime:
    return EPOCH + ms * MS


class Calibrations:
    """The calibration in force per (probe, channel) at any time."""

    def __init__(self, session: Session, probe_ids: Sequence[int]) -> None:
        self._by_key: dict[tuple[int, str], list[Calibration]] = {}
        rows = session.scalars(
            select(Calibration)
            .where(Calibration.probe_id.in_(probe_ids))
            .order_by(Calibration.calibrated_at, Calibration.id)
        )
        for row in rows:
            self._by_key.setdefault((row.probe_id, row.channel), []).append(row)
        self._times = {k: [to_ms(c.calibrated_at) for c in v] for k, v in self._by_key.items()}

    def in_force(self, probe_pk: int, channel: str, time_ms: int) -> Calibration | None:
        times = self._times.get((probe_pk, channel))
        if not times:
            return None
        index = bisect.bisect_right(times, time_ms) - 1  # latest calibrated_at <= t
        return self._by_key[(probe_pk, channel)][index] if index >= 0 else None

    def apply(self, probe_pk: int, reading: Reading) -> PlaceReading:
        calibration = self.in_force(probe_pk, reading.channel, reading.time_ms)
        value = reading.value
        if value is not None and calibration is not None:
            value = round(value + calibration.offset, 4)
        return PlaceReading(
            probe_id=reading.probe_id,
            channel=reading.channel,
            time=from_ms(reading.time_ms),
            seq=reading.seq,
            raw_value=reading.value,
            value=value,
            calibration_id=calibration.id if calibration else None,
            fault=reading.fault,
            clock_synced=reading.clock_synced,
        )


def _installed(place: Place, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Installations at `place` over some of [start, end] (start == end: at that instant)."""
    return [
        (
            Installation.zone_id == place.zone_id
            if place.zone_id is not None
            else Installation.cold_room_id == place.cold_room_id
        ),
        Installation.start < end if end > start else Installation.start <= end,
        or_(Installation.end.is_(None), Installation.end > start),
    ]


def installations(
    session: Session, place: Place, start: datetime, end: datetime
) -> list[Installation]:
    """The installations at `place` over some of [start, end), oldest first."""
    query = select(Installation).where(*_installed(place, start, end))
    return list(session.scalars(query.order_by(Installation.start)))


def probes_installed(session: Session, place: Place, at: datetime) -> list[str]:
    """The probes (their ids on the wire) measuring `place` at the instant `at`."""
    query = select(Probe.probe_id).join(Installation, Installation.probe_id == Probe.id)
    return list(session.scalars(query.where(*_installed(place, at, at))))


def _measured(
    session: Session, place: Place, start: datetime, end: datetime
) -> tuple[list[Installation], dict[int, Probe], Calibrations]:
    """Who measured `place` in [start, end): the installations, their probes (by key) and
    those probes' calibrations."""
    found = installations(session, place, start, end)
    probes = {
        p.id: p
        for p in session.scalars(select(Probe).where(Probe.id.in_({i.probe_id for i in found})))
    }
    return found, probes, Calibrations(session, list(probes))


def series(
    session: Session,
    store: ReadingStore,
    place: Place,
    windows: list[Interval],
    start: datetime,
    end: datetime,
    channel: str | None = None,
) -> list[PlaceReading]:
    """Calibrated readings measured at `place` in [start, end) and inside `windows`."""
    found, probes, calibrations = _measured(session, place, start, end)
    out: list[PlaceReading] = []
    for installation in found:
        span: Interval = (installation.start, installation.end)
        for a, b in clip(windows, start, end):
            for part_start, part_end in clip([span], a, b):
                probe = probes[installation.probe_id]
                for reading in store.readings(
                    probe.probe_id, to_ms(part_start), to_ms(part_end), channel
                ):
                    out.append(calibrations.apply(probe.id, reading))
    out.sort(key=lambda r: (r.time, r.channel, r.probe_id))
    return out


def newest_per_channel(by_probe: dict[str, dict[str, PlaceReading]]) -> dict[str, PlaceReading]:
    """Of `latest_by_probe`'s answer, the newest reading per channel whichever probe took it."""
    newest: dict[str, PlaceReading] = {}
    for channels in by_probe.values():
        for channel, reading in channels.items():
            current = newest.get(channel)
            if current is None or reading.time > current.time:
                newest[channel] = reading
    return newest


def latest_by_probe(
    session: Session,
    store: ReadingStore,
    place: Place,
    windows: list[Interval],
    now: datetime,
    lookback: timedelta = timedelta(hours=48),
) -> dict[str, dict[str, PlaceReading]]:
    """Per probe (its id on the wire) that measured `place` in the lookback, its newest
    calibrated reading per channel there, inside `windows` (a probe with none: empty)."""
    start, end = now - lookback, now + timedelta(minutes=10)
    found, probes, calibrations = _measured(session, place, start, end)
    out: dict[str, dict[str, PlaceReading]] = {}
    for installation in found:
        probe = probes[installation.probe_id]
        newest = out.setdefault(probe.probe_id, {})
        span: Interval = (installation.start, installation.end)
        allowed = [part for a, b in clip(windows, start, end) for part in clip([span], a, b)]
        if not allowed:
            continue
        candidates = list(store.latest([probe.probe_id]).values())
        if not all(_inside(allowed, r.time_ms) for r in candidates):
            # The probe measured elsewhere (or out of the caller's windows) since: read the span.
            candidates = [
                r for a, b in allowed for r in store.readings(probe.probe_id, to_ms(a), to_ms(b))
            ]
        for reading in candidates:
            calibrated = calibrations.apply(probe.id, reading)
            current = newest.get(reading.channel)
            if current is None or calibrated.time > current.time:
                newest[reading.channel] = calibrated
    return out


def _inside(intervals: list[tuple[datetime, datetime]], time_ms: int) -> bool:
    return any(to_ms(a) <= time_ms < to_ms(b) for a, b in intervals)


def zone_temperature(
    session: Session, store: ReadingStore, zone_id: int, at: datetime, max_age: timedelta
) -> PlaceReading | None:
    """The zone's temperature at `at`: the newest reading no older than `max_age`,
    preferring the product simulant channel over air (closer to the legal product limit)."""
    readings = series(
        session,
        store,
        Place(zone_id=zone_id),
        [(at - max_age, None)],
        at - max_age,
        at + timedelta(seconds=1),
    )
    for channel in ("product", "air"):
        matching = [r for r in readings if r.channel == channel and r.value is not None]
        if matching:
            return matching[-1]
    return None


assert {"product", "air"} <= TEMPERATURE_CHANNELS
