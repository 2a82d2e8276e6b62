"""Per-load statistics and the verdict: conforme / écart toléré / non conforme.

The limit is the load's own (its category, a lower label temperature wins, transport
tolerance for frozen food) from the alert profiles (alerts/limits.py), and the readings are
those of its zone while it was on board. Time beyond a limit counts each reading until the
next one, capped so that a gap in the data never counts as time beyond (gaps are reported
separately as data quality).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.limits import ZoneLimit, limit_for_category
from alerts.profiles import ProductProfile

CONFORME = "conforme"
TOLERE = "ecart_tolere"
NON_CONFORME = "non_conforme"
LABELS_FR = {CONFORME: "conforme", TOLERE: "écart toléré", NON_CONFORME: "non conforme"}
MAX_STEP_MS = 5 * 60_000  # a reading stands for at most 5 minutes


@dataclass(frozen=True)
class Point:
    time_ms: int
    value: float


def basis_fr(basis: str | None, profile: ProductProfile | None) -> str:
    """Where a limit comes from, as the inspector reads it."""
    if basis == "label":
        return "température de l'étiquette (plus basse que la limite légale, guide AFSCA G-007)"
    if basis == "ours" or profile is None:
        return "notre choix (HACCP)"
    cite = profile.source.cite()
    return f"référence : {cite}" if basis == "reference" else cite


def limit_of(
    profiles: Mapping[str, ProductProfile], category: str, label: float | None
) -> dict[str, Any]:
    limit = limit_for_category(profiles, category, label, transport=True)
    return describe_limit(profiles, limit)


def describe_limit(profiles: Mapping[str, ProductProfile], limit: ZoneLimit) -> dict[str, Any]:
    profile = profiles.get(limit.max_category or limit.min_category or "")
    return {
        "max_c": limit.max_c,
        "min_c": limit.min_c,
        "max_basis": limit.max_basis,
        "min_basis": limit.min_basis,
        "source_fr": basis_fr(limit.max_basis or limit.min_basis, profile),
        "tolerance_c": limit.tolerance_c,
        "tolerance_min": limit.tolerance_min,
        "critical_delay_min": limit.choices.critical_delay_min,
        "hard_margin_c": limit.choices.hard_margin_c,
    }


def _minutes(ms: int) -> float:
    return round(ms / 60_000, 3)


def statistics(points: Sequence[Point], limit: Mapping[str, float | None]) -> dict[str, Any]:
    """n, min, max, mean, time above max / below min (minutes), peak and trough."""
    if not points:
        return {
            "n": 0,
            "min": None,
            "max": None,
            "mean": None,
            "minutes_above": 0.0,
            "minutes_below": 0.0,
        }
    max_c, min_c = limit["max_c"], limit["min_c"]
    above = below = 0
    for here, after in zip(points, [*points[1:], None], strict=True):
        step = min(after.time_ms - here.time_ms, MAX_STEP_MS) if after else 0
        if max_c is not None and here.value > max_c:
            above += step
        if min_c is not None and here.value < min_c:
            below += step
    values = [p.value for p in points]
    return {
        "n": len(values),
        "min": min(values),
        "max": max(values),
        "mean": round(sum(values) / len(values), 3),
        "minutes_above": _minutes(above),
        "minutes_below": _minutes(below),
    }


def _c(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} °C".replace(".", ",")


def verdict(
    stats: Mapping[str, float | int | None], limit: Mapping[str, float | str | None]
) -> dict[str, Any]:
    """The verdict with the rule that decided it (French, for the inspector)."""
    max_c, min_c = limit["max_c"], limit["min_c"]
    source = limit["source_fr"]
    if max_c is None and min_c is None:
        return _v(CONFORME, "catégorie sans maîtrise de température requise")
    if not stats["n"]:
        return _v(NON_CONFORME, "aucune mesure pendant le transport : conformité non démontrable")
    assert isinstance(max_c, float | int | None) and isinstance(min_c, float | int | None)
    above, below = float(stats["minutes_above"] or 0), float(stats["minutes_below"] or 0)
    peak, trough = float(stats["max"] or 0), float(stats["min"] or 0)
    if not above and not below:
        band = f"entre {_c(min_c)} et {_c(max_c)}" if min_c is not None else f"au plus {_c(max_c)}"
        return _v(CONFORME, f"toutes les mesures {band} ({source})")
    tolerance, tolerance_min = limit["tolerance_c"], limit["tolerance_min"]
    if (
        isinstance(tolerance, float | int)
        and isinstance(tolerance_min, float | int)
        and max_c is not None
        and not below
        and peak <= max_c + tolerance
        and above <= tolerance_min
    ):
        return _v(
            TOLERE,
            f"remontée de {above:g} min jusqu'à {_c(peak)}, dans la tolérance de transport "
            f"(+{tolerance:g} °C, {tolerance_min:g} min au plus ; {source})",
        )
    critical = float(limit["critical_delay_min"] or 0)
    hard = float(limit["hard_margin_c"] or 0)
    too_far = (max_c is not None and peak > max_c + hard) or (
        min_c is not None and trough < min_c - hard
    )
    if not too_far and above < critical and below < critical:
        side = "au-dessus de la limite" if above else "en dessous du minimum"
        return _v(
            TOLERE,
            f"{max(above, below):g} min {side} (pic {_c(peak if above else trough)}), "
            f"sous le délai critique de {critical:g} min et l'écart maximal de {hard:g} °C "
            "(notre choix HACCP)",
        )
    if above:
        return _v(
            NON_CONFORME,
            f"{above:g} min au-dessus de {_c(max_c)} (pic {_c(peak)}) : délai critique de "
            f"{critical:g} min ou écart de {hard:g} °C dépassé ({source})",
        )
    return _v(
        NON_CONFORME,
        f"{below:g} min en dessous de {_c(min_c)} (minimum {_c(trough)}) : délai critique de "
        f"{critical:g} min ou écart de {hard:g} °C dépassé ({source})",
    )


def _v(code: str, rule: str) -> dict[str, str]:
    return {"code": code, "label_fr": LABELS_FR[code], "rule_fr": rule}
