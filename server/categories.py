"""Product categories: codes and temperature limits come from the alerts profiles
(alerts/profiles.py owns every rule about them); the server only asks."""

from __future__ import annotations

from functools import cache

from alerts.profiles import ProductProfile, load_profiles
from server.errors import ApiError


@cache
def profiles() -> dict[str, ProductProfile]:
    return load_profiles()


def check(code: str) -> str:
    """The code if it names a known category; a 422 listing the known ones otherwise."""
    known = profiles()
    if code not in known:
        raise ApiError(422, "unknown_category", category=code[:50], known=", ".join(sorted(known)))
    return code


def limit_c(code: str, label_max_c: float | None) -> float | None:
    """The load's highest temperature: the category's, or the label's storage temperature
    when lower (AFSCA guide G-007). None when neither sets one (ambient goods)."""
    limits = [t for t in (profiles()[code].max_c, label_max_c) if t is not None]
    return min(limits) if limits else None
