"""Times and numbers as a French-reading inspector expects them, in the site's zone
(`[clock] timezone`, coldchain/clock.py), the UTC offset stated once per document
(`offsets`). Numbers are written by server/core/numbers.py, shared with the pages: decimal
comma, thousands grouped; the documents' words and units are server/records/wording.py's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coldchain import clock
from server.core import numbers


def parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def local(value: str | datetime | int | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A UTC time (ISO text, datetime or epoch ms) in the site's zone; '—' when absent."""
    if value is None:
        return "—"
    return moment_of(value).astimezone(clock.zone()).strftime(fmt)


def moment_of(value: str | datetime | int) -> datetime:
    """A UTC time given as ISO text, datetime or epoch ms, as an aware datetime."""
    if isinstance(value, int):
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, str):
        parsed = parse(value)
        assert parsed is not None
        return parsed
    return value


def celsius(value: float | None, digits: int = 1, lang: str = "fr") -> str:
    """« 2,5 °C » (numbers.celsius: the same for pages and documents)."""
    return numbers.celsius(value, lang, digits)


def number(value: float | int | str | None, digits: int | None = None, lang: str = "fr") -> str:
    """« 1 234,5 », « 8 » for 8.000 (numbers.decimal)."""
    return numbers.decimal(value, lang, digits)


def utc_offset(moment: datetime) -> str:
    """The site's offset from UTC at `moment`: « UTC+01:00 »."""
    offset = moment.astimezone(clock.zone()).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def offsets(start: str | datetime | int, end: str | datetime | int) -> list[tuple[datetime, str]]:
    """The site's UTC offsets over [start, end]: the first at `start`, then each change (a
    clock change in the period) with the moment it takes effect. Hour by hour: offsets
    change on the hour in every zone a cooperative may use."""
    a, b = moment_of(start), moment_of(end)
    found = [(a, utc_offset(a))]
    at = a.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while at <= b:
        here = utc_offset(at)
        if here != found[-1][1]:
            found.append((at, here))
        at += timedelta(hours=1)
    return found
