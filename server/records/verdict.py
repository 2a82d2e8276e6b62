"""Per-load statistics and the verdict: conforme / écart toléré / non conforme.

The limit is the load's own (its category, a lower label temperature wins, transport
tolerance for frozen food) from the alert profiles (alerts/limits.py), and the readings are
those of its zone while it was on board. Readings are judged, and an excursion classified,
by the alert engine's own rules (alerts/judgement.py), from the figures the record states.
Time beyond a limit counts each reading until the next one, capped so that a gap in the
data never counts as time beyond (gaps are reported separately as data quality).

The record seals the verdict's code with its rule and the limit's source in French
(`rule_fr`, `source_fr`); the words come from the `records` catalogue (context-free keys
`verdict_rule_*`, `limit_source_*`), so a document in another language says the same rule,
made again from the sealed figures (`rule_in`, `source_in`). When they no longer give the
sealed French (a record sealed by an older rule), the document prints the sealed French with
a note (`Words.sealed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.findings import Severity
from alerts.judgement import Bounds, classify, judge
from alerts.limits import MINUTE_MS, ZoneLimit, limit_for_category
from alerts.profiles import ProductProfile
from server.records.wording import Words

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
    """Where a limit comes from, as the inspector reads it (French: what the record seals)."""
    return basis_in(basis, profile, Words())


def basis_in(basis: str | None, profile: ProductProfile | None, w: Words) -> str:
    """Where a limit comes from, in `w`'s language: our words, or the legal citation as
    published (alerts/profiles.toml)."""
    if basis == "label":
        return w("limit_source_label")
    if basis == "ours" or profile is None:
        return w("limit_source_ours")
    cite = profile.source.cite()
    return w("limit_source_reference", cite=cite) if basis == "reference" else cite


def source_in(limit: Mapping[str, Any], w: Words) -> str:
    """A stated limit's source (`source_fr`, as sealed) in `w`'s language: our words made
    again from its basis, the citation as written. What the basis does not give back as
    sealed (an older wording) is printed as sealed: a citation, or our French with a note.
    What follows our words (a cold room's label reason, inspection.py) is data: as typed."""
    sealed = str(limit.get("source_fr") or "")
    if w.lang == "fr":
        return sealed
    french = Words()
    basis = limit.get("max_basis") or limit.get("min_basis")
    for key in ("limit_source_label", "limit_source_ours"):
        if sealed.startswith(french(key)):
            return w(key) + sealed[len(french(key)) :]
    head = french("limit_source_reference", cite="")
    if basis == "reference" and sealed.startswith(head):
        return w("limit_source_reference", cite=sealed[len(head) :])
    if basis in ("label", "ours"):
        return w.sealed(sealed)
    return sealed  # a legal citation, as published


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


def _n(value: float, lang: str = "fr") -> str:
    """A figure as the reader writes it: « 85,017 », never « 85.017 » (English: a point)."""
    text = f"{value:g}"
    return text if lang == "en" else text.replace(".", ",")


def _c(value: float | None, lang: str = "fr") -> str:
    if value is None:
        return "—"
    text = f"{value:.1f} °C"
    return text if lang == "en" else text.replace(".", ",")


def _g(value: float, lang: str) -> str:
    """Our choices' figures (a delay, a margin, a tolerance): the sealed French writes them
    as Python does (« 30 », « 0.5 »): kept so, byte for byte; Dutch takes its comma."""
    text = f"{value:g}"
    return text.replace(".", ",") if lang == "nl" else text


def _severity(stated: StatedLimit, side: int, worst: float, minutes: float) -> Severity | None:
    """The excursions of one side taken together: their worst reading, their total time."""
    if not minutes:
        return None
    level = judge(worst, stated, in_transport=True).on(side)
    return classify(stated, side, level, worst, minutes * MINUTE_MS)


def verdict(stats: Mapping[str, float | int | None], limit: Mapping[str, Any]) -> dict[str, Any]:
    """The verdict with the rule that decided it (French, as the record seals it)."""
    code, rule = decide(stats, limit, Words())
    return {"code": code, "label_fr": LABELS_FR[code], "rule_fr": rule}


def rule_in(load: Mapping[str, Any], w: Words) -> str:
    """A sealed load's verdict rule in `w`'s language, made again from its sealed figures
    (`stats`, `limit`); the sealed French with a note when they no longer give the sealed
    verdict and rule (a record sealed by an older rule)."""
    sealed = load["verdict"]
    if w.lang == "fr":
        return str(sealed["rule_fr"])
    if decide(load["stats"], load["limit"], Words()) != (sealed["code"], sealed["rule_fr"]):
        return w.sealed(str(sealed["rule_fr"]))
    return decide(load["stats"], load["limit"], w)[1]


def decide(
    stats: Mapping[str, float | int | None], limit: Mapping[str, Any], w: Words
) -> tuple[str, str]:
    """(verdict code, the rule that decided it in `w`'s language)."""
    lang = w.lang
    max_c, min_c = limit["max_c"], limit["min_c"]
    source = source_in(limit, w)
    if max_c is None and min_c is None:
        return CONFORME, w("verdict_rule_no_control")
    if not stats["n"]:
        return NON_CONFORME, w("verdict_rule_no_reading")
    above, below = float(stats["minutes_above"] or 0), float(stats["minutes_below"] or 0)
    peak, trough = float(stats["max"] or 0), float(stats["min"] or 0)
    if not above and not below:
        if min_c is not None:
            band = w("verdict_rule_within_band", min=_c(min_c, lang), max=_c(max_c, lang))
        else:
            band = w("verdict_rule_within_max", max=_c(max_c, lang))
        return CONFORME, w("verdict_rule_within", band=band, source=source)
    stated = StatedLimit.of(limit)
    high = _severity(stated, 1, peak, above)
    low = _severity(stated, -1, trough, below)
    critical = _g(stated.critical_delay_min, lang)
    hard = _g(stated.hard_margin_c, lang)
    if high is Severity.TOLERATED and not below:
        return TOLERE, w(
            "verdict_rule_tolerated",
            minutes=_n(above, lang),
            peak=_c(peak, lang),
            tolerance=_g(stated.tolerance_c or 0, lang),
            tolerance_min=_g(stated.tolerance_min or 0, lang),
            source=source,
        )
    if Severity.CRITICAL not in (high, low):
        key = "verdict_rule_short_above" if above else "verdict_rule_short_below"
        return TOLERE, w(
            key,
            minutes=_n(max(above, below), lang),
            peak=_c(peak if above else trough, lang),
            critical=critical,
            hard=hard,
        )
    if high is Severity.CRITICAL:
        return NON_CONFORME, w(
            "verdict_rule_critical_above",
            minutes=_n(above, lang),
            max=_c(max_c, lang),
            peak=_c(peak, lang),
            critical=critical,
            hard=hard,
            source=source,
        )
    return NON_CONFORME, w(
        "verdict_rule_critical_below",
        minutes=_n(below, lang),
        min=_c(min_c, lang),
        trough=_c(trough, lang),
        critical=critical,
        hard=hard,
        source=source,
    )
