"""Sealed records: one row per version of a delivery's HACCP record, chained per cooperative.

The `document` column holds the canonical JSON (server/records/canonical.py) and is the
evidence; the other columns copy a few of its fields so they can be queried, and verification
checks that they agree with it. Rows are never updated: a correction is a new version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey


class SealedRecord(IdKey, Base):
    __tablename__ = "sealed_record"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "sequence"),
        UniqueConstraint("delivery_id", "version"),
    )

    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # position in the cooperative's chain, from 1
    # No foreign key: a sealed record outlives the delivery rows if they are ever removed.
    delivery_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    sealed_at: Mapped[datetime]
    previous_hash: Mapped[str] = mapped_column(String(64))  # 64 zeros for the first record
    record_hash: Mapped[str] = mapped_column(String(64))
    document: Mapped[str] = mapped_column(Text)


class ChainPurge(IdKey, Base):
    """Retention removed the start of a cooperative's chain: the chain now starts after
    `last_sequence`, whose hash was `last_hash` (verification anchors on it)."""

    __tablename__ = "sealed_record_purge"

    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    purged_at: Mapped[datetime]
    last_sequence: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    removed: Mapped[int] = mapped_column(Integer)
    cutoff: Mapped[datetime]


class SealedRecordImmutable(RuntimeError):
    """Something tried to update a sealed record in place."""


@event.listens_for(SealedRecord, "before_update")
def _refuse_update(_mapper: Any, _connection: Any, target: SealedRecord) -> None:
    raise SealedRecordImmutable(f"sealed record {target.id} cannot be changed: seal a new version")
