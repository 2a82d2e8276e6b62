"""The system's clock: "now" for every domain time (readings judged, alerts, deliveries,
records, sessions). Real UTC time, except for the demo.

The demo plays a working day in minutes (`coldchain demo --speed 60`). Its clock starts in the
past and runs `speed` times faster than real time until it meets real time at `meets_real_at`
(unix seconds); from then on it is the real clock. So nothing is ever in the future, the
rules engine measures delays and lateness in the day's own time, and when the day is over
the system simply goes on in real time. Every process (gateway, alert worker, server) reads
the same two settings (`[clock]`), so they agree on "now" without talking to each other;
the simulated probes use the same formula (firmware/esp32/board_sim.py).

The clock also owns the site's time zone (`[clock] timezone`): every time a person reads
(pages, PDFs, CSVs, e-mails, probe texts) and every local calendar day (a delivery's day,
a calibration's due date, a defrost at 02:00) is taken in `zone()`. Stored times stay UTC.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Protocol
from zoneinfo import ZoneInfo

from coldchain.settings import ClockSettings as _Defaults


class ClockSettings(Protocol):
    speed: float
    meets_real_at: float | None
    timezone: str


_speed = 1.0
_meets_real_at: float | None = None
# Until a process configures its clock (tests, one-off scripts), the setting's default.
_zone = ZoneInfo(_Defaults().timezone)


def configure(settings: ClockSettings) -> None:
    """Called once at the start of each process with `settings.clock`."""
    global _speed, _meets_real_at, _zone
    _speed = settings.speed
    _meets_real_at = settings.meets_real_at if settings.speed != 1 else None
    _zone = ZoneInfo(settings.timezone)


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


def zone() -> ZoneInfo:
    """The site's time zone (`[clock] timezone`)."""
    return _zone


def local(moment: datetime) -> datetime:
    """An aware time as the site's wall-clock time."""
    return moment.astimezone(_zone)


def today(now: datetime | None = None) -> date:
    """The site's calendar day at `now` (default: the clock's now)."""
    return local(now or utcnow()).date()


def day_start(day: date) -> datetime:
    """The first instant (UTC) of a calendar day of the site: 23 or 25 hours apart at the
    clock changes, which is why a day is never `midnight UTC + 24 h`."""
    return datetime.combine(day, clock_time(0), _zone).astimezone(UTC)
