"""Verification: recompute each cooperative's chain and name the first record that does
not match (content edited, a stored field changed, or a record missing from the chain).

Removing the newest record leaves a valid shorter chain: the head hash printed by
`coldchain records verify` (and on each PDF) is what to write down to catch that too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.models.records import SealedRecord
from server.records import canonical
from server.records.document import iso
from server.records.sealing import chain_anchor


@dataclass
class ChainReport:
    cooperative_id: int
    checked: int = 0
    head_hash: str = canonical.GENESIS
    first_bad: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cooperative_id": self.cooperative_id,
            "ok": self.ok,
            "checked": self.checked,
            "head_hash": self.head_hash,
            "first_bad": self.first_bad,
        }


def _mismatch(record: SealedRecord) -> str | None:
    """Why the record's stored fields disagree with its sealed document, if they do."""
    try:
        doc = json.loads(record.document)
    except ValueError:
        return "document illisible (JSON invalide)"
    if not isinstance(doc, dict):
        return "document illisible"
    stored = {
        "cooperative_id": (record.cooperative_id, doc.get("cooperative", {}).get("id")),
        "delivery_id": (record.delivery_id, doc.get("delivery", {}).get("id")),
        "version": (record.version, doc.get("version")),
        "sequence": (record.sequence, doc.get("sequence")),
        "sealed_at": (iso(record.sealed_at), doc.get("sealed_at")),
    }
    for name, (column, sealed) in stored.items():
        if column != sealed:
            return f"champ {name} modifié ({column!r} ; scellé : {sealed!r})"
    return None


def record_problem(record: SealedRecord) -> str | None:
    """What is wrong with one record on its own, if anything: its document no longer hashes
    to its hash, or a stored column disagrees with the document (the public verification
    page, server/records/verification.py, asks this; the chain walk below asks it too)."""
    if canonical.record_hash(record.previous_hash, record.document) != record.record_hash:
        return "l'empreinte SHA-256 ne correspond plus au contenu"
    return _mismatch(record)


def verify_chain(session: Session, cooperative_id: int) -> ChainReport:
    report = ChainReport(cooperative_id)
    last_purged, previous_hash = chain_anchor(session, cooperative_id)
    expected_sequence = last_purged + 1
    # The chain's shape first (light columns), then each document one at a time: bounded memory.
    links = session.execute(
        select(SealedRecord.id, SealedRecord.sequence, SealedRecord.previous_hash)
        .where(SealedRecord.cooperative_id == cooperative_id)
        .order_by(SealedRecord.sequence, SealedRecord.id)
    ).all()
    for record_id, sequence, _ in links:
        record = session.get(SealedRecord, record_id)
        assert record is not None
        reason = None
        if sequence != expected_sequence:
            # Its own sequence edited, or a record removed: name the one that really follows.
            successor = next((i for i, _s, p in links if p == previous_hash), None)
            if successor is not None and successor != record_id:
                record = session.get(SealedRecord, successor)
                assert record is not None
                reason = "numéro d'ordre modifié"
            else:
                reason = f"enregistrement n° {expected_sequence} manquant avant celui-ci"
        elif record.previous_hash != previous_hash:
            reason = "le lien vers l'enregistrement précédent ne correspond pas"
        else:
            reason = record_problem(record)
        if reason is not None:
            report.first_bad = {
                "record_id": record.id,
                "sequence": record.sequence,
                "delivery_id": record.delivery_id,
                "version": record.version,
                "reason_fr": reason,
            }
            return report
        session.expunge(record)  # the document is not needed any more
        report.checked += 1
        expected_sequence = record.sequence + 1
        previous_hash = record.record_hash
    report.head_hash = previous_hash
    return report


def cooperatives_with_records(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(SealedRecord.cooperative_id).distinct())))
