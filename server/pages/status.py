"""What the pages show of a place now: the latest calibrated temperature against the
limit in force. Readings: server/domain/place_readings.py with the viewer's windows from
server/core/access.py; limits: alerts/limits.py with the lots on board as the alert worker
sees them (server/alerting/places.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.judgement import Level, judge
from alerts.limits import ZoneLimit, limit_for_category, limit_for_lots
from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.alerting.places import lots_on_board, zone_key
from server.core.access import Viewer, cold_room_windows, visible_cold_rooms, zone_windows
from server.core.errors import ApiError
from server.core.models import ColdRoom, Delivery, DeliveryStatus, Van
from server.domain.categories import profiles
from server.domain.fleet import zones_of
from server.domain.place_readings import Place, PlaceReading, latest, to_ms

FRESH = timedelta(minutes=30)  # older than this, the page says "no recent reading"


@lru_cache(maxsize=1)
@dataclass(frozen=True)
class PlaceNow:
    name: str
    reading: PlaceReading | None
    limit: ZoneLimit | None
    status: str  # ok, warning, tolerated, over, under, none (templates/_status.html)


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


@dataclass(frozen=True)
class TruckNow:
    delivery: Delivery
    van: Van
    zones: list[PlaceNow]


def my_trucks(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    empty_zone_category: str,
    now: datetime,
) -> list[TruckNow]:
    """Today's deliveries the viewer drives (not closed), each van's zones now."""
    today = now.astimezone(clock.zone()).date()
    deliveries = session.scalars(
        select(Delivery)
        .where(
            Delivery.driver_id == viewer.user_id,
            Delivery.day == today,
            Delivery.status != DeliveryStatus.CLOSED,
        )
        .order_by(Delivery.id)
    )
    lots = lots_on_board(session)
    trucks = []
    for delivery in deliveries:
        van = session.get(Van, delivery.van_id)
        assert van is not None
        zones = []
        for zone in session.scalars(zones_of(van)):
            try:
                windows = zone_windows(session, viewer, zone.id)
            except ApiError:
                continue  # another cooperative's delivery has the van: not the viewer's data
            reading = preferred(latest(session, store, Place(zone_id=zone.id), windows, now))
            limit = limit_for_lots(
                profiles(), lots.get(zone_key(zone.id), []), to_ms(now), empty_zone_category
            )
            status = status_of(reading, limit, now, in_transport=True)
            zones.append(PlaceNow(zone.name, reading, limit, status))
        trucks.append(TruckNow(delivery, van, zones))
    return trucks


def room_limit(room: ColdRoom) -> ZoneLimit:
    return limit_for_category(profiles(), room.category)


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
        reading = preferred(latest(session, store, Place(cold_room_id=room.id), windows, now))
        limit = room_limit(room)
        status = status_of(reading, limit, now, in_transport=False)
        out.append((room, PlaceNow(room.name, reading, limit, status)))
    return out
