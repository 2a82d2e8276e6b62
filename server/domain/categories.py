"""Product categories: codes and temperature limits come from the alerts profiles
(alerts/profiles.py owns every rule about them); the server only asks."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from alerts.limits import limit_for_cargo
from alerts.profiles import ProductProfile, load_profiles
from server.core.errors import ApiError


@cache
def profiles() -> dict[str, ProductProfile]:
    return load_profiles()


def check(code: str) -> str:
    """The code if it names a known category; a 422 listing the known ones otherwise."""
    known = profiles()
    if code not in known:
        raise ApiError(422, "unknown_category", category=code[:50], known=", ".join(sorted(known)))
    return code


def cargo_max_c(loads: Iterable[tuple[str, float | None]]) -> float | None:
    """The highest temperature allowed for these (category, label max) loads together, by
    alerts.limits (the strictest load; a lower label temperature wins, AFSCA G-007). None when
    none sets one (ambient goods)."""
    limit = limit_for_cargo(profiles(), loads)
    return None if limit is None else limit.max_c
