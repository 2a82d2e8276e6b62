"""Product categories: codes and temperature limits come from the alerts profiles
(alerts/profiles.py owns every rule about them); the server only asks."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from alerts.limits import limit_for_cargo, limit_for_category
from alerts.profiles import ProductProfile, load_profiles
from server.core import catalogue
from server.core.errors import ApiError, Figure, Names, invalid


@cache
def profiles() -> dict[str, ProductProfile]:
    return load_profiles()


def name(code: str, lang: str) -> str:
    """A category as people read it in `lang` (« Viandes hachées »), the code when unknown."""
    profile = profiles().get(code)
    if profile is None:
        return code
    return profile.name(lang)


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


def check_label(code: str, label_max_c: float | None, label_reason: str | None) -> None:
    """A place's label storage temperature (AFSCA G-007) may only make its category's limit
    stricter: lower than the category's max, and above its min (else no reading could be
    right). A reason needs a temperature. 422 with the reason otherwise."""
    if label_max_c is None:
        if label_reason is not None:
            raise invalid("label_reason_alone")
        return
    profile = profiles()[check(code)]
    legal = limit_for_category(profiles(), code)
    name = Names({lang: profile.name(lang) for lang in catalogue.LANGUAGES})
    if legal.max_c is not None and label_max_c >= legal.max_c:
        raise ApiError(
            422,
            "label_not_stricter",
            label=Figure(label_max_c),
            category=name,
            limit=Figure(legal.max_c),
        )
    if legal.min_c is not None and label_max_c <= legal.min_c:
        raise invalid("label_below_minimum", category=name, limit=Figure(legal.min_c))
