"""The gateway's durable spool: a local SQLite (WAL) file between the probes and the sink.

Accepted readings are committed here BEFORE the gateway acknowledges the message (MQTT
PUBACK or serial ACK). The drainer sends the oldest rows to the sink in batches and deletes
only what the sink confirmed, so a crash, a sink outage or a restart loses nothing.
The same file keeps the quarantine (rejected input, for inspection) and each probe's latest
status.

The spool keeps one row per accepted message (its readings as compact JSON): committing and
draining then cost one row per message, not per reading. A message already waiting in the
spool (a redelivery: same probe, same first and last seq and time) is not spooled twice; its
readings are the duplicate count. Duplicates that arrive after delivery are harmless: every
sink is idempotent on (probe, channel, time_ms).
"""

from __future__ import annotations

import dataclasses
import json
import operator
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coldchain.protocol import ProbeStatus, Reading, ReadingRow
from coldchain.readingstore.sqlite import connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    probe TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    n INTEGER NOT NULL,
    arrived_ms INTEGER NOT NULL,
    readings TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS pending_message
    ON pending (probe, first_seq, first_ms, last_seq, last_ms);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    topic TEXT,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_reason ON quarantine (reason);
CREATE TABLE IF NOT EXISTS probe_status (
    probe TEXT PRIMARY KEY,
    time_ms INTEGER NOT NULL,  -- the status's device time, else its arrival time
    received_ms INTEGER NOT NULL,
    source TEXT NOT NULL,
    online INTEGER NOT NULL,
    status TEXT NOT NULL
);
"""

# Whole batches go in and out as ONE JSON parameter or result: sqlite3 releases the GIL on
# every row step, and in a busy process each step then waits for the GIL again (measured:
# row-by-row take() spent ~90 us per row). One statement, one step.
_INSERT_PENDING = """
INSERT OR IGNORE INTO pending
    (probe, first_seq, first_ms, last_seq, last_ms, n, arrived_ms, readings)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->7
FROM json_each(?)
"""
# The oldest messages whose readings add up to at most ?2 (and always the oldest one), among
# the oldest ?1. The running sum reads only ids and counts; the readings are read for the
# messages taken only (with ?1 messages' readings in the window, a take cost 2 us per reading
# taken at 10 readings per message, measured).
_TAKE = """
SELECT MIN(id), MAX(id), MIN(arrived_ms), SUM(n), COUNT(*),
    json_group_array(json_array(probe, readings))
FROM (
    SELECT id, probe, arrived_ms, readings, n FROM pending
    WHERE id <= (
        SELECT MAX(id) FROM (
            SELECT id, SUM(n) OVER (ORDER BY id) AS upto
            FROM (SELECT id, n FROM pending ORDER BY id LIMIT ?1)
        )
        WHERE upto <= ?2 OR id = (SELECT MIN(id) FROM pending)
    )
    ORDER BY id
)
"""

# One probe's readings as they arrived together, oldest first: as Reading objects, or as the
# rows the intake's validator gives (`coldchain.protocol.parse_reading_rows`: no Reading
# object built per reading) with their probe id.
Message = tuple[Sequence[Reading], int]  # (readings of one probe, arrival ms)
RowsMessage = tuple[str, Sequence[ReadingRow], int]  # (probe, its readings' rows, arrival ms)


# A reading's row in the spool (clock_synced as JSON true/false, 1/0 in rows spooled before):
# one C call per reading, about 15 % cheaper than a list built in Python.
_row = operator.attrgetter("channel", "time_ms", "seq", "value", "fault", "clock_synced")


def _pending_row(message: Message | RowsMessage) -> list[object]:
    if len(message) == 3:
        probe, rows, arrived_ms = message
    else:
        readings, arrived_ms = message
        probe, rows = readings[0].probe_id, list(map(_row, readings))
    first, last = rows[0], rows[-1]
    # Nested in the commit's one JSON parameter (encoded once, in C) and stored with `->`,
    # which keeps each number's text as Python wrote it: the floats come back exactly.
    return [probe, first[2], first[1], last[2], last[1], len(rows), arrived_ms, rows]


def _readings(probe: str, blob: str) -> list[Reading]:
    return [Reading(probe, c, t, s, v, f, bool(u)) for c, t, s, v, f, u in json.loads(blob)]


def decode_spooled(spooled: str) -> list[Reading]:
    """The readings of a `Batch.spooled` text (base.SpooledRowsSink describes its layout)."""
    return [r for probe, blob in json.loads(spooled) for r in _readings(probe, blob)]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A rejected message or line, kept as received."""

    received_ms: int
    source: str  # "mqtt", "serial:<port>", "sink"
    topic: str | None
    reason: str
    detail: str
    payload: bytes
    id: int | None = None


@dataclass(slots=True)
class Batch:
    """Oldest spooled messages, for one sink write: their readings as the spool keeps them
    (`spooled`, decoded only by a sink that needs Reading objects) and the spool id range."""

    spooled: str = "[]"
    count: int = 0  # readings in the batch
    first_id: int | None = None
    last_id: int | None = None
    oldest_arrival_ms: int | None = None

    @property
    def readings(self) -> list[Reading]:
        return decode_spooled(self.spooled)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    status: ProbeStatus
    received_ms: int
    source: str


class Spool:
    """Two connections: the intake writes with one, the drainer reads and deletes with the other.

    `fsync=True` makes each commit survive a power cut (synchronous=FULL); a killed process
    never loses a commit either way (WAL).
    """

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = path
        sync = "FULL" if fsync else "NORMAL"
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._wconn = connect(path, synchronous=sync)
        self._wconn.executescript(_SCHEMA)
        # The drainer's deletes need no fsync: one lost by a power cut only means the batch is
        # sent again, and the sinks are idempotent.
        self._rconn = connect(path, synchronous="NORMAL")
        (self._depth,) = self._rconn.execute("SELECT COALESCE(SUM(n), 0) FROM pending").fetchone()
        self._depth_lock = threading.Lock()
        self._per_message = 1.0  # readings per message in the last batch taken (take)

    # --- intake side ------------------------------------------------------------------------

    def commit(
        self,
        messages: Sequence[Message | RowsMessage],
        quarantined: Sequence[Quarantined] = (),
        statuses: Sequence[StatusUpdate] = (),
        released: Sequence[int] = (),
    ) -> int:
        """Make messages (one probe's readings, as Reading objects or rows with the probe id,
        and the arrival ms), rejects and statuses durable in one transaction, and delete the
        quarantined items `released` by a replay in the same one (stored and released
        together, or neither). Returns how many readings were new (the rest: duplicates)."""
        added = 0
        with self._write_lock:
            conn = self._wconn
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = [_pending_row(m) for m in messages if m[-2]]  # not empty
                if rows:
                    (last_id,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM pending").fetchone()
                    conn.execute(_INSERT_PENDING, (json.dumps(rows, separators=(",", ":")),))
                    (added,) = conn.execute(
                        "SELECT COALESCE(SUM(n), 0) FROM pending WHERE id > ?", (last_id,)
                    ).fetchone()
                if quarantined:
                    conn.executemany(
                        "INSERT INTO quarantine "
                        "(received_ms, source, topic, reason, detail, payload) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (q.received_ms, q.source, q.topic, q.reason, q.detail, q.payload)
                            for q in quarantined
                        ],
                    )
                if released:
                    conn.executemany(
                        "DELETE FROM quarantine WHERE id = ?", [(i,) for i in released]
                    )
                for update in statuses:
                    # A status older than the stored one (a late redelivery) never wins.
                    conn.execute(
                        "INSERT INTO probe_status "
                        "(probe, time_ms, received_ms, source, online, status) "
                        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (probe) DO UPDATE SET "
                        "time_ms = excluded.time_ms, received_ms = excluded.received_ms, "
                        "source = excluded.source, online = excluded.online, "
                        "status = excluded.status WHERE excluded.time_ms >= probe_status.time_ms",
                        (
                            update.status.probe_id,
                            update.status.time_ms or update.received_ms,
                            update.received_ms,
                            update.source,
                            int(update.status.online),
                            json.dumps(dataclasses.asdict(update.status)),
                        ),
                    )
            except BaseException:
                # Broad on purpose: any exit, KeyboardInterrupt included, must end the transaction
                # (or the connection keeps the write lock). Nothing is swallowed: re-raised.
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        with self._depth_lock:
            self._depth += added
        return added

    # --- drainer side -----------------------------------------------------------------------

    def take(self, limit: int) -> Batch:
        """The oldest pending messages holding at most `limit` readings (at least one message)."""
        # Messages to look at: `limit` readings' worth at twice the last batch's readings per
        # message (the running sum costs ~0.8 us per message looked at), never more than
        # `limit` (a message holds one reading at least). Too few only makes a smaller batch.
        scan = min(limit, int(2 * limit / self._per_message) + 64)
        with self._read_lock:
            first_id, last_id, oldest, count, messages, blob = self._rconn.execute(
                _TAKE, (scan, limit)
            ).fetchone()
        if first_id is None:
            # Empty: the count is exactly 0, whatever it drifted to (a replay by
            # `coldchain gateway quarantine replay` in another process adds rows this
            # process did not count).
            with self._depth_lock:
                self._depth = 0
            return Batch()
        self._per_message = max(1.0, count / messages)
        return Batch(blob, int(count), first_id, last_id, oldest)

    def remove(self, first_id: int, last_id: int) -> None:
        """Delete a delivered batch. Batches are always the oldest rows, so a range is exact."""
        with self._read_lock:
            conn = self._rconn
            conn.execute("BEGIN IMMEDIATE")
            try:
                (removed,) = conn.execute(
                    "SELECT COALESCE(SUM(n), 0) FROM pending WHERE id BETWEEN ? AND ?",
                    (first_id, last_id),
                ).fetchone()
                conn.execute("DELETE FROM pending WHERE id BETWEEN ? AND ?", (first_id, last_id))
            except BaseException:
                # Broad on purpose: any exit, KeyboardInterrupt included, must end the transaction
                # (or the connection keeps the write lock). Nothing is swallowed: re-raised.
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        with self._depth_lock:
            self._depth = max(0, self._depth - int(removed))

    def move_to_quarantine(self, batch: Batch, reason: str, detail: str, now_ms: int) -> None:
        """The sink refused a batch for good: keep its readings in the quarantine, unspool them."""
        if batch.first_id is None or batch.last_id is None:
            return
        payload = json.dumps([dataclasses.asdict(r) for r in batch.readings]).encode()
        item = Quarantined(now_ms, "sink", None, reason, detail[:500], payload)
        self.commit([], [item])
        self.remove(batch.first_id, batch.last_id)

    # --- inspection ---------------------------------------------------------------------------

    def depth(self) -> int:
        with self._depth_lock:
            return int(self._depth)

    def oldest_arrival_ms(self) -> int | None:
        with self._read_lock:
            row = self._rconn.execute(
                "SELECT arrived_ms FROM pending ORDER BY id LIMIT 1"
            ).fetchone()
        return None if row is None else int(row[0])

    def quarantine(
        self,
        limit: int = 100,
        reason: str | None = None,
        *,
        ids: Sequence[int] = (),
        oldest_first: bool = False,
        after_id: int = 0,
    ) -> list[Quarantined]:
        """Newest first (oldest first for a replay, from `after_id` on); only `reason`, only
        `ids` when given."""
        sql = "SELECT id, received_ms, source, topic, reason, detail, payload FROM quarantine"
        where: list[str] = ["id > ?"]
        params: list[object] = [after_id]
        if reason is not None:
            where.append("reason = ?")
            params.append(reason)
        if ids:
            where.append(f"id IN ({','.join('?' * len(ids))})")
            params.extend(ids)
        sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY id {'ASC' if oldest_first else 'DESC'} LIMIT ?"
        params.append(limit)
        with self._read_lock:
            rows = self._rconn.execute(sql, params).fetchall()
        return [
            Quarantined(row[1], row[2], row[3], row[4], row[5], bytes(row[6]), id=row[0])
            for row in rows
        ]

    def purge_quarantine(self, before_ms: int) -> int:
        """Delete quarantined items received before `before_ms` (after inspection). Returns how
        many went."""
        with self._write_lock:
            conn = self._wconn
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute("DELETE FROM quarantine WHERE received_ms < ?", (before_ms,))
            except BaseException:
                # Broad on purpose: any exit, KeyboardInterrupt included, must end the transaction
                # (or the connection keeps the write lock). Nothing is swallowed: re-raised.
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        return int(cur.rowcount)

    def quarantine_counts(self) -> dict[str, int]:
        with self._read_lock:
            rows = self._rconn.execute(
                "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY reason"
            ).fetchall()
        return {str(reason): int(n) for reason, n in rows}

    def statuses(self) -> dict[str, dict[str, object]]:
        """Latest status per probe: the validated fields plus when and where it arrived."""
        with self._read_lock:
            rows = self._rconn.execute(
                "SELECT probe, received_ms, source, status FROM probe_status ORDER BY probe"
            ).fetchall()
        out: dict[str, dict[str, object]] = {}
        for probe, received_ms, source, status in rows:
            out[probe] = json.loads(status) | {"received_ms": received_ms, "source": source}
        return out

    def close(self) -> None:
        with self._write_lock:
            self._wconn.close()
        with self._read_lock:
            self._rconn.close()
