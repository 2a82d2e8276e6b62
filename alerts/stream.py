"""One probe channel's recent readings in device-time order, with checkpoints for late data.

Readings that arrive in order step the machine directly. A reading older than the newest
one is inserted where it belongs and the machine is replayed from the last checkpoint
before it, so the result never depends on arrival order. Readings are kept for the
reorder history (a setting); older ones cannot be placed and are refused as too old.
"""

from __future__ import annotations

import bisect
from typing import Any

from alerts.findings import Record
from alerts.machine import ChannelMachine, Snapshot

Row = tuple[int, float | None, str | None, bool]  # time_ms, value, fault, clock synced

# What `Stream.add` did with a reading (ints: this is the per-reading hot path).
QUIET, CHANGED, LATE, DUPLICATE, TOO_OLD = 0, 1, 2, 3, 4


class Stream:
    __slots__ = (
        "base",
        "ck_every",
        "ck_idx",
        "ck_next",
        "ck_snap",
        "ck_t",
        "closed",
        "history_ms",
        "machine",
        "new_closed",
        "replay_from",
        "rows",
        "times",
    )

    def __init__(self, machine: ChannelMachine, history_ms: int, checkpoint_every_ms: int) -> None:
        self.machine = machine
        self.history_ms = history_ms
        self.ck_every = checkpoint_every_ms
        self.rows: list[Row] = []
        self.times: list[int] = []
        self.base = 0  # absolute index of rows[0]
        # Checkpoint k: machine state after the first ck_idx[k] readings (absolute index),
        # whose last reading was at ck_t[k]. Checkpoint 0 always exists.
        self.ck_idx: list[int] = [0]
        self.ck_t: list[int] = [-(2**62)]
        self.ck_snap: list[Snapshot] = [machine.snapshot()]
        self.ck_next = -(2**62)
        self.closed: list[tuple[int, Record]] = []  # (absolute index that closed it, record)
        self.new_closed: list[Record] = []  # closed since the location last published
        self.replay_from: int | None = None  # earliest late reading waiting for a replay

    @property
    def last_t(self) -> int:
        return self.times[-1] if self.times else -(2**62)

    @property
    def oldest_placeable_t(self) -> int:
        """Readings at or before this time can no longer be placed in order."""
        return self.ck_t[0]

    def add(self, t: int, v: float | None, fault: str | None, synced: bool) -> int:
        """Place one reading. QUIET: judged, nothing to publish; CHANGED: judged, a record
        changed; LATE: placed, replay pending; DUPLICATE or TOO_OLD: not placed."""
        times = self.times
        if self.replay_from is None and (not times or t > times[-1]):
            times.append(t)
            self.rows.append((t, v, fault, synced))
            machine = self.machine
            machine.step(t, v, fault, synced)
            if machine.closed or t >= self.ck_next:
                self._after_step(t)
            return CHANGED if machine.dirty or self.new_closed else QUIET
        i = bisect.bisect_left(times, t)
        if i < len(times) and times[i] == t:
            return DUPLICATE  # (probe, channel, time) identifies a reading
        if t <= self.ck_t[0]:
            return TOO_OLD
        times.insert(i, t)
        self.rows.insert(i, (t, v, fault, synced))
        if i < len(times) - 1 or self.replay_from is not None:
            if self.replay_from is None or t < self.replay_from:
                self.replay_from = t
            return LATE
        self.machine.step(t, v, fault, synced)  # landed at the end after all
        self._after_step(t)
        return CHANGED

    def _after_step(self, t: int) -> None:
        machine = self.machine
        if machine.closed:
            index = self.base + len(self.rows) - 1
            for record in machine.closed:
                self.closed.append((index, record))
                self.new_closed.append(record)
            machine.closed = []
        if t >= self.ck_next:
            self._checkpoint(t)

    def _checkpoint(self, t: int) -> None:
        self.ck_idx.append(self.base + len(self.rows))
        self.ck_t.append(t)
        self.ck_snap.append(self.machine.snapshot())
        self.ck_next = t + self.ck_every
        self._trim(t)

    def _trim(self, now_t: int) -> None:
        horizon = now_t - self.history_ms
        k = bisect.bisect_left(self.ck_t, horizon) - 1  # last checkpoint before the horizon
        if k <= 0:
            return
        cut = self.ck_idx[k] - self.base
        del self.rows[:cut], self.times[:cut]
        self.base = self.ck_idx[k]
        del self.ck_idx[:k], self.ck_t[:k], self.ck_snap[:k]
        self.closed = [(i, r) for i, r in self.closed if r.end_ms is None or r.end_ms >= horizon]

    def replay(self, from_t: int | None = None) -> int | None:
        """Re-judge from the last checkpoint before `from_t` (or the pending late reading).

        Returns the device time the replay started from, None when there was nothing to do.
        """
        start = self.replay_from if from_t is None else from_t
        if from_t is not None and self.replay_from is not None:
            start = min(from_t, self.replay_from)
        self.replay_from = None
        if start is None or start > self.last_t:
            return None
        k = max(0, bisect.bisect_left(self.ck_t, start) - 1)  # its last reading is before start
        index = self.ck_idx[k]
        del self.ck_idx[k + 1 :], self.ck_t[k + 1 :], self.ck_snap[k + 1 :]
        machine = self.machine
        machine.restore(self.ck_snap[k])
        self.closed = [(i, r) for i, r in self.closed if i < index]
        self.ck_next = self.ck_t[k] + self.ck_every if k > 0 else -(2**62)
        rows = self.rows
        for pos in range(index - self.base, len(rows)):
            t, v, fault, synced = rows[pos]
            machine.step(t, v, fault, synced)
            if machine.closed:
                self.closed.extend((self.base + pos, r) for r in machine.closed)
                machine.closed = []
            if t >= self.ck_next:
                self.ck_idx.append(self.base + pos + 1)
                self.ck_t.append(t)
                self.ck_snap.append(machine.snapshot())
                self.ck_next = t + self.ck_every
        self.new_closed = []
        return self.ck_t[k]

    def records(self) -> list[Record]:
        """Every record the stream knows: retained closed ones and the open ones."""
        found = [r for _, r in self.closed if r.severity]
        found.extend(r for r in self.machine.records() if r is not None and r.severity)
        return found

    # --- save / restore: the oldest checkpoint and the rows after it ------------------------

    def to_state(self) -> dict[str, Any]:
        return {
            "base": self.ck_idx[0],
            "ck_t": self.ck_t[0],
            "snapshot": self.ck_snap[0].to_state(),
            "rows": [list(r) for r in self.rows[self.ck_idx[0] - self.base :]],
        }

    def load_state(self, state: dict[str, Any], legacy: bool = False) -> None:
        """Rebuild exactly: restore the oldest checkpoint and replay the rows after it.
        `legacy`: a state of version 1, whose episodes are converted (Snapshot.from_state)."""
        ctx = self.machine.ctx
        snap = Snapshot.from_state(state["snapshot"], ctx.timeline, legacy, ctx.in_transport)
        self.base = int(state["base"])
        self.ck_idx, self.ck_t, self.ck_snap = [self.base], [int(state["ck_t"])], [snap]
        self.rows = [(int(t), v, f, bool(s)) for t, v, f, s in state["rows"]]
        self.times = [r[0] for r in self.rows]
        self.closed, self.new_closed = [], []
        self.machine.restore(snap)
        self.ck_next = -(2**62)
        if self.rows:
            self.replay(self.rows[0][0])
