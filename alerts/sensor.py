"""Is the sensor telling the truth? Fault codes, a value stuck for hours, impossible jumps.

Each finding is a `sensor_fault` record (the `detail` says which); the readings concerned are
never judged as temperatures.
"""

from __future__ import annotations

from typing import Protocol

from alerts.findings import (
    IMPOSSIBLE_JUMP,
    STUCK_VALUE,
    AlertKind,
    ProbeChannel,
    Record,
    Severity,
)
from alerts.limits import MINUTE_MS

# Fastest change a probe can honestly report, °C (or %RH) per minute, plus a fixed slack.
# Our choice: air in a van can swing fast when the door opens; a product simulant cannot.
JUMP_RATE_PER_MIN = {"air": 10.0, "product": 2.0, "humidity": 30.0}
JUMP_SLACK = 2.0
# Humidity is left out: a saturated cold room can honestly read 100 %RH for hours.
STUCK_CHANNELS = frozenset({"air", "product"})


class Channel(ProbeChannel, Protocol):
    """What the sensor checks keep of one probe channel: their records, and what the jump
    and stuck checks remember between readings."""

    @property
    def jump_rate(self) -> float | None: ...

    fault: Record | None
    jump: Record | None
    stuck: Record | None
    jump_run: int
    jump_last_v: float
    jump_last_t: int
    stuck_value: float | None
    stuck_since: int


def fault_reading(m: Channel, t: int, code: str) -> None:
    record = m.fault
    if record is None:
        record = m.fault = Record(AlertKind.SENSOR_FAULT, m.probe_id, m.channel, t, detail=code)
        record.raise_to(Severity.WARNING, t)
    record.n += 1
    record.last_out_ms = t
    record.clear_since = None
    m.dirty = True


def is_jump(m: Channel, t: int, v: float) -> bool:
    """A physically impossible jump: excluded from judgement and recorded as a fault."""
    assert m.prev_t is not None and m.prev_v is not None and m.jump_rate is not None
    rate = m.jump_rate / MINUTE_MS
    # Three consistent readings at a new level: the level is real (the probe was moved).
    consistent = abs(v - m.jump_last_v) <= JUMP_SLACK + rate * (t - m.jump_last_t)
    if m.jump_run >= 2 and consistent:
        m.jump_run = 0
        return False
    m.jump_run = m.jump_run + 1 if consistent or m.jump_run == 0 else 1
    m.jump_last_v, m.jump_last_t = v, t
    record = m.jump
    if record is None:
        record = m.jump = Record(
            AlertKind.SENSOR_FAULT, m.probe_id, m.channel, t, detail=IMPOSSIBLE_JUMP
        )
        record.raise_to(Severity.WARNING, t)
    record.n += 1
    record.sum_v += v
    record.last_out_ms = t
    record.clear_since = None
    if record.peak is None or abs(v - m.prev_v) > abs(record.peak - m.prev_v):
        record.peak = v
    m.dirty = True
    return True


def stuck_check(m: Channel, t: int, v: float) -> None:
    # The same value on both sides of a data gap proves nothing: the count starts again.
    gap = m.prev_t is not None and t - m.prev_t > m.ctx.gap_ms
    if v != m.stuck_value or gap:
        m.stuck_value, m.stuck_since = v, t
        if m.stuck is not None:
            m.finish(m.stuck, m.stuck.last_out_ms if gap else t, t)
            m.stuck = None
        return
    if t - m.stuck_since < m.ctx.stuck_ms:
        return
    record = m.stuck
    if record is None:
        record = m.stuck = Record(
            AlertKind.SENSOR_FAULT,
            m.probe_id,
            m.channel,
            m.stuck_since,
            detail=STUCK_VALUE,
        )
        record.raise_to(Severity.WARNING, t)
        record.peak = v
    record.n += 1
    record.last_out_ms = t
    m.dirty = True
