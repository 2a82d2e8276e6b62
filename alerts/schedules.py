"""Planned windows that relax or suspend evaluation: defrost cycles, loading at the dock.

A window never hides anything: the machine records every window it applied as an
`evaluation_suspended` record with its reason (docs/alerts.md, "Schedules").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from coldchain import clock

_FAR = 2**62


class Mode(StrEnum):
    SUSPEND = "suspend"  # readings inside are not judged
    RELAX = "relax"  # limits are raised by relax_c inside


@dataclass(frozen=True, slots=True)
class Window:
    """One window in device time, [start_ms, end_ms)."""

    reason: str  # "defrost", "loading", ... shown to people
    mode: Mode
    start_ms: int
    end_ms: int
    relax_c: float = 0.0

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise ValueError(f"window {self.reason!r} ends before it starts")
        if self.relax_c < 0:
            raise ValueError("relax_c must not be negative")


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """A window repeated every day at the site's local time, e.g. defrost at 02:00."""

    reason: str
    mode: Mode
    start_local: str  # "HH:MM"
    duration_min: int
    relax_c: float = 0.0

    def __post_init__(self) -> None:
        hour, _, minute = self.start_local.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise ValueError(f"start_local must be HH:MM, got {self.start_local!r}")
        if not 0 < self.duration_min <= 24 * 60:
            raise ValueError("duration_min must be within one day")
        if self.relax_c < 0:
            raise ValueError("relax_c must not be negative")

    def on_day(self, day: dt.date) -> Window:
        hour, minute = (int(x) for x in self.start_local.split(":"))
        local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=clock.zone())
        start = int(local.timestamp() * 1000)
        return Window(
            self.reason, self.mode, start, start + self.duration_min * 60_000, self.relax_c
        )


class Schedule:
    """All windows of a location. `at(t)` also says how long its answer holds, for caching."""

    __slots__ = ("daily", "windows")

    def __init__(self, windows: Sequence[Window] = (), daily: Sequence[DailyWindow] = ()) -> None:
        self.windows = tuple(sorted(windows, key=lambda w: w.start_ms))
        self.daily = tuple(daily)

    def _candidates(self, t_ms: int) -> list[Window]:
        found = list(self.windows)
        if self.daily:
            day = dt.datetime.fromtimestamp(t_ms / 1000, clock.zone()).date()
            for offset in (-1, 0, 1):
                found.extend(d.on_day(day + dt.timedelta(days=offset)) for d in self.daily)
        return found

    def at(self, t_ms: int) -> tuple[Window | None, int, int]:
        """The window in force at `t_ms` (earliest-starting if several) and [lo, hi) it holds."""
        lo, hi = -_FAR, _FAR
        current: Window | None = None
        for w in self._candidates(t_ms):
            if w.start_ms <= t_ms < w.end_ms:
                if current is None or w.start_ms < current.start_ms:
                    current = w
                lo, hi = max(lo, w.start_ms), min(hi, w.end_ms)
            elif w.start_ms > t_ms:
                hi = min(hi, w.start_ms)
            else:
                lo = max(lo, w.end_ms)
        if self.daily:  # daily candidates only cover a few days: do not cache beyond them
            lo, hi = max(lo, t_ms - 12 * 3_600_000), min(hi, t_ms + 12 * 3_600_000)
        return current, lo, hi

    def to_state(self) -> dict[str, Any]:
        return {
            "windows": [
                [w.reason, w.mode.value, w.start_ms, w.end_ms, w.relax_c] for w in self.windows
            ],
            "daily": [
                [d.reason, d.mode.value, d.start_local, d.duration_min, d.relax_c]
                for d in self.daily
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Schedule:
        return cls(
            [Window(r, Mode(m), int(s), int(e), float(x)) for r, m, s, e, x in state["windows"]],
            [DailyWindow(r, Mode(m), s, int(d), float(x)) for r, m, s, d, x in state["daily"]],
        )
