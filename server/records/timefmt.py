"""Times and numbers as a French-reading inspector expects them, in the site's zone."""

from __future__ import annotations

from datetime import UTC, datetime

from coldchain import clock


def parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def local(value: str | datetime | int | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A UTC time (ISO text, datetime or epoch ms) shown in Brussels time; '—' when absent."""
    if value is None:
        return "—"
    if isinstance(value, int):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str):
        parsed = parse(value)
        assert parsed is not None
        moment = parsed
    else:
        moment = value
    return moment.astimezone(clock.zone()).strftime(fmt)


def celsius(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f} °C".replace(".", ",")
