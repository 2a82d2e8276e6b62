"""The embedded reading store: one SQLite file, for a single cooperative and the one-command start.

`(probe, channel, time_ms)` is the primary key, so writing a reading twice leaves one row
(the later write wins, as an InfluxDB point with the same series and time would). WAL mode
lets the gateway write while the server reads, from other threads or processes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from coldchain.protocol import Reading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reading (
    probe TEXT NOT NULL,
    channel TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    value REAL,
    fault TEXT,
    clock_synced INTEGER NOT NULL,
    PRIMARY KEY (probe, channel, time_ms)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reading_probe_time ON reading (probe, time_ms);
"""

_UPSERT = """
INSERT INTO reading (probe, channel, time_ms, seq, value, fault, clock_synced)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (probe, channel, time_ms) DO UPDATE SET
    seq = excluded.seq, value = excluded.value, fault = excluded.fault,
    clock_synced = excluded.clock_synced
"""

_COLUMNS = "probe, channel, time_ms, seq, value, fault, clock_synced"

Row = tuple[str, str, int, int, float | None, str | None, int]


def connect(path: Path, *, synchronous: str = "NORMAL") -> sqlite3.Connection:
    """A WAL-mode connection usable from several threads (callers serialise with a lock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def to_row(r: Reading) -> Row:
    return (r.probe_id, r.channel, r.time_ms, r.seq, r.value, r.fault, int(r.clock_synced))


def from_row(row: Sequence[object]) -> Reading:
    probe, channel, time_ms, seq, value, fault, synced = row
    return Reading(
        probe_id=str(probe),
        channel=str(channel),
        time_ms=int(time_ms),  # type: ignore[call-overload]
        seq=int(seq),  # type: ignore[call-overload]
        value=None if value is None else float(value),  # type: ignore[arg-type]
        fault=None if fault is None else str(fault),
        clock_synced=bool(synced),
    )


class SqliteReadingStore:
    """`ReadingStore` on SQLite, plus `write` (the gateway's `sqlite` sink)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = connect(path)
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def write(self, readings: Iterable[Reading]) -> int:
        """Store readings idempotently in one transaction; returns how many were given."""
        rows = [to_row(r) for r in readings]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_UPSERT, rows)
            except BaseException:
                # Broad on purpose: any exit, KeyboardInterrupt included, must end the transaction
                # (or the connection keeps the write lock). Nothing is swallowed: re-raised.
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return len(rows)

    def readings(
        self, probe_id: str, start_ms: int, end_ms: int, channel: str | None = None
    ) -> list[Reading]:
        sql = f"SELECT {_COLUMNS} FROM reading WHERE probe = ? AND time_ms >= ? AND time_ms < ?"
        params: list[object] = [probe_id, start_ms, end_ms]
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        sql += " ORDER BY time_ms, channel"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [from_row(row) for row in rows]

    def latest(self, probe_ids: Sequence[str] | None = None) -> dict[tuple[str, str], Reading]:
        # The primary key orders (probe, channel, time_ms): MAX per group is an index seek.
        sql = (
            f"SELECT {_COLUMNS} FROM reading WHERE (probe, channel, time_ms) IN "
            "(SELECT probe, channel, MAX(time_ms) FROM reading"
        )
        params: list[object] = []
        if probe_ids is not None:
            if not probe_ids:
                return {}
            sql += f" WHERE probe IN ({', '.join('?' * len(probe_ids))})"
            params.extend(probe_ids)
        sql += " GROUP BY probe, channel)"
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        out = {}
        for row in rows:
            reading = from_row(row)
            out[(reading.probe_id, reading.channel)] = reading
        return out

    def count(
        self,
        probe_id: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        sql = "SELECT COUNT(*) FROM reading WHERE 1 = 1"
        params: list[object] = []
        if probe_id is not None:
            sql += " AND probe = ?"
            params.append(probe_id)
        if start_ms is not None:
            sql += " AND time_ms >= ?"
            params.append(start_ms)
        if end_ms is not None:
            sql += " AND time_ms < ?"
            params.append(end_ms)
        with self._lock:
            (n,) = self._conn.execute(sql, params).fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
