"""The state machine that judges one probe channel, reading by reading, in device-time order.

It is fed only in time order (the stream replays it from a checkpoint when a reading arrives
late), so its result depends on the set of readings, never on their arrival order.
Semantics and worked examples: docs/alerts.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.excursion import Applied, episode, from_warning_band_policy
from alerts.findings import AlertKind, Record, Severity
from alerts.judgement import Level, inside_limit, judge
from alerts.limits import MINUTE_MS, LimitTimeline, ZoneLimit
from alerts.schedules import Mode, Schedule, Window
from alerts.sensor import (
    JUMP_RATE_PER_MIN,
    JUMP_SLACK,
    STUCK_CHANNELS,
    fault_reading,
    is_jump,
    stuck_check,
)

TEMPERATURE = frozenset({"air", "product"})


@dataclass(frozen=True, slots=True)
class Context:
    """What every machine of a location shares: limits, windows and our chosen delays."""

    location_id: str
    timeline: LimitTimeline
    schedule: Schedule
    gap_ms: int  # no reading for this long is a data gap (and, live, a silent probe)
    door_max_ms: int
    door_critical_ms: int
    stuck_ms: int
    fault_clearance_ms: int
    in_transport: bool  # a van zone: the transport tolerance of its limit applies


_RECORD_SLOTS = ("high", "low", "door", "fault", "jump", "stuck", "susp")


def _copy(record: Record | None) -> Record | None:
    return None if record is None else record.clone()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A channel machine's state between two readings: a checkpoint the stream replays from,
    and (its oldest checkpoint) what the engine saves. It holds copies of the records, so
    that it can be restored more than once."""

    prev_t: int | None = None
    prev_v: float | None = None
    prev_judged: Applied | None = None  # limit and relaxation the reading at prev_t met
    susp_end: int = 0
    stuck_since: int = 0
    stuck_value: float | None = None
    jump_run: int = 0
    jump_last_v: float = 0.0
    jump_last_t: int = 0
    high: Record | None = None
    low: Record | None = None
    door: Record | None = None
    fault: Record | None = None
    jump: Record | None = None
    stuck: Record | None = None
    susp: Record | None = None

    def records(self) -> tuple[Record | None, ...]:
        return tuple(getattr(self, name) for name in _RECORD_SLOTS)

    def to_state(self) -> dict[str, Any]:
        """JSON-able. The format predates this class (and is what saved states hold): keep
        it, or version it. A limit is saved as the time it held at, found again on load."""
        return _state(self, self.records())

    @classmethod
    def from_state(
        cls,
        state: dict[str, Any],
        timeline: LimitTimeline,
        legacy: bool = False,
        in_transport: bool = False,
    ) -> Snapshot:
        """`legacy`: saved in state version 1, under the warning-band policy (its temperature
        episodes are converted: `alerts.excursion.from_warning_band_policy`)."""
        judged = None
        if state["prev_relax"] is not None and state["prev_t"] is not None:
            judged = (timeline.at(state["prev_t"]), float(state["prev_relax"]))
        records = {
            name: None
            if r is None
            else Record.from_state(
                r, None if r["limit_t_ms"] is None else timeline.at(r["limit_t_ms"])
            )
            for name, r in zip(_RECORD_SLOTS, state["records"], strict=True)
        }
        if legacy:
            for name in ("high", "low"):
                record = records[name]
                if record is not None:
                    records[name] = from_warning_band_policy(record, in_transport)
        return cls(
            prev_t=state["prev_t"],
            prev_v=state["prev_v"],
            prev_judged=judged,
            susp_end=state["susp_end"],
            stuck_since=state["stuck_since"],
            stuck_value=state["stuck_value"],
            jump_run=state["jump_run"],
            jump_last_v=state["jump_last_v"],
            jump_last_t=state["jump_last_t"],
            **records,
        )


def _state(
    machine: Snapshot | ChannelMachine, records: tuple[Record | None, ...]
) -> dict[str, Any]:
    """`Snapshot.to_state` of a snapshot, or of a machine as it is now."""
    judged = machine.prev_judged
    return {
        "prev_t": machine.prev_t,
        "prev_v": machine.prev_v,
        "prev_relax": None if judged is None else judged[1],
        "susp_end": machine.susp_end,
        "stuck_since": machine.stuck_since,
        "stuck_value": machine.stuck_value,
        "jump_run": machine.jump_run,
        "jump_last_v": machine.jump_last_v,
        "jump_last_t": machine.jump_last_t,
        "records": [None if r is None else r.to_state() for r in records],
    }


EMPTY = Snapshot()


class ChannelMachine:
    __slots__ = (
        "band_hi",
        "band_lim",
        "band_lo",
        "band_relax",
        "channel",
        "closed",
        "ctx",
        "dirty",
        "door",
        "fault",
        "high",
        "is_door",
        "is_temp",
        "jump",
        "jump_last_t",
        "jump_last_v",
        "jump_rate",
        "jump_run",
        "lim",
        "lim_hi",
        "lim_lo",
        "low",
        "prev_judged",
        "prev_t",
        "prev_v",
        "probe_id",
        "stuck",
        "stuck_since",
        "stuck_value",
        "susp",
        "susp_end",
        "track_stuck",
        "win",
        "win_hi",
        "win_lo",
    )

    def __init__(self, probe_id: str, channel: str, ctx: Context) -> None:
        self.probe_id = probe_id
        self.channel = channel
        self.ctx = ctx
        self.is_temp = channel in TEMPERATURE
        self.is_door = channel == "door"
        self.jump_rate = JUMP_RATE_PER_MIN.get(channel)
        self.track_stuck = channel in STUCK_CHANNELS
        self.dirty = False  # a record changed since the stream last looked
        self.restore(EMPTY)
        self.set_context(ctx)

    def set_context(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lim_lo = self.lim_hi = self.win_lo = self.win_hi = 0  # caches, refilled on use
        self.lim: ZoneLimit = ctx.timeline.at(0)
        self.win: Window | None = None
        # The values inside `band_lim` raised by `band_relax` (no excursion starts there).
        self.band_lim: ZoneLimit | None = None
        self.band_relax = 0.0
        self.band_lo = self.band_hi = 0.0

    # --- checkpoints ---------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return Snapshot(
            prev_t=self.prev_t,
            prev_v=self.prev_v,
            prev_judged=self.prev_judged,
            susp_end=self.susp_end,
            stuck_since=self.stuck_since,
            stuck_value=self.stuck_value,
            jump_run=self.jump_run,
            jump_last_v=self.jump_last_v,
            jump_last_t=self.jump_last_t,
            high=_copy(self.high),
            low=_copy(self.low),
            door=_copy(self.door),
            fault=_copy(self.fault),
            jump=_copy(self.jump),
            stuck=_copy(self.stuck),
            susp=_copy(self.susp),
        )

    def to_state(self) -> dict[str, Any]:
        """`snapshot().to_state()` without copying the records first (saved at every reading
        of the channel: alerts/stream.py, `Stream.to_state`)."""
        return _state(self, self.records())

    def restore(self, snap: Snapshot) -> None:
        self.prev_t = snap.prev_t
        self.prev_v = snap.prev_v
        self.prev_judged = snap.prev_judged
        self.susp_end = snap.susp_end
        self.stuck_since = snap.stuck_since
        self.stuck_value = snap.stuck_value
        self.jump_run = snap.jump_run
        self.jump_last_v = snap.jump_last_v
        self.jump_last_t = snap.jump_last_t
        self.high = _copy(snap.high)
        self.low = _copy(snap.low)
        self.door = _copy(snap.door)
        self.fault = _copy(snap.fault)
        self.jump = _copy(snap.jump)
        self.stuck = _copy(snap.stuck)
        self.susp = _copy(snap.susp)
        self.closed: list[Record] = []  # records closed by the last steps, taken by the stream

    def records(self) -> tuple[Record | None, ...]:
        return (self.high, self.low, self.door, self.fault, self.jump, self.stuck, self.susp)

    # --- the step ----------------------------------------------------------------------

    def finish(self, record: Record, end_ms: int, at_ms: int) -> None:
        """Close `record` (ended at `end_ms`) on the reading at `at_ms` that showed it."""
        record.close(end_ms)
        record.resolved_at_ms = at_ms
        # A door record's severity can fall when its close event arrives late: the publisher
        # must see it to withdraw what was said. Other records only ever rise.
        if record.severity is not None or record.kind is AlertKind.DOOR_OPEN:
            self.closed.append(record)
        self.dirty = True

    def step(self, t: int, v: float | None, fault: str | None, synced: bool) -> None:
        if fault is not None or v is None:
            fault_reading(self, t, fault or "no_value")
            return
        if self.fault is not None:
            self._clearing(self.fault, t, self.ctx.fault_clearance_ms, "fault")
        rate, prev_v, prev_t = self.jump_rate, self.prev_v, self.prev_t
        if rate is not None and prev_v is not None and prev_t is not None:
            if abs(v - prev_v) > JUMP_SLACK + rate * (t - prev_t) / MINUTE_MS:
                if is_jump(self, t, v):
                    return
            elif self.jump_run:
                self.jump_run = 0
        if self.jump is not None:
            self._clearing(self.jump, t, self.ctx.fault_clearance_ms, "jump")
        if self.track_stuck and (v == self.stuck_value or self.stuck is not None):
            stuck_check(self, t, v)
        elif self.track_stuck:
            self.stuck_value, self.stuck_since = v, t
        if not (self.is_temp or self.is_door):
            self.prev_t, self.prev_v = t, v
            return
        if not self.win_lo <= t < self.win_hi:
            self.win, self.win_lo, self.win_hi = self.ctx.schedule.at(t)
        window = self.win
        if self.is_door:
            self._judge_door(t, v, window)
            self.prev_t, self.prev_v = t, v
            return
        relax = 0.0
        if window is not None or self.susp is not None:
            if self._suspension(t, v, window):
                self.prev_t, self.prev_v, self.prev_judged = t, v, None
                return
            if window is not None:
                relax = window.relax_c
        self._judge_temperature(t, v, synced, relax)
        self.prev_t, self.prev_v = t, v

    def _clearing(self, record: Record, t: int, clearance_ms: int, slot: str) -> None:
        if record.clear_since is None or (
            self.prev_t is not None and t - self.prev_t > self.ctx.gap_ms
        ):
            record.clear_since = t  # clearance needs unbroken data: after a gap it starts again
        elif t - record.clear_since >= clearance_ms:
            self.finish(record, record.clear_since, t)
            setattr(self, slot, None)

    def _suspension(self, t: int, v: float, window: Window | None) -> bool:
        """Record the window in force; True when the reading must not be judged."""
        record = self.susp
        if record is not None and (window is None or record.start_ms != window.start_ms):
            self.finish(record, self.susp_end, t)
            record = self.susp = None
        if window is None:
            return False
        if record is None:
            record = self.susp = Record(
                AlertKind.SUSPENDED,
                self.probe_id,
                self.channel,
                window.start_ms,
                detail=f"{window.reason}|{window.mode}",
            )
            record.raise_to(Severity.INFO, t)
            self.susp_end = window.end_ms
        record.n += 1
        record.sum_v += v
        record.last_out_ms = t
        if record.peak is None or v > record.peak:
            record.peak = v
        self.dirty = True
        return window.mode is Mode.SUSPEND

    def _judge_door(self, t: int, v: float, window: Window | None) -> None:
        # The probe sends the door as events (on change): judged open until the close event.
        # Opened during a loading (or any) window, the door's time counts from the window's end.
        record = self.door
        if v >= 0.5:
            if record is None:
                record = self.door = Record(AlertKind.DOOR_OPEN, self.probe_id, self.channel, t)
                if window is not None:
                    record.beyond_since = window.end_ms
                    record.detail = f"{window.reason}|{window.mode}"
            record.n += 1
            self.dirty = True  # a figure changed, even when the door's span did not
            self.door_open_until(t)
        elif record is not None:
            self.door_open_until(t, closing=True)  # later readings may have moved it past t
            self.finish(record, t, t)
            self.door = None

    def door_open_until(self, t: int, closing: bool = False) -> bool:
        """The door is known open until device time `t` (a close event, or any later reading
        of the same probe). Severity is a function of that span only, so it does not depend
        on when the readings arrived. True when the record changed."""
        record = self.door
        if record is None or (t < record.last_out_ms and not closing):
            return False
        before = (record.severity, record.last_out_ms)
        record.last_out_ms = t
        start = record.start_ms if record.beyond_since is None else record.beyond_since
        open_for = t - start
        door_max, door_critical = self.ctx.door_max_ms, self.ctx.door_critical_ms
        record.severity = record.alert_at_ms = record.critical_at_ms = None
        if open_for >= door_max:
            record.severity, record.alert_at_ms = Severity.WARNING, start + door_max
        if open_for >= door_critical:
            record.severity, record.critical_at_ms = Severity.CRITICAL, start + door_critical
        if (record.severity, record.last_out_ms) != before:
            self.dirty = True
            return True
        return False

    def _judge_temperature(self, t: int, v: float, synced: bool, relax: float) -> None:
        if not self.lim_lo <= t < self.lim_hi:
            self.lim, self.lim_lo, self.lim_hi = self.ctx.timeline.segment(t)
        lim = self.lim
        prev = self.prev_judged
        if prev is None or prev[0] is not lim or prev[1] != relax:
            self.prev_judged = (lim, relax)
        high, low = self.high, self.low
        if high is None and low is None:  # the common case, kept cheap: no call to judge()
            if lim is not self.band_lim or relax != self.band_relax:
                self.band_lim, self.band_relax = lim, relax
                self.band_lo, self.band_hi = inside_limit(lim, relax)
            if self.band_lo <= v <= self.band_hi:
                return
        judged = judge(v, lim, in_transport=self.ctx.in_transport, relax_c=relax)
        # An episode starts only beyond the limit (near it is a page status, not an alert).
        if lim.max_c is None:
            if high is not None:
                self.finish(high, t, t)
                self.high = None
        elif high is not None or _beyond(judged.high):
            self.high = episode(self, high, 1, t, v, synced, lim, relax, judged.high, prev)
        if lim.min_c is None:
            if low is not None:
                self.finish(low, t, t)
                self.low = None
        elif low is not None or _beyond(judged.low):
            self.low = episode(self, low, -1, t, v, synced, lim, relax, judged.low, prev)


def _beyond(level: Level) -> bool:
    return level is Level.BEYOND or level is Level.TOLERATED
