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
from server.records.wording import Words

# Why a record does not match: a `records` message key and its fields (`reason_text`).
Reason = tuple[str, dict[str, Any]]


def reason_text(reason: Reason, lang: str = "fr") -> str:
    key, fields = reason
    return Words(lang)(key, **fields)


@dataclass
class ChainReport:
    cooperative_id: int
    checked: int = 0
    head_hash: str = canonical.GENESIS
    first_bad: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    reason: Reason | None = None  # first_bad's, for another language than its `reason_fr`

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


def _mismatch(record: SealedRecord) -> Reason | None:
    """Why the record's stored fields disagree with its sealed document, if they do."""
    try:
        doc = json.loads(record.document)
    except ValueError:
        return "verify_unreadable_json", {}
    if not isinstance(doc, dict):
        return "verify_unreadable", {}
    stored = {
        "cooperative_id": (record.cooperative_id, doc.get("cooperative", {}).get("id")),
        "delivery_id": (record.delivery_id, doc.get("delivery", {}).get("id")),
        "version": (record.version, doc.get("version")),
        "sequence": (record.sequence, doc.get("sequence")),
        "sealed_at": (iso(record.sealed_at), doc.get("sealed_at")),
    }
    for name, (column, sealed) in stored.items():
        if column != sealed:
            return "verify_field_changed", {
                "name": name,
                "column": repr(column),
                "sealed": repr(sealed),
            }
    return None


def record_problem(record: SealedRecord) -> str | None:
    """What is wrong with one record on its own, if anything (in French): its document no
    longer hashes to its hash, or a stored column disagrees with the document (the public
    verification page, server/records/verification.py, asks this)."""
    reason = _problem(record)
    return None if reason is None else reason_text(reason)


def _problem(record: SealedRecord) -> Reason | None:
    if canonical.record_hash(record.previous_hash, record.document) != record.record_hash:
        return "verify_hash_mismatch", {}
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
        reason: Reason | None = None
        if sequence != expected_sequence:
            # Its own sequence edited, or a record removed: name the one that really follows.
            successor = next((i for i, _s, p in links if p == previous_hash), None)
            if successor is not None and successor != record_id:
                record = session.get(SealedRecord, successor)
                assert record is not None
                reason = "verify_sequence_changed", {}
            else:
                reason = "verify_record_missing", {"sequence": expected_sequence}
        elif record.previous_hash != previous_hash:
            reason = "verify_link_mismatch", {}
        else:
            reason = _problem(record)
        if reason is not None:
            report.first_bad = {
                "record_id": record.id,
                "sequence": record.sequence,
                "delivery_id": record.delivery_id,
                "version": record.version,
                "reason_fr": reason_text(reason),
            }
            report.reason = reason
            return report
        session.expunge(record)  # the document is not needed any more
        report.checked += 1
        expected_sequence = record.sequence + 1
        previous_hash = record.record_hash
    report.head_hash = previous_hash
    return report


def cooperatives_with_records(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(SealedRecord.cooperative_id).distinct())))
