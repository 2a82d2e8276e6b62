"""Readings of a place: latest values and time series, calibrated, within what the
caller may see (server/core/access.py decides the time windows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from server.core.access import Interval, Viewer, cold_room_windows, zone_windows
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.errors import invalid, require_period
from server.core.models import utcnow
from server.domain.place_readings import Place, latest_by_probe, newest_per_channel, series
from server.schemas.common import IdPath, Instant, Tag
from server.schemas.readings import LatestOut, PlaceReadingOut, SeriesOut

router = APIRouter(tags=["readings"])

MAX_RANGE = timedelta(days=31)
MAX_POINTS = 50_000
Channel = Annotated[Tag | None, Query()]


def check_range(start: datetime, end: datetime) -> None:
    require_period(start, end)
    if end - start > MAX_RANGE:
        raise invalid("days_per_request", days=MAX_RANGE.days)


# A van zone and a cold room answer alike; only who may see when differs (the windows).


def _label(place: Place) -> str:
    return (
        f"zone:{place.zone_id}" if place.zone_id is not None else f"cold_room:{place.cold_room_id}"
    )


def _windows(session: Session, viewer: Viewer, place: Place) -> list[Interval]:
    if place.zone_id is not None:
        return zone_windows(session, viewer, place.zone_id)
    assert place.cold_room_id is not None
    return cold_room_windows(session, viewer, place.cold_room_id)


def _series(
    session: Session,
    viewer: Viewer,
    store: ReadingStore,
    place: Place,
    start: datetime,
    end: datetime,
    channel: str | None,
) -> SeriesOut:
    check_range(start, end)
    windows = _windows(session, viewer, place)
    found = series(session, store, place, windows, start, end, channel)
    return SeriesOut(
        place=_label(place),
        start=start,
        end=end,
        readings=[PlaceReadingOut.model_validate(r.__dict__) for r in found[:MAX_POINTS]],
        truncated=len(found) > MAX_POINTS,
    )


def _latest(session: Session, viewer: Viewer, store: ReadingStore, place: Place) -> LatestOut:
    windows = _windows(session, viewer, place)
    newest = newest_per_channel(latest_by_probe(session, store, place, windows, utcnow()))
    return LatestOut(
        place=_label(place),
        readings=[PlaceReadingOut.model_validate(r.__dict__) for r in newest.values()],
    )


@router.get("/zones/{zone_id}/readings")
def zone_series(
    zone_id: IdPath,
    start: Annotated[Instant, Query()],
    end: Annotated[Instant, Query()],
    viewer: ViewerDep,
    session: SessionDep,
    store: StoreDep,
    channel: Channel = None,
) -> SeriesOut:
    """Calibrated readings measured in the van zone in [start, end), within what the
    caller may see (server/core/access.py)."""
    return _series(session, viewer, store, Place(zone_id=zone_id), start, end, channel)


@router.get("/zones/{zone_id}/readings/latest")
def zone_latest(
    zone_id: IdPath, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> LatestOut:
    """Newest calibrated reading per channel in the van zone (last 48 hours)."""
    return _latest(session, viewer, store, Place(zone_id=zone_id))


@router.get("/cold-rooms/{cold_room_id}/readings")
def cold_room_series(
    cold_room_id: IdPath,
    start: Annotated[Instant, Query()],
    end: Annotated[Instant, Query()],
    viewer: ViewerDep,
    session: SessionDep,
    store: StoreDep,
    channel: Channel = None,
) -> SeriesOut:
    """Calibrated readings measured in the cold room in [start, end)."""
    return _series(session, viewer, store, Place(cold_room_id=cold_room_id), start, end, channel)


@router.get("/cold-rooms/{cold_room_id}/readings/latest")
def cold_room_latest(
    cold_room_id: IdPath, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> LatestOut:
    """Newest calibrated reading per channel in the cold room (last 48 hours)."""
    return _latest(session, viewer, store, Place(cold_room_id=cold_room_id))
