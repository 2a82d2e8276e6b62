"""What the pages show of a place now: the latest calibrated temperature against the
limit in force, how old it is, the probes installed there and when each last spoke, the
door. Readings: server/domain/place_readings.py with the viewer's windows from
server/core/access.py; limits: alerts/limits.py with the lots on board as the alert worker
sees them (server/alerting/places.py); the verdict: alerts/judgement.py, as the engine and
the records judge; « silent »: the engine's own silence rule (alerts/config.py `gap_ms`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.config import LocationConfig, LocationKind
from alerts.judgement import Level, judge
from alerts.limits import Lot, ZoneLimit, limit_for_category, limit_for_lots
from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.alerting.places import lots_on_board, zone_key
from server.core.access import (
    Interval,
    Viewer,
    cold_room_windows,
    seen_until,
    visible_cold_rooms,
    zone_windows,
)
from server.core.errors import ApiError
from server.core.models import ColdRoom, Delivery, Installation, Probe, Van, Zone
from server.domain.categories import profiles
from server.domain.fleet import zones_of
from server.domain.place_readings import Place, PlaceReading, latest_by_probe, to_ms

# The engine's silence rule for a probe recording every minute (the worker's places use the
# default interval): nothing for max(3 x interval, 10 min) is a gap, and live, a silent probe.
# From then on a reading says nothing of now: the page shows « Pas de mesure récente ».
SILENT = timedelta(milliseconds=LocationConfig("page", LocationKind.VAN_ZONE, "", "").gap_ms)
FRESH = SILENT  # older than this, the page says "no recent reading"
# A reading older than two recording intervals is shown with its age (« données de il y a
# 3 min »): one missed reading is normal, two say the data stopped coming.
OLD = timedelta(minutes=2)
DOOR = "door"


@dataclass(frozen=True)
class ProbeNow:
    """A probe installed at the place now, and its newest reading there (any channel)."""

    probe_id: str
    label: str | None
    last: datetime | None
    silent: bool  # nothing for SILENT (or never anything)


@dataclass(frozen=True)
class DoorNow:
    """The door as its probe last told it (events on change): open since `since`."""

    since: datetime
    minutes: int


@dataclass(frozen=True)
class PlaceNow:
    name: str
    reading: PlaceReading | None
    limit: ZoneLimit | None
    status: str  # ok, warning, tolerated, over, under, none (templates/_status.html)
    age_min: int | None = None  # minutes since the reading when it is OLD, else None
    probes: tuple[ProbeNow, ...] = ()
    door: DoorNow | None = None
    zone_id: int | None = None
    cold_room_id: int | None = None

    @property
    def silent(self) -> tuple[ProbeNow, ...]:
        return tuple(p for p in self.probes if p.silent)


STATUS = {Level.WITHIN: "ok", Level.NEAR: "warning", Level.TOLERATED: "tolerated"}


def status_of(
    reading: PlaceReading | None, limit: ZoneLimit | None, now: datetime, *, in_transport: bool
) -> str:
    """The latest reading as the alert engine judges it (alerts/judgement.py): the same
    warning band on both sides and, in a van, the same transport tolerance."""
    if reading is None or reading.value is None or now - reading.time > FRESH:
        return "none"
    if limit is None:
        return "ok"
    judged = judge(reading.value, limit, in_transport=in_transport)
    if judged.level is Level.BEYOND:
        return "over" if judged.side > 0 else "under"
    return STATUS[judged.level]


def preferred(readings: dict[str, PlaceReading]) -> PlaceReading | None:
    """The product simulant channel first (closest to the legal product limit), then air."""
    for channel in ("product", "air"):
        found = readings.get(channel)
        if found is not None and found.value is not None:
            return found
    return None


def minutes_between(earlier: datetime, later: datetime) -> int:
    return max(0, int((later - earlier).total_seconds() // 60))


def place_now(
    session: Session,
    store: ReadingStore,
    place: Place,
    windows: list[Interval],
    name: str,
    limit_at: Callable[[datetime], ZoneLimit | None],
    now: datetime,
    *,
    in_transport: bool,
) -> PlaceNow:
    """The place now: its newest temperature judged against the limit in force when it was
    measured (`limit_at`: as the engine judges every reading, so an old reading of a van zone
    is judged with the lots that were on board then), the age of that reading, the probes
    installed now with their newest reading, the door if its probe says it is open."""
    by_probe = latest_by_probe(session, store, place, windows, now)
    newest: dict[str, PlaceReading] = {}
    for channels in by_probe.values():
        for channel, found in channels.items():
            if channel not in newest or found.time > newest[channel].time:
                newest[channel] = found
    reading = preferred(newest)
    age = None
    if reading is not None and now - reading.time >= OLD:
        age = minutes_between(reading.time, now)
    door = newest.get(DOOR)
    heard = max((r.time for r in newest.values()), default=None)
    door_now = None
    # Open since its open event; said only while the probe speaks (its readings show the
    # door still open, as the engine counts it): a silent probe says nothing of the door now.
    if door is not None and door.value is not None and door.value >= 0.5:
        if heard is not None and now - heard <= SILENT:
            door_now = DoorNow(door.time, minutes_between(door.time, now))
    probes = []
    # Silence is judged where the viewer's view ends: after a delivery's closing its driver
    # no longer sees the van's readings, which does not make its probes silent.
    seen = seen_until(windows, now)
    for probe, _installation in installed_now(session, place, now):
        channels = by_probe.get(probe.probe_id, {})
        last = max((r.time for r in channels.values()), default=None)
        silent = last is None or seen - last > SILENT
        probes.append(ProbeNow(probe.probe_id, probe.label, last, silent))
    limit = limit_at(reading.time if reading is not None else now)
    return PlaceNow(
        name,
        reading,
        limit,
        status_of(reading, limit, now, in_transport=in_transport),
        age,
        tuple(probes),
        door_now,
        place.zone_id,
        place.cold_room_id,
    )


def installed_now(
    session: Session, place: Place, now: datetime
) -> list[tuple[Probe, Installation]]:
    where = (
        Installation.zone_id == place.zone_id
        if place.zone_id is not None
        else Installation.cold_room_id == place.cold_room_id
    )
    return [
        (probe, installation)
        for installation, probe in session.execute(
            select(Installation, Probe)
            .join(Probe, Probe.id == Installation.probe_id)
            .where(where, Installation.start <= now)
            .where((Installation.end.is_(None)) | (Installation.end > now))
            .order_by(Probe.probe_id)
        )
    ]


@dataclass(frozen=True)
class TruckNow:
    van: Van
    deliveries: list[Delivery]  # today's deliveries of the driver with this van, in order
    zones: list[PlaceNow]

    @property
    def on_the_road(self) -> bool:
        return any(d.status == "departed" for d in self.deliveries)


def my_trucks(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    empty_zone_category: str,
    now: datetime,
) -> list[TruckNow]:
    """The vans of the deliveries the viewer drives today, whatever their state (planned, on
    the road, closed): each van's zones and probes now, with or without a delivery running.
    The readings are the ones the viewer may see (server/core/access.py `zone_windows`:
    a driver sees a van's temperatures during their delivery days, up to the closing)."""
    today = now.astimezone(clock.zone()).date()
    deliveries = session.scalars(
        select(Delivery)
        .where(Delivery.driver_id == viewer.user_id, Delivery.day == today)
        .order_by(Delivery.id)
    )
    by_van: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_van.setdefault(delivery.van_id, []).append(delivery)
    lots = lots_on_board(session)
    trucks = []
    for van_id, driven in by_van.items():
        van = session.get(Van, van_id)
        assert van is not None
        zones = []
        for zone in session.scalars(zones_of(van)):
            try:
                windows = zone_windows(session, viewer, zone.id)
            except ApiError:
                continue  # another cooperative's delivery has the van: not the viewer's data
            on_board = lots.get(zone_key(zone.id), [])

            def limit_at(t: datetime, on_board: list[Lot] = on_board) -> ZoneLimit:
                return limit_for_lots(profiles(), on_board, to_ms(t), empty_zone_category)

            zones.append(zone_now(session, store, zone, windows, limit_at, now))
        trucks.append(TruckNow(van, driven, zones))
    return trucks


def zone_now(
    session: Session,
    store: ReadingStore,
    zone: Zone,
    windows: list[Interval],
    limit_at: Callable[[datetime], ZoneLimit],
    now: datetime,
) -> PlaceNow:
    place = Place(zone_id=zone.id)
    return place_now(session, store, place, windows, zone.name, limit_at, now, in_transport=True)


def room_limit(room: ColdRoom) -> ZoneLimit:
    return limit_for_category(profiles(), room.category, room.label_max_c)


def my_rooms(
    session: Session, store: ReadingStore, viewer: Viewer, now: datetime
) -> list[tuple[ColdRoom, PlaceNow]]:
    rooms = session.scalars(
        select(ColdRoom)
        .where(visible_cold_rooms(viewer), ColdRoom.owner_id.in_(viewer.producers))
        .order_by(ColdRoom.name)
    )
    out = []
    for room in rooms:
        windows = cold_room_windows(session, viewer, room.id)
        place = Place(cold_room_id=room.id)
        limit = room_limit(room)

        def limit_at(_t: datetime, limit: ZoneLimit = limit) -> ZoneLimit:
            return limit  # a cold room's category: the same at any time

        current = place_now(
            session, store, place, windows, room.name, limit_at, now, in_transport=False
        )
        out.append((room, current))
    return out
