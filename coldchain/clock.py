"""The system's clock: "now" for every domain time (readings judged, alerts, deliveries,
records, sessions). Real UTC time, except for the demo.

The demo plays a working day in minutes (`coldchain demo --speed 60`). Its clock starts in the
past and runs `speed` times faster than real time until it meets real time at `meets_real_at`
(unix seconds); from then on it is the real clock. So nothing is ever in the future, the
rules engine measures delays and lateness in the day's own time, and when the day is over
the system simply goes on in real time. Every process (gateway, alert worker, server) reads
the same two settings (`[clock]`), so they agree on "now" without talking to each other;
the simulated probes use the same formula (firmware/esp32/board_sim.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class ClockSettings(Protocol):
    speed: float
    meets_real_at: float | None


_speed = 1.0
_meets_real_at: float | None = None


def configure(settings: ClockSettings) -> None:
    """Called once at the start of each process with `settings.clock`."""
    global _speed, _meets_real_at
    _speed = settings.speed
    _meets_real_at = settings.meets_real_at if settings.speed != 1 else None


def simulated(real_s: float, speed: float, meets_real_at: float | None) -> float:
    """The clock's time at real time `real_s` (unix seconds): the one formula."""
    if meets_real_at is None or real_s >= meets_real_at:
        return real_s
    return meets_real_at - (meets_real_at - real_s) * speed


def now_s() -> float:
    return simulated(time.time(), _speed, _meets_real_at)


def now_ms() -> int:
    return int(now_s() * 1000)


def utcnow() -> datetime:
    return datetime.fromtimestamp(now_s(), UTC)


def accelerated() -> bool:
    """True while the demo's fast clock has not met real time yet."""
    return _meets_real_at is not None and time.time() < _meets_real_at
