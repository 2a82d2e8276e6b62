"""Retention: sealed records (and the readings they carry) older than
`records.retention_days` are removed from the start of each cooperative's chain, never
below 2 years (docs/sources.md#retention). The purge is logged, and its anchor row lets the
verification start the shortened chain where the removed part ended."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from server.core.db import WRITE
from server.core.models.records import ChainPurge, SealedRecord
from server.records.verify import cooperatives_with_records, verify_chain

log = logging.getLogger(__name__)
MIN_RETENTION_DAYS = 730  # docs/sources.md#retention: at least 2 years, whatever the settings


@dataclass(frozen=True)
class Purged:
    cooperative_id: int
    removed: list[tuple[int, int, int, str]]  # (sequence, delivery, version, hash)
    refused: str | None = None


def purge(
    session_factory: Any, retention_days: int, now: datetime, dry_run: bool = False
) -> list[Purged]:
    if retention_days < MIN_RETENTION_DAYS:
        raise ValueError(f"retention below {MIN_RETENTION_DAYS} days refused (2 years minimum)")
    cutoff = now - timedelta(days=retention_days)
    results = []
    with session_factory() as session:
        cooperatives = cooperatives_with_records(session)
    for cooperative_id in cooperatives:
        with session_factory() as session:
            session.connection(execution_options={WRITE: True})  # SQLite: take the write lock
            report = verify_chain(session, cooperative_id)
            if not report.ok:
                # A broken chain is evidence of tampering: keep everything for the investigation.
                log.error(
                    "purge skipped for cooperative %s: chain broken at %s",
                    cooperative_id,
                    report.first_bad,
                )
                results.append(Purged(cooperative_id, [], refused="chaîne invalide"))
                continue
            old = session.execute(
                select(
                    SealedRecord.sequence,
                    SealedRecord.delivery_id,
                    SealedRecord.version,
                    SealedRecord.record_hash,
                    SealedRecord.sealed_at,
                )
                .where(SealedRecord.cooperative_id == cooperative_id)
                .order_by(SealedRecord.sequence)
            ).all()
            prefix = []
            for sequence, delivery_id, version, digest, sealed_at in old:
                if sealed_at >= cutoff:
                    break  # only the start of the chain goes: the rest stays verifiable
                prefix.append((sequence, delivery_id, version, digest))
            if prefix and not dry_run:
                last_sequence, _, _, last_hash = prefix[-1]
                session.add(
                    ChainPurge(
                        cooperative_id=cooperative_id,
                        purged_at=now,
                        last_sequence=last_sequence,
                        last_hash=last_hash,
                        removed=len(prefix),
                        cutoff=cutoff,
                    )
                )
                session.execute(
                    delete(SealedRecord).where(
                        SealedRecord.cooperative_id == cooperative_id,
                        SealedRecord.sequence <= last_sequence,
                    )
                )
                session.commit()
            for sequence, delivery_id, version, digest in prefix:
                log.info(
                    "%s cooperative %s record #%s (delivery %s v%s, %s) sealed before %s",
                    "would remove" if dry_run else "removed",
                    cooperative_id,
                    sequence,
                    delivery_id,
                    version,
                    digest,
                    cutoff.isoformat(),
                )
            results.append(Purged(cooperative_id, prefix))
    return results
