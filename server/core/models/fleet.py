"""Vans with their zones, the van pool, and cold rooms (with loans to cooperatives)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey


class ZoneKind(StrEnum):
    COMPARTMENT = "compartment"
    THERMO_BOX = "thermo_box"


class Van(IdKey, Base):
    __tablename__ = "van"

    name: Mapped[str] = mapped_column(String(200))
    plate: Mapped[str] = mapped_column(String(20), unique=True)
    # The cooperative that registered the van and manages it.
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class Zone(IdKey, Base):
    """A temperature-controlled space of a van: a compartment or a thermo-box."""

    __tablename__ = "zone"
    __table_args__ = (UniqueConstraint("van_id", "name"),)

    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))


class VanPoolEntry(IdKey, Base):
    """Cooperative C may use van V (the owner is always in the pool)."""

    __tablename__ = "van_pool"
    __table_args__ = (UniqueConstraint("van_id", "cooperative_id"),)

    van_id: Mapped[int] = mapped_column(ForeignKey("van.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class ColdRoom(IdKey, Base):
    __tablename__ = "cold_room"

    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    category: Mapped[str] = mapped_column(String(50))  # product category (alerts profile code)
    address: Mapped[str | None] = mapped_column(String(500))
    # A storage temperature stricter than the category's (a product's label, AFSCA G-007),
    # and why (« étiquette du fromage au lait cru : ≤ 4 °C »): alerts/limits.py applies it.
    label_max_c: Mapped[float | None] = mapped_column(Float)
    label_reason: Mapped[str | None] = mapped_column(String(200))


class ColdRoomLoan(IdKey, Base):
    """A cold room lent to a cooperative: its hygiene officer and admin see it."""

    __tablename__ = "cold_room_loan"
    __table_args__ = (UniqueConstraint("cold_room_id", "cooperative_id"),)

    cold_room_id: Mapped[int] = mapped_column(ForeignKey("cold_room.id"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
