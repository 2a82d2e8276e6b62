"""Deliveries, stops, loads, the departure check, handovers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, model_validator

from server.core.models import PlaceKind, StopKind
from server.schemas.common import (
    Celsius,
    Code,
    Day,
    IdRef,
    Input,
    Instant,
    Name,
    Output,
    ShortText,
    Tag,
    Text,
)


class DeliveryIn(Input):
    cooperative_id: IdRef
    van_id: IdRef
    driver_id: IdRef
    day: Day


class DeliveryOut(Output):
    id: int
    cooperative_id: int
    van_id: int
    driver_id: int
    day: date
    status: str
    departed_at: datetime | None
    closed_at: datetime | None


class StopIn(Input):
    kind: StopKind
    place_kind: PlaceKind
    cold_room_id: IdRef | None = None  # required for a pickup
    place_name: Name
    address: Text
    planned_at: Instant

    @model_validator(mode="after")
    def _pickup_at_cold_room(self) -> StopIn:
        if self.kind == StopKind.PICKUP and (
            self.cold_room_id is None or self.place_kind != PlaceKind.COLD_ROOM
        ):
            raise ValueError(
                "a pickup is at a cold room: give place_kind=cold_room and cold_room_id"
            )
        if self.kind == StopKind.DROP and self.place_kind == PlaceKind.COLD_ROOM:
            raise ValueError("a drop is at a shop, a restaurant or a canteen")
        return self


class StopOut(Output):
    id: int
    delivery_id: int
    sequence: int
    kind: str
    place_kind: str
    cold_room_id: int | None
    place_name: str
    address: str
    planned_at: datetime
    actual_at: datetime | None


class LoadIn(Input):
    lot_reference: ShortText
    description: Text
    category: Code
    quantity: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=3, allow_inf_nan=False)]
    unit: Tag
    consignor_id: IdRef  # the producer who owns the goods
    consignee: Name
    label_max_c: Celsius | None = None
    zone_id: IdRef
    pickup_stop_id: IdRef
    drop_stop_id: IdRef


class LoadOut(Output):
    id: int
    delivery_id: int
    lot_reference: str
    description: str
    category: str
    quantity: Decimal
    unit: str
    consignor_id: int
    consignee: str
    label_max_c: float | None
    zone_id: int
    pickup_stop_id: int
    drop_stop_id: int


class ZoneCheckIn(Input):
    zone_id: IdRef
    temperature_c: Celsius | None = None  # None: taken from the zone's readings


class DepartureIn(Input):
    checked_at: Instant | None = None  # default: now
    zones: list[ZoneCheckIn] = Field(default_factory=list, max_length=20)


class CloseIn(Input):
    closed_at: Instant | None = None  # default: now


class DepartureCheckOut(Output):
    zone_id: int
    checked_by_id: int
    checked_at: datetime
    temperature_c: float
    limit_c: float
    source: str


class LoadDecisionIn(Input):
    load_id: IdRef
    accepted: bool
    reason: Text | None = None


class HandoverIn(Input):
    at: Instant | None = None  # default: now
    receiver_name: Name | None = None
    core_temperature_c: Celsius | None = None
    decisions: list[LoadDecisionIn] = Field(default_factory=list, max_length=500)


class ZoneTemperatureOut(Output):
    zone_id: int
    channel: str
    temperature_c: float
    measured_at: datetime


class LoadDecisionOut(Output):
    load_id: int
    accepted: bool
    reason: str | None


class HandoverOut(Output):
    id: int
    stop_id: int
    at: datetime
    receiver_name: str | None
    core_temperature_c: float | None
    zone_temperatures: list[ZoneTemperatureOut]
    decisions: list[LoadDecisionOut]


class DeliveryDetail(DeliveryOut):
    stops: list[StopOut]
    loads: list[LoadOut]
    departure_checks: list[DepartureCheckOut]
    handovers: list[HandoverOut]
