"""The product profiles the records judge loads with (loaded once per process)."""

from __future__ import annotations

from functools import cache

from alerts.profiles import ProductProfile, load_profiles


@cache
def profiles() -> dict[str, ProductProfile]:
    return load_profiles()
