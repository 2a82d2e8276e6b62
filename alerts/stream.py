"""One probe channel's recent readings in device-time order, with checkpoints for late data.

Readings that arrive in order step the machine directly. A reading older than the newest
one is inserted where it belongs and the machine is replayed from the last checkpoint
before it, so the result never depends on arrival order.

What is kept is bounded (docs/alerts.md, "Saved state and memory"): the machine's own state
(open episodes, counters), a checkpoint every `checkpoint_every_ms` for the reorder history
(`history_ms`: late readings are placed up to that far back, older ones are refused as too
old), and the raw readings of the last `window_ms` only. A replay that starts before the
kept readings asks `fetch` (the reading store, read by the caller: the engine does no I/O)
for the readings in between. Without `fetch` the readings of the whole reorder history are
kept, as the engine alone has nowhere else to find them.
"""

from __future__ import annotations

import bisect
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from alerts.findings import Record
from alerts.machine import ChannelMachine, Snapshot

Row = tuple[int, float | None, str | None, bool]  # time_ms, value, fault, clock synced
# The stored readings of this channel with start_ms <= device time < end_ms, oldest first.
Fetch = Callable[[int, int], list[Row]]
# The same for any channel: (location id, probe id, channel, start_ms, end_ms) -> rows. What
# the caller gives the engine to read its reading store (calibrated as the engine's input).
History = Callable[[str, str, str, int, int], list[Row]]


class HistoryUnavailable(RuntimeError):
    """The reading store could not answer: the readings cannot be judged now. Raised by a
    `History` and through the engine (never turned into a rejected reading). The stream
    that asked is unchanged, its replay still pending, but the rest of that batch was not
    judged: the caller judges it again from its saved state (the alert worker does)."""


# What `Stream.add` did with a reading (ints: this is the per-reading hot path).
QUIET, CHANGED, LATE, DUPLICATE, TOO_OLD = 0, 1, 2, 3, 4
NEVER = -(2**62)
# The readings after the last checkpoint are saved in two parts (`to_state`, `recent_state`):
# the newest, with the machine, at every reading; once more than this many, they are sealed
# into the other, saved then. Each reading is written some SEAL_EVERY / 2 times and a sealed
# one some 30 min / (SEAL_EVERY x the interval) times, instead of once per reading until the
# next checkpoint (60 times at 30 s).
SEAL_EVERY = 10


class Stream:
    __slots__ = (
        "ck_every",
        "ck_next",
        "ck_snap",
        "ck_t",
        "ck_unsaved",
        "closed",
        "extra",
        "fetch",
        "history_ms",
        "machine",
        "new_closed",
        "placed",
        "replay_from",
        "rows",
        "rows_from",
        "rw_unsaved",
        "seal_t",
        "times",
        "unsaved",
        "window_ms",
    )

    def __init__(
        self,
        machine: ChannelMachine,
        history_ms: int,
        checkpoint_every_ms: int,
        window_ms: int | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        self.machine = machine
        self.history_ms = history_ms
        self.ck_every = checkpoint_every_ms
        self.fetch = fetch
        # Raw readings kept in memory: the whole reorder history when nothing can fetch them.
        self.window_ms = history_ms if fetch is None or window_ms is None else window_ms
        self.rows: list[Row] = []
        self.times: list[int] = []
        self.rows_from = NEVER  # every placed reading at or after this time is in `rows`
        # Late readings older than `rows_from` (not yet in the store, perhaps): replayed with
        # the store's, kept until they leave the reorder history.
        self.extra: list[Row] = []
        # Checkpoint k: the machine state after every reading up to device time ck_t[k].
        # Checkpoint 0 always exists; it is the oldest a late reading can be placed after.
        self.ck_t: list[int] = [NEVER]
        self.ck_snap: list[Snapshot] = [machine.snapshot()]
        self.ck_next = NEVER
        self.closed: list[tuple[int, Record]] = []  # (time of the reading that closed it, record)
        self.new_closed: list[Record] = []  # closed since the location last published
        self.replay_from: int | None = None  # earliest late reading waiting for a replay
        # Changed since the engine's state was last saved: the machine and the newest
        # readings (every reading), the readings after the last checkpoint up to `seal_t`
        # (every SEAL_EVERY readings), the checkpoints and the readings up to the last one
        # (every half hour, and after late data): saved apart (`to_state`, `recent_state`,
        # `ck_state`).
        self.unsaved = True
        self.rw_unsaved = True
        self.ck_unsaved = True
        self.seal_t = NEVER
        self.placed = 0  # readings placed (duplicates and readings too old are not)

    @property
    def last_t(self) -> int:
        return self.times[-1] if self.times else NEVER

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
            self.unsaved = True
            self.placed += 1
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
        self.unsaved = self.rw_unsaved = self.ck_unsaved = True
        if t < self.rows_from:  # older than the readings kept: replayed with the store's
            j = bisect.bisect_left(self.extra, t, key=_time)
            if j < len(self.extra) and self.extra[j][0] == t:
                return DUPLICATE
            self.extra.insert(j, (t, v, fault, synced))
            self.placed += 1
            if self.replay_from is None or t < self.replay_from:
                self.replay_from = t
            return LATE
        times.insert(i, t)
        self.rows.insert(i, (t, v, fault, synced))
        self.placed += 1
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
            self.ck_unsaved = True
            for record in machine.closed:
                self.closed.append((t, record))
                self.new_closed.append(record)
            machine.closed = []
        if t >= self.ck_next:
            self._checkpoint(t)

    def _checkpoint(self, t: int) -> None:
        self.ck_unsaved = self.rw_unsaved = True
        first = len(self.ck_t) == 1 and self.ck_t[0] == NEVER
        self.ck_t.append(t)
        self.ck_snap.append(self.machine.snapshot())
        self.ck_next = t + self.ck_every
        if first:  # each channel at its own phase: not every channel's checkpoint at once
            machine = self.machine
            name = f"{machine.probe_id}/{machine.channel}".encode()
            self.ck_next -= zlib.crc32(name) % self.ck_every
        self._trim(t)

    def _trim(self, now_t: int) -> None:
        horizon = now_t - self.history_ms
        k = bisect.bisect_left(self.ck_t, horizon) - 1  # last checkpoint before the horizon
        if k > 0:
            del self.ck_t[:k], self.ck_snap[:k]
            self.closed = [
                (i, r) for i, r in self.closed if r.end_ms is None or r.end_ms >= horizon
            ]
            oldest = self.ck_t[0]
            if self.extra and self.extra[0][0] <= oldest:
                del self.extra[: bisect.bisect_right(self.extra, oldest, key=_time)]
        # Readings no replay can need (at or before the oldest checkpoint), and with a store
        # to read them from, those older than the window.
        keep_from = self.ck_t[0] + 1
        if self.fetch is not None:
            keep_from = max(keep_from, now_t - self.window_ms)
        if keep_from > self.rows_from:
            cut = bisect.bisect_left(self.times, keep_from)
            del self.rows[:cut], self.times[:cut]
            self.rows_from = keep_from

    def _rows_after(self, t0: int) -> Iterator[Row]:
        """Every reading after device time `t0`, in order: from the store (and the late
        ones kept aside) before the kept window, then the kept ones."""
        if t0 + 1 < self.rows_from and self.fetch is not None:
            merged = {r[0]: r for r in self.extra if t0 < r[0] < self.rows_from}
            for row in self.fetch(t0 + 1, self.rows_from):
                merged[row[0]] = row  # the store's reading wins: first write wins there
            yield from (merged[t] for t in sorted(merged))
        rows = self.rows
        yield from rows[bisect.bisect_right(self.times, t0) :]

    def replay(self, from_t: int | None = None) -> int | None:
        """Re-judge from the last checkpoint before `from_t` (or the pending late reading).

        Returns the device time the replay started from, None when there was nothing to do.
        """
        start = self.replay_from if from_t is None else from_t
        if from_t is not None and self.replay_from is not None:
            start = min(from_t, self.replay_from)
        if start is None or start > self.last_t:
            self.replay_from = None
            return None
        k = max(0, bisect.bisect_left(self.ck_t, start) - 1)  # its last reading is before start
        t0 = self.ck_t[k]
        # Read first: if the store cannot answer (HistoryUnavailable), nothing has changed
        # and the replay is still pending.
        rows = list(self._rows_after(t0))
        self.replay_from = None
        self.unsaved = self.rw_unsaved = self.ck_unsaved = True
        del self.ck_t[k + 1 :], self.ck_snap[k + 1 :]
        machine = self.machine
        machine.restore(self.ck_snap[k])
        self.closed = [(i, r) for i, r in self.closed if i <= t0]
        self.ck_next = t0 + self.ck_every if k > 0 else NEVER
        for t, v, fault, synced in rows:
            machine.step(t, v, fault, synced)
            if machine.closed:
                self.closed.extend((t, r) for r in machine.closed)
                machine.closed = []
            if t >= self.ck_next:
                self.ck_t.append(t)
                self.ck_snap.append(machine.snapshot())
                self.ck_next = t + self.ck_every
        self.new_closed = []
        return t0

    def records(self) -> list[Record]:
        """Every record the stream knows: retained closed ones and the open ones."""
        found = [r for _, r in self.closed if r.severity]
        found.extend(r for r in self.machine.records() if r is not None and r.severity)
        return found

    # --- save / restore ------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        """What changes at every reading: the machine, and the readings after the last
        checkpoint and `seal_t`; more than SEAL_EVERY of them are sealed first (then
        `recent_state` changed too). Restored exactly with `recent_state` and `ck_state`
        (`load_state`), nothing judged again."""
        start = self._unsealed()
        if len(self.rows) - start > SEAL_EVERY:
            self.seal_t = self.times[-1]
            self.rw_unsaved = True
            start = len(self.rows)
        return {
            "machine": self.machine.to_state(),
            "ck_next": self.ck_next,
            "seal_t": self.seal_t,
            "rows": self.rows[start:],
            "placed": self.placed,
        }

    def recent_state(self) -> dict[str, Any]:
        """The readings after the last checkpoint up to `seal_t` (call after `to_state`)."""
        return {"rows": self.rows[self._sealed() : self._unsealed()]}

    def ck_state(self) -> dict[str, Any]:
        """What changes at a checkpoint (every `checkpoint_every_ms`), at a replay or when a
        record closes: the checkpoints, the readings up to the last one, the late readings
        kept aside, the closed records."""
        return {
            "checkpoints": [
                [t, s.to_state()] for t, s in zip(self.ck_t, self.ck_snap, strict=True)
            ],
            "rows_from": self.rows_from,
            "rows": self.rows[: self._sealed()],
            "extra": self.extra,
            "closed": [[t, r.to_state()] for t, r in self.closed],
        }

    def _sealed(self) -> int:
        """How many kept readings are at or before the last checkpoint."""
        return bisect.bisect_right(self.times, self.ck_t[-1])

    def _unsealed(self) -> int:
        """How many kept readings are at or before the last checkpoint or `seal_t`."""
        return bisect.bisect_right(self.times, max(self.ck_t[-1], self.seal_t))

    def load_state(
        self, state: dict[str, Any], ck: dict[str, Any], recent: dict[str, Any] | None
    ) -> None:
        """Restore what `to_state`, `recent_state` and `ck_state` saved (`recent` None: a
        state of version 3, saved before `recent_state`)."""
        ctx = self.machine.ctx
        timeline, in_transport = ctx.timeline, ctx.in_transport
        self.ck_t, self.ck_snap = [], []
        for t, snap in ck["checkpoints"]:
            self.ck_t.append(int(t))
            self.ck_snap.append(Snapshot.from_state(snap, timeline, False, in_transport))
        if not self.ck_t:
            raise ValueError("a saved stream without its oldest checkpoint")
        self.ck_next = int(state["ck_next"])
        self.rows_from = int(ck["rows_from"])
        self.seal_t = NEVER if recent is None else int(state["seal_t"])
        sealed = [] if recent is None else recent["rows"]
        self.rows = [_row(r) for r in ck["rows"]]
        self.rows += [_row(r) for r in sealed]
        self.rows += [_row(r) for r in state["rows"]]
        self.times = [r[0] for r in self.rows]
        if any(a >= b for a, b in zip(self.times, self.times[1:], strict=False)):
            raise ValueError("saved readings out of order (parts saved at different times?)")
        self.extra = [_row(r) for r in ck["extra"]]
        self.closed = [
            (int(t), Record.from_state(r, _limit_at(timeline, r))) for t, r in ck["closed"]
        ]
        self.new_closed, self.replay_from = [], None
        self.placed = int(state["placed"])
        machine = self.machine
        machine.restore(Snapshot.from_state(state["machine"], timeline, False, in_transport))
        machine.dirty = False
        self.unsaved = self.rw_unsaved = self.ck_unsaved = False

    def load_legacy_state(self, state: dict[str, Any], legacy: bool = False) -> None:
        """A stream saved in one whole-document state (versions 1 and 2): the oldest
        checkpoint and every reading after it. Rebuilt by replaying them. `legacy`: a state
        of version 1, whose episodes are converted (Snapshot.from_state)."""
        ctx = self.machine.ctx
        snap = Snapshot.from_state(state["snapshot"], ctx.timeline, legacy, ctx.in_transport)
        self.ck_t, self.ck_snap = [int(state["ck_t"])], [snap]
        self.rows = [_row(r) for r in state["rows"]]
        self.times = [r[0] for r in self.rows]
        self.rows_from = self.ck_t[0] + 1
        self.placed = len(self.rows)
        self.extra, self.closed, self.new_closed = [], [], []
        self.machine.restore(snap)
        self.ck_next = NEVER
        if self.rows:
            self.replay(self.rows[0][0])


def _time(row: Row) -> int:
    return row[0]


def _row(saved: Any) -> Row:
    t, v, fault, synced = saved
    return int(t), None if v is None else float(v), fault, bool(synced)


def _limit_at(timeline: Any, record: dict[str, Any]) -> Any:
    return None if record["limit_t_ms"] is None else timeline.at(record["limit_t_ms"])
