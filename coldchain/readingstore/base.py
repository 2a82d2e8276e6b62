"""The reading-store interface: how the server (and tests) read stored readings back.

Implemented for the embedded SQLite store and for InfluxDB (InfluxQL over /query, the
one query language InfluxDB 1.x, 2.x and 3.x all serve). Both answer the same questions
the same way for the same data (tests/gateway/ checks it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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

    def close(self) -> None: ...


class SinkError(Exception):
    """A sink could not take a batch now (down, timeout, auth): retry later, keep the spool."""


class SinkRejected(SinkError):
    """The sink refused the batch for good (malformed point, type conflict): retrying is useless."""


class ReadingSink(Protocol):
    """Where the gateway's drainer writes batches: SQLite, InfluxDB 1.x, or /api/v2/write.

    `write` returns only once the sink has confirmed the whole batch (synchronously), and is
    idempotent on (probe, channel, time_ms). It raises `SinkError` otherwise.
    """

    def write(self, readings: Sequence[Reading]) -> int: ...

    def close(self) -> None: ...
