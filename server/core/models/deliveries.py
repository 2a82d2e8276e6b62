"""Deliveries: stops, loads (lots), the departure check, handovers and closing.

The load fields are the traceability data of Reg. (EU) 931/2011 (lot, description,
quantity, consignor, consignee, dates) plus what the cold chain needs (category, label
storage temperature, zone).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Float, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class DeliveryStatus(StrEnum):
    PLANNED = "planned"
    DEPARTED = "departed"
    CLOSED = "closed"


class StopKind(StrEnum):
    PICKUP = "pickup"  # at a producer's cold room
    DROP = "drop"  # at a shop, restaurant or canteen


class PlaceKind(StrEnum):
    COLD_ROOM = "cold_room"
    SHOP = "shop"
    RESTAURANT = "restaurant"
    CANTEEN = "canteen"


class Delivery(IdKey, Base):
    __tablename__ = "delivery"

    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the delivery date (Brussels)
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PLANNED)
    departed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Stop(IdKey, Base):
    __tablename__ = "stop"
    __table_args__ = (UniqueConstraint("delivery_id", "sequence"),)

    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    sequence: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    place_kind: Mapped[str] = mapped_column(String(20))
    cold_room_id: Mapped[int | None] = mapped_column(ForeignKey("cold_room.id"))
    place_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))
    planned_at: Mapped[datetime]
    actual_at: Mapped[datetime | None]  # set by the handover


class Load(IdKey, Base):
    __tablename__ = "load"

    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    lot_reference: Mapped[str] = mapped_column(String(100), index=True)
    description: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(50))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit: Mapped[str] = mapped_column(String(20))
    consignor_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    consignee: Mapped[str] = mapped_column(String(200))
    label_max_c: Mapped[float | None] = mapped_column(Float)  # label storage temperature
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    pickup_stop_id: Mapped[int] = mapped_column(ForeignKey("stop.id"))
    drop_stop_id: Mapped[int] = mapped_column(ForeignKey("stop.id"))


class DepartureCheck(IdKey, Base):
    """Before leaving, each loaded zone was measured below its limit (pre-cooled)."""

    __tablename__ = "departure_check"
    __table_args__ = (UniqueConstraint("delivery_id", "zone_id"),)

    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    checked_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    checked_at: Mapped[datetime]
    temperature_c: Mapped[float] = mapped_column(Float)
    limit_c: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(20))  # "readings" or "manual"


class Handover(IdKey, Base):
    """What happened at a stop: when, the zone temperatures, and the receiver's decisions."""

    __tablename__ = "handover"

    stop_id: Mapped[int] = mapped_column(ForeignKey("stop.id"), unique=True)
    at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    receiver_name: Mapped[str | None] = mapped_column(String(200))
    core_temperature_c: Mapped[float | None] = mapped_column(Float)  # hand thermometer


class HandoverZoneTemperature(IdKey, Base):
    """A zone's temperature at the handover, taken from the readings (calibrated)."""

    __tablename__ = "handover_zone_temperature"
    __table_args__ = (UniqueConstraint("handover_id", "zone_id"),)

    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    channel: Mapped[str] = mapped_column(String(20))
    temperature_c: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime]


class LoadDecision(IdKey, Base):
    """The receiver accepts or refuses one load (a refusal carries its reason)."""

    __tablename__ = "load_decision"
    __table_args__ = (UniqueConstraint("handover_id", "load_id"),)

    handover_id: Mapped[int] = mapped_column(ForeignKey("handover.id"), index=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("load.id"), index=True)
    accepted: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(String(500))
