"""Probes, where they were installed over time, their calibrations, and the probe ids heard
on the broker that nobody registered."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class Probe(IdKey, Base):
    __tablename__ = "probe"

    probe_id: Mapped[str] = mapped_column(String(32), unique=True)  # the id on the wire
    label: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class Installation(IdKey, Base):
    """Probe P measured zone Z (or cold room C) from `start` until `end` (open if None).

    A probe is at one place at a time: overlapping installations are refused
    (server/domain/installations.py), so a reading's device time names exactly one place.
    """

    __tablename__ = "installation"
    __table_args__ = (
        CheckConstraint("(zone_id IS NULL) <> (cold_room_id IS NULL)", name="one_place"),
        CheckConstraint('"end" IS NULL OR "end" > start', name="end_after_start"),
    )

    probe_id: Mapped[int] = mapped_column(ForeignKey("probe.id"), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    cold_room_id: Mapped[int | None] = mapped_column(ForeignKey("cold_room.id"), index=True)
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class Calibration(IdKey, Base):
    """A calibration of one channel of a probe: readings from `calibrated_at` on are
    corrected by `offset` until the next calibration of that channel."""

    __tablename__ = "calibration"

    probe_id: Mapped[int] = mapped_column(ForeignKey("probe.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    offset: Mapped[float] = mapped_column(Float)
    calibrated_at: Mapped[datetime]
    reference_instrument: Mapped[str] = mapped_column(String(200))
    performed_by: Mapped[str] = mapped_column(String(200))
    next_due: Mapped[date | None] = mapped_column(Date)
    # The verification itself (hardware/calibration.md); nullable: older rows lack them.
    reference_reading_c: Mapped[float | None] = mapped_column(Float)
    probe_reading_c: Mapped[float | None] = mapped_column(Float)
    reference_certificate: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[str | None] = mapped_column(String(10))  # server/core/calibration.py Result
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnknownProbe(IdKey, Base):
    """A probe id that sent readings but is not registered (server/domain/unknown_probes.py):
    when it was first and last heard (arrival, UTC), how many readings, on which topic. At
    most a few hundred rows, the most recently heard; registering the probe removes its row."""

    __tablename__ = "unknown_probe"

    probe_id: Mapped[str] = mapped_column(String(32), unique=True)  # the id on the wire
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)
    readings: Mapped[int] = mapped_column(Integer)
    last_topic: Mapped[str] = mapped_column(String(300))
