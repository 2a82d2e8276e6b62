"""Readings of a place: latest values and time series, calibrated, within what the
caller may see (server/core/access.py decides the time windows)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from server.core.access import cold_room_windows, zone_windows
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import utcnow
from server.domain.place_readings import Place, PlaceReading, latest, series
from server.schemas.common import IdPath, Instant, Tag
from server.schemas.readings import LatestOut, PlaceReadingOut, SeriesOut

router = APIRouter(tags=["readings"])

MAX_RANGE = timedelta(days=31)
MAX_POINTS = 50_000
Channel = Annotated[Tag | None, Query()]


def check_range(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ApiError(
            422,
            "validation_error",
            detail=Both("la fin doit être après le début", "end must be after start"),
        )
    if end - start > MAX_RANGE:
        raise ApiError(
            422,
            "validation_error",
            detail=Both("au plus 31 jours par requête", "at most 31 days per request"),
        )


def _series(label: str, found: list[PlaceReading], start: datetime, end: datetime) -> SeriesOut:
    return SeriesOut(
        place=label,
        start=start,
        end=end,
        readings=[PlaceReadingOut.model_validate(r.__dict__) for r in found[:MAX_POINTS]],
        truncated=len(found) > MAX_POINTS,
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
    check_range(start, end)
    windows = zone_windows(session, viewer, zone_id)
    place = Place(zone_id=zone_id)
    found = series(session, store, place, windows, start, end, channel)
    return _series(f"zone:{zone_id}", found, start, end)


@router.get("/zones/{zone_id}/readings/latest")
def zone_latest(
    zone_id: IdPath, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> LatestOut:
    """Newest calibrated reading per channel in the van zone (last 48 hours)."""
    windows = zone_windows(session, viewer, zone_id)
    newest = latest(session, store, Place(zone_id=zone_id), windows, utcnow())
    return LatestOut(
        place=f"zone:{zone_id}",
        readings=[PlaceReadingOut.model_validate(r.__dict__) for r in newest.values()],
    )


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
    check_range(start, end)
    windows = cold_room_windows(session, viewer, cold_room_id)
    place = Place(cold_room_id=cold_room_id)
    found = series(session, store, place, windows, start, end, channel)
    return _series(f"cold_room:{cold_room_id}", found, start, end)


@router.get("/cold-rooms/{cold_room_id}/readings/latest")
def cold_room_latest(
    cold_room_id: IdPath, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> LatestOut:
    """Newest calibrated reading per channel in the cold room (last 48 hours)."""
    windows = cold_room_windows(session, viewer, cold_room_id)
    newest = latest(session, store, Place(cold_room_id=cold_room_id), windows, utcnow())
    return LatestOut(
        place=f"cold_room:{cold_room_id}",
        readings=[PlaceReadingOut.model_validate(r.__dict__) for r in newest.values()],
    )
