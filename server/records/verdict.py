"""Per-load statistics and the verdict: conforme / écart toléré / non conforme.

The limit is the load's own (its category, a lower label temperature wins, transport
tolerance for frozen food) from the alert profiles (alerts/limits.py), and the readings are
those of its zone while it was on board. Readings are judged, and an excursion classified,
by the alert engine's own rules (alerts/judgement.py), from the figures the record states.
Time beyond a limit counts each reading until the next one, capped so that a gap in the
data never counts as time beyond (gaps are reported separately as data quality).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.findings import Severity
from alerts.judgement import Bounds, classify, judge
from alerts.limits import MINUTE_MS, ZoneLimit, limit_for_category
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


@dataclass(frozen=True)
class StatedLimit:
    """A load's limit as its record states it (`describe_limit`), in the shape the engine's
    rules read. A record states no warning band nor warning delay: a verdict is about the
    limit itself, and a reading near it is conforme."""

    max_c: float | None
    min_c: float | None
    tolerance_c: float | None
    tolerance_min: float | None
    hard_margin_c: float
    critical_delay_min: float
    warn_max: float | None = None
    warn_min: float | None = None
    warning_delay_min: float | None = None

    @classmethod
    def of(cls, limit: Mapping[str, Any]) -> StatedLimit:
        return cls(
            max_c=limit["max_c"],
            min_c=limit["min_c"],
            tolerance_c=limit["tolerance_c"],
            tolerance_min=limit["tolerance_min"],
            hard_margin_c=float(limit["hard_margin_c"] or 0),
            critical_delay_min=float(limit["critical_delay_min"] or 0),
        )


def _minutes(ms: int) -> float:
    return round(ms / 60_000, 3)


def statistics(points: Sequence[Point], limit: Mapping[str, Any]) -> dict[str, Any]:
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
    bounds = Bounds(limit["max_c"], limit["min_c"])
    above = below = 0
    for here, after in zip(points, [*points[1:], None], strict=True):
        step = min(after.time_ms - here.time_ms, MAX_STEP_MS) if after else 0
        # A load is judged as in transport; tolerated or not, time above the max counts.
        judged = judge(here.value, bounds, in_transport=True)
        if judged.above:
            above += step
        if judged.below:
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


def _n(value: float) -> str:
    """A figure as a French reader writes it: « 85,017 », never « 85.017 »."""
    return f"{value:g}".replace(".", ",")


def _c(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} °C".replace(".", ",")


def _severity(stated: StatedLimit, side: int, worst: float, minutes: float) -> Severity | None:
    """The excursions of one side taken together: their worst reading, their total time."""
    if not minutes:
        return None
    level = judge(worst, stated, in_transport=True).on(side)
    return classify(stated, side, level, worst, minutes * MINUTE_MS)


def verdict(stats: Mapping[str, float | int | None], limit: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict with the rule that decided it (French, for the inspector)."""
    max_c, min_c = limit["max_c"], limit["min_c"]
    source = limit["source_fr"]
    if max_c is None and min_c is None:
        return _v(CONFORME, "catégorie sans maîtrise de température requise")
    if not stats["n"]:
        return _v(NON_CONFORME, "aucune mesure pendant le transport : conformité non démontrable")
    above, below = float(stats["minutes_above"] or 0), float(stats["minutes_below"] or 0)
    peak, trough = float(stats["max"] or 0), float(stats["min"] or 0)
    if not above and not below:
        band = f"entre {_c(min_c)} et {_c(max_c)}" if min_c is not None else f"au plus {_c(max_c)}"
        return _v(CONFORME, f"toutes les mesures {band} ({source})")
    stated = StatedLimit.of(limit)
    high = _severity(stated, 1, peak, above)
    low = _severity(stated, -1, trough, below)
    critical = stated.critical_delay_min
    hard = stated.hard_margin_c
    if high is Severity.TOLERATED and not below:
        return _v(
            TOLERE,
            f"remontée de {_n(above)} min jusqu'à {_c(peak)}, dans la tolérance de transport "
            f"(+{stated.tolerance_c:g} °C, moins de {stated.tolerance_min:g} min ; {source})",
        )
    if Severity.CRITICAL not in (high, low):
        side = "au-dessus de la limite" if above else "en dessous du minimum"
        return _v(
            TOLERE,
            f"{_n(max(above, below))} min {side} (pic {_c(peak if above else trough)}), "
            f"sous le délai critique de {critical:g} min et l'écart maximal de {hard:g} °C "
            "(notre choix HACCP)",
        )
    if high is Severity.CRITICAL:
        return _v(
            NON_CONFORME,
            f"{_n(above)} min au-dessus de {_c(max_c)} (pic {_c(peak)}) : délai critique de "
            f"{critical:g} min ou écart de {hard:g} °C dépassé ({source})",
        )
    return _v(
        NON_CONFORME,
        f"{_n(below)} min en dessous de {_c(min_c)} (minimum {_c(trough)}) : délai critique de "
        f"{critical:g} min ou écart de {hard:g} °C dépassé ({source})",
    )


def _v(code: str, rule: str) -> dict[str, str]:
    return {"code": code, "label_fr": LABELS_FR[code], "rule_fr": rule}
