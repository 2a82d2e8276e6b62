"""Readings of a place, calibrated."""

from __future__ import annotations

from datetime import datetime

from server.schemas.common import Output


class PlaceReadingOut(Output):
    probe_id: str
    channel: str
    time: datetime
    seq: int
    raw_value: float | None
    value: float | None
    calibration_id: int | None
    fault: str | None
    clock_synced: bool


class SeriesOut(Output):
    place: str  # "zone:<id>" or "cold_room:<id>"
    start: datetime
    end: datetime
    readings: list[PlaceReadingOut]
    truncated: bool  # more readings than the limit matched


class LatestOut(Output):
    place: str
    readings: list[PlaceReadingOut]


class AttributedReadingOut(PlaceReadingOut):
    zone_id: int | None
    cold_room_id: int | None


class ProbeSeriesOut(Output):
    probe_id: str
    start: datetime
    end: datetime
    readings: list[AttributedReadingOut]
    truncated: bool
