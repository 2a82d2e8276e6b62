"""The embedded reading store: one SQLite file, for a single cooperative and the one-command start.

`(probe, channel, time_ms)` is the primary key, so writing a reading twice leaves one row.
The first write wins: a later reading for a stored key with other fields never changes the
row; it is kept in `reading_conflict` with the stored one (same transaction). WAL mode lets
the gateway write while the server reads, from other threads or processes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from coldchain.protocol import Reading
from coldchain.readingstore.base import Conflict, fingerprint_fields

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
-- Dropped: every write paid for it (1.2 of 5.2 us of CPU per reading at 10 per message, and a
-- third of the file); a probe's readings of all channels are read through the primary key,
-- channel by channel (_PROBE_CHANNELS).
DROP INDEX IF EXISTS reading_probe_time;
CREATE TABLE IF NOT EXISTS reading_conflict (
    probe TEXT NOT NULL,
    channel TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    digest TEXT NOT NULL,  -- fingerprint() of the new reading: one row per distinct conflict
    stored_seq INTEGER NOT NULL,
    stored_value REAL,
    stored_fault TEXT,
    stored_clock_synced INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    value REAL,
    fault TEXT,
    clock_synced INTEGER NOT NULL,
    received_ms INTEGER NOT NULL,
    PRIMARY KEY (probe, channel, time_ms, digest)
) WITHOUT ROWID;
"""

_CONFLICT_COLUMNS = (
    "probe, channel, time_ms, stored_seq, stored_value, stored_fault, stored_clock_synced, "
    "seq, value, fault, clock_synced, received_ms"
)
# A batch in the spool's layout (base.SpooledRowsSink), read inside SQLite: the gateway's
# drainer builds no Reading object per reading. Oldest first: `r` depends on `m`, so the
# nested loop runs m outside, each json_each in array order; `m.key, r.key` (the message's
# and the reading's place in the batch) say which came first.
_SPOOLED_ROWS = """
SELECT m.value->>0 AS probe, r.value->>0 AS channel, r.value->>1 AS time_ms,
    r.value->>2 AS seq, r.value->>3 AS value, r.value->>4 AS fault, r.value->>5 AS synced,
    m.key AS m_key, r.key AS r_key
FROM json_each(?1) AS m, json_each(m.value->>1) AS r
"""
# First write wins: a stored row is never updated, and of two new readings for one key in a
# batch the older is stored (the tie broken by the place in the batch). Inserted in key
# order: a batch interleaves hundreds of probes, and sorted it walks the B-trees once instead
# of jumping between their leaves (measured: 8.5 -> 7.2 us of CPU per reading with 10
# readings per message, 12 -> 8 with 1, the sort included).
_INSERT_SPOOLED = f"""
INSERT INTO reading (probe, channel, time_ms, seq, value, fault, clock_synced)
SELECT probe, channel, time_ms, seq, value, fault, synced FROM ({_SPOOLED_ROWS})
WHERE true ORDER BY probe, channel, time_ms, m_key, r_key
ON CONFLICT (probe, channel, time_ms) DO NOTHING
"""
# Then each reading of the batch whose key is stored (by now) with other fields is a
# conflict, kept once per distinct reading (digest); RETURNING gives only the rows inserted,
# so a retried batch does not report its conflicts again. Identical readings: duplicates.
# (The batch first, then a primary-key seek per reading: CROSS JOIN keeps that order.)
_KEEP_CONFLICTS = f"""
WITH b AS MATERIALIZED ({_SPOOLED_ROWS})
INSERT OR IGNORE INTO reading_conflict (probe, channel, time_ms, digest,
    stored_seq, stored_value, stored_fault, stored_clock_synced,
    seq, value, fault, clock_synced, received_ms)
SELECT b.probe, b.channel, b.time_ms, coldchain_fingerprint(b.seq, b.value, b.fault, b.synced),
    s.seq, s.value, s.fault, s.clock_synced, b.seq, b.value, b.fault, b.synced, ?2
FROM b CROSS JOIN reading AS s
    ON s.probe = b.probe AND s.channel = b.channel AND s.time_ms = b.time_ms
WHERE NOT (s.seq IS b.seq AND s.value IS b.value AND s.fault IS b.fault
    AND s.clock_synced IS b.synced)
RETURNING {_CONFLICT_COLUMNS}
"""

_COLUMNS = "probe, channel, time_ms, seq, value, fault, clock_synced"
# A probe's channels, one primary-key seek each (a loose index scan: SQLite has no skip-scan
# without ANALYZE statistics), so that all of a probe's readings in a period are read by
# seeking (probe, channel, start) per channel instead of scanning the probe's whole history.
_PROBE_CHANNELS = """
WITH RECURSIVE channels(c) AS (
    SELECT (SELECT MIN(channel) FROM reading WHERE probe = :probe)
    UNION ALL
    SELECT (SELECT MIN(channel) FROM reading WHERE probe = :probe AND channel > c)
    FROM channels WHERE c IS NOT NULL
)
"""
_PROBE_PERIOD = """
FROM channels CROSS JOIN reading
    ON reading.probe = :probe AND reading.channel = channels.c
    AND reading.time_ms >= :start AND reading.time_ms < :end
"""

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


def _conflict(row: Sequence[object]) -> Conflict:
    """A `reading_conflict` row (_CONFLICT_COLUMNS) as a Conflict."""
    probe, channel, t, s_seq, s_val, s_fault, s_sync, seq, val, fault, sync, rec = row
    stored = from_row((probe, channel, t, s_seq, s_val, s_fault, s_sync))
    received_ms = int(rec)  # type: ignore[call-overload]
    return Conflict(stored, from_row((probe, channel, t, seq, val, fault, sync)), received_ms)


class SqliteReadingStore:
    """`ReadingStore` on SQLite, plus `write` (the gateway's `sqlite` sink)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = connect(path)
        # Checkpoint every 10,000 WAL pages (~40 MB) instead of 1,000: a batch rewrites the
        # same B-tree leaves over and over, and each checkpoint copies every page changed since
        # the last one into the file (measured, 300,000 readings: 12.4 -> 10.0 us of CPU per
        # reading at 10 per message, 22 -> 17 at 1). Durability is unchanged (the WAL holds
        # the commits either way); the WAL file keeps that size once reached.
        self._conn.execute("PRAGMA wal_autocheckpoint=10000")
        # Called by _KEEP_CONFLICTS for conflicting readings only (rare): the same digest as
        # every sink's.
        self._conn.create_function("coldchain_fingerprint", 4, fingerprint_fields,
                                   deterministic=True)  # fmt: skip
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def write(self, readings: Iterable[Reading]) -> int:
        """Store readings idempotently in one transaction; returns how many were given."""
        batch = list(readings)
        self.write_first(batch)
        return len(batch)

    def write_first(self, readings: Sequence[Reading]) -> list[Conflict]:
        """Store the readings whose key is new, in one transaction; a reading for a stored key
        with other fields is kept in `reading_conflict` (the stored row unchanged). Returns the
        conflicts recorded now (one already kept, from a retried batch, is not returned again)."""
        if not readings:
            return []
        spooled = json.dumps(
            [[r.probe_id, json.dumps([to_row(r)[1:]])] for r in readings], separators=(",", ":")
        )
        return self.write_first_spooled(spooled, len(readings))

    def write_first_spooled(self, spooled: str, count: int) -> list[Conflict]:
        """`write_first` for a batch in the spool's layout (base.SpooledRowsSink), all in SQL."""
        received_ms = int(time.time() * 1000)
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                inserted = conn.execute(_INSERT_SPOOLED, (spooled,)).rowcount
                # Every reading stored now: no key was there before, none came twice, so no
                # conflict is possible (the usual case; the check costs ~2 us per reading).
                rows = []
                if inserted != count:
                    rows = conn.execute(_KEEP_CONFLICTS, (spooled, received_ms)).fetchall()
            except BaseException:
                # Broad on purpose: any exit, KeyboardInterrupt included, must end the transaction
                # (or the connection keeps the write lock). Nothing is swallowed: re-raised.
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return [_conflict(row) for row in rows]

    def conflicts(self, probe_ids: Sequence[str] | None = None, limit: int = 100) -> list[Conflict]:
        """Kept conflicts of the given probes (None: all), newest received first (then the
        latest instant)."""
        sql = f"SELECT {_CONFLICT_COLUMNS} FROM reading_conflict"
        params: list[object] = []
        if probe_ids is not None:
            if not probe_ids:
                return []
            sql += f" WHERE probe IN ({', '.join('?' * len(probe_ids))})"
            params.extend(probe_ids)
        sql += " ORDER BY received_ms DESC, time_ms DESC, probe, channel LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return [_conflict(row) for row in rows]

    def readings(
        self, probe_id: str, start_ms: int, end_ms: int, channel: str | None = None
    ) -> list[Reading]:
        params: dict[str, object] = {"probe": probe_id, "start": start_ms, "end": end_ms}
        if channel is not None:
            params["channel"] = channel
            sql = (
                f"SELECT {_COLUMNS} FROM reading WHERE probe = :probe AND channel = :channel"
                " AND time_ms >= :start AND time_ms < :end ORDER BY time_ms"
            )
        else:
            sql = f"{_PROBE_CHANNELS} SELECT {_COLUMNS} {_PROBE_PERIOD} ORDER BY time_ms, channel"
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
        params: dict[str, object] = {
            "probe": probe_id,
            "start": -(2**63) if start_ms is None else start_ms,
            "end": 2**63 - 1 if end_ms is None else end_ms,
        }
        if probe_id is not None:  # seeks per channel, as `readings`
            sql = f"{_PROBE_CHANNELS} SELECT COUNT(*) {_PROBE_PERIOD}"
        else:  # the whole table (the operator's status, tests): a scan either way
            sql = "SELECT COUNT(*) FROM reading WHERE time_ms >= :start AND time_ms < :end"
        with self._lock:
            (n,) = self._conn.execute(sql, params).fetchone()
        return int(n)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
