"""Sealing: a closed delivery's record is written once per version, hashed and chained to
the previous record of the same cooperative. Late readings (a probe's backlog) that change
the content give a new version that says what changed; older versions stay.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.profiles import ProductProfile
from coldchain.readingstore.base import ReadingStore
from server.core.access import Viewer
from server.core.db import WRITE
from server.core.models import Delivery, DeliveryStatus, Organisation, utcnow
from server.core.models.records import ChainPurge, SealedRecord
from server.domain import categories, deliveries
from server.records import canonical, document
from server.records.changes import describe, sentences

log = logging.getLogger(__name__)
ENVELOPE = ("version", "sequence", "sealed_at", "changes", "change_facts", "supersedes")


def content_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ENVELOPE}


def latest_version(session: Session, delivery_id: int) -> SealedRecord | None:
    return session.scalar(
        select(SealedRecord)
        .where(SealedRecord.delivery_id == delivery_id)
        .order_by(SealedRecord.version.desc())
        .limit(1)
    )


def chain_head(session: Session, cooperative_id: int) -> tuple[int, str]:
    """(sequence, hash) of the cooperative's newest record, or of the purge anchor."""
    last = session.scalar(
        select(SealedRecord)
        .where(SealedRecord.cooperative_id == cooperative_id)
        .order_by(SealedRecord.sequence.desc())
        .limit(1)
    )
    if last is not None:
        return last.sequence, last.record_hash
    return chain_anchor(session, cooperative_id)


def chain_anchor(session: Session, cooperative_id: int) -> tuple[int, str]:
    """(sequence, hash) the cooperative's chain starts after: its last purge's last record,
    or (0, the genesis hash) when nothing was ever purged."""
    purge = session.scalar(
        select(ChainPurge)
        .where(ChainPurge.cooperative_id == cooperative_id)
        .order_by(ChainPurge.last_sequence.desc())
        .limit(1)
    )
    return (purge.last_sequence, purge.last_hash) if purge else (0, canonical.GENESIS)


def seal(
    session: Session,
    store: ReadingStore,
    delivery: Delivery,
    profiles: Mapping[str, ProductProfile],
    now: datetime,
) -> SealedRecord | None:
    """Seal the delivery's record (or a new version); None when nothing changed.
    The caller commits. Refuses a delivery that is not closed."""
    if delivery.status != DeliveryStatus.CLOSED:
        raise ValueError(f"delivery {delivery.id} is not closed")
    # One writer per cooperative chain (PostgreSQL row lock; SQLite has one writer anyway).
    session.scalar(
        select(Organisation.id).where(Organisation.id == delivery.cooperative_id).with_for_update()
    )
    content = document.build(session, store, delivery, profiles)
    previous = latest_version(session, delivery.id)
    envelope: dict[str, Any] = {
        "version": 1,
        "changes": [],
        "change_facts": [],
        "supersedes": None,
    }
    if previous is not None:
        old = content_of(json.loads(previous.document))
        # Compare like with like: the old document went through the canonical rounding, and
        # one of an older format lacks what this code adds (document.in_shape_of): that
        # alone is no change, and makes no new version.
        new = document.in_shape_of(json.loads(canonical.dumps(content)), old.get("format"))
        if canonical.dumps(old) == canonical.dumps(new):
            return None
        changes = describe(old, new)
        envelope = {
            "version": previous.version + 1,
            "changes": sentences(changes),  # French, as every record states them
            "change_facts": changes,  # what a document in another language says them from
            "supersedes": previous.record_hash,
        }
    sequence, previous_hash = chain_head(session, delivery.cooperative_id)
    doc = {**content, **envelope, "sequence": sequence + 1, "sealed_at": document.iso(now)}
    text = canonical.dumps(doc)
    record = SealedRecord(
        cooperative_id=delivery.cooperative_id,
        sequence=sequence + 1,
        delivery_id=delivery.id,
        version=envelope["version"],
        sealed_at=now.replace(microsecond=0),
        previous_hash=previous_hash,
        record_hash=canonical.record_hash(previous_hash, text),
        document=text,
    )
    session.add(record)
    session.flush()
    log.info(
        "sealed delivery %s version %s (cooperative %s, #%s, %s)",
        delivery.id,
        record.version,
        record.cooperative_id,
        record.sequence,
        record.record_hash,
    )
    return record


def seal_pending(
    session_factory: Any,
    store: ReadingStore,
    profiles: Mapping[str, ProductProfile],
    now: datetime,
    reseal_window: timedelta,
) -> list[SealedRecord]:
    """Seal every closed delivery without a record, and reseal those closed within the
    window whose content changed (late readings). One transaction per delivery."""
    with session_factory() as session:
        sealed_ids = set(session.scalars(select(SealedRecord.delivery_id).distinct()))
        candidates = [
            d.id
            for d in session.scalars(
                select(Delivery)
                .where(Delivery.status == DeliveryStatus.CLOSED)
                .order_by(Delivery.id)
            )
            if d.id not in sealed_ids
            or (d.closed_at is not None and d.closed_at >= now - reseal_window)
        ]
    done: list[SealedRecord] = []
    for delivery_id in candidates:
        with session_factory() as session:
            session.connection(execution_options={WRITE: True})  # SQLite: take the write lock
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            try:
                record = seal(session, store, delivery, profiles, now)
                session.commit()
            except Exception:
                # Broad on purpose: one delivery that cannot be sealed now (reading store or
                # database down, a category no longer in the profiles, a bug) must not stop
                # the others: logged with its traceback, retried at the next run.
                log.exception("delivery %s could not be sealed", delivery_id)
                session.rollback()
                continue
            if record is not None:
                done.append(record)
    return done


def close_and_seal(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    delivery_id: int,
    closed_at: datetime | None,
    now: datetime,
) -> Delivery:
    """Close the delivery (server/domain/deliveries.py: its rules, committed), then seal its
    record at once. The API and the delivery page both close through here."""
    delivery = deliveries.close(session, viewer, delivery_id, closed_at, now)
    try:
        # A new transaction: on SQLite it must take the write lock first (server/core/db.py
        # WRITE), or its insert fails at once when another process wrote since it read.
        session.connection(execution_options={WRITE: True})
        if seal(session, store, delivery, categories.profiles(), utcnow()) is not None:
            session.commit()
    except Exception:
        # Broad on purpose: the close is already committed, so whatever sealing raises (store
        # or database down, a bug) must not turn the close into an error. The delivery
        # stays closed; the sealing timer (server/records/sealing_timer.py) seals it.
        session.rollback()
        log.exception("sealing delivery %d at close failed; left to the sealing timer", delivery.id)
    return delivery
