"""The reading-store interface: how the server (and tests) read stored readings back.

Implemented for the embedded SQLite store and for InfluxDB (InfluxQL over /query, the
one query language InfluxDB 1.x, 2.x and 3.x all serve). Both answer the same questions
the same way for the same data (tests/gateway/ checks it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from coldchain.protocol import Reading


class ReadingStore(Protocol):
    def readings(
        self, probe_id: str, start_ms: int, end_ms: int, channel: str | None = None
    ) -> list[Reading]:
        """Readings of a probe with start_ms <= device time < end_ms, oldest first
        (ties broken by channel)."""
        ...

    def latest(self, probe_ids: Sequence[str] | None = None) -> dict[tuple[str, str], Reading]:
        """The newest reading per (probe, channel), for the given probes or all."""
        ...

    def count(
        self,
        probe_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        """How many readings are stored (optionally for one probe and a time range)."""
        ...

    def conflicts(self, probe_ids: Sequence[str] | None = None, limit: int = 100) -> list[Conflict]:
        """Kept conflicts (first write wins), of the given probes or all, newest received
        first, at most `limit` (docs/storage.md#first-write-wins)."""
        ...

    def close(self) -> None: ...


class SinkError(Exception):
    """A sink could not take a batch now (down, timeout, auth): retry later, keep the spool."""


class SinkRejected(SinkError):
    """The sink refused the batch for good (malformed point, type conflict): retrying is useless."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A reading that arrived for a (probe, channel, time) already stored with other fields.

    The stored reading stays as it is (first write wins); the new one is kept aside with it.
    `received_ms` is when the store saw the new one.
    """

    stored: Reading
    new: Reading
    received_ms: int


def fingerprint(r: Reading) -> str:
    """A short, stable digest of a reading's fields besides its identity: two conflicting
    readings with the same fingerprint are the same conflict (a retried batch), kept once."""
    return fingerprint_fields(r.seq, r.value, r.fault, int(r.clock_synced))


def fingerprint_fields(seq: int, value: float | None, fault: str | None, synced: int) -> str:
    """`fingerprint` from the fields themselves (what SQL hands a registered function)."""
    text = f"{seq}|{value!r}|{fault}|{synced}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


# A reading as a plain tuple, in Reading's field order (probe, channel, time_ms, seq, value,
# fault, clock_synced): what the InfluxDB sinks check and write, with no object per reading.
ReadingTuple = tuple[str, str, int, int, float | None, str | None, bool]


def first_writes(
    rows: Sequence[ReadingTuple],
    stored: dict[tuple[str, str, int], ReadingTuple],
    received_ms: int,
) -> tuple[list[ReadingTuple], list[Conflict]]:
    """Split a batch against what is stored: the readings to write (new keys, first in the
    batch wins), and the conflicts (a key stored, or earlier in the batch, with other fields).
    Identical readings are duplicates: in neither list. `stored` is updated with the new ones."""
    new: list[ReadingTuple] = []
    conflicts: list[Conflict] = []
    for row in rows:
        key = row[:3]
        kept = stored.get(key)
        if kept is None:
            stored[key] = row
            new.append(row)
        elif kept != row:
            conflicts.append(Conflict(Reading(*kept), Reading(*row), received_ms))
    return new, conflicts


class ReadingSink(Protocol):
    """Where the gateway's drainer writes batches: SQLite, InfluxDB 1.x, or /api/v2/write.

    `write` returns only once the sink has confirmed the whole batch (synchronously), and is
    idempotent on (probe, channel, time_ms). It raises `SinkError` otherwise.
    `write_first` does the same and never changes a stored reading: a reading for a stored
    (probe, channel, time_ms) with other fields is a conflict, kept aside by the sink and
    returned (only conflicts not already kept: a retried batch returns none again).
    """

    def write(self, readings: Sequence[Reading]) -> int: ...

    def write_first(self, readings: Sequence[Reading]) -> list[Conflict]: ...

    def close(self) -> None: ...


@runtime_checkable
class SpooledRowsSink(Protocol):
    """A sink that takes the gateway spool's batch text as it is, with no Reading objects
    built in Python (the SQLite sink parses it inside SQLite). The layout, produced by
    gateway/spool.py: a JSON array of `[probe, rows]` pairs, `rows` being the JSON text of
    `[[channel, time_ms, seq, value, fault, clock_synced (true/false or 1/0)], ...]`, oldest
    first; `count` is how many readings it holds. Same guarantees and result as
    `ReadingSink.write_first`."""

    def write_first_spooled(self, spooled: str, count: int) -> list[Conflict]: ...
