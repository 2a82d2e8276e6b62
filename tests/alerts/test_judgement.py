"""One reading against the limit in force, and an excursion's severity (alerts/judgement.py):
every product profile's limits, the transport tolerance, the warning band on both sides, a
label temperature, the strictest lot, a relaxation window."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.findings import Severity
from alerts.judgement import (
    WITHIN,
    Bounds,
    Judgement,
    Level,
    classify,
    excess_c,
    inside_limit,
    judge,
    within_band,
)
from alerts.limits import Lot, ZoneLimit, limit_for_category, limit_for_lots
from alerts.profiles import load_profiles

PROFILES = load_profiles()
MIN = 60_000
W, N, T, B = Level.WITHIN, Level.NEAR, Level.TOLERATED, Level.BEYOND


def van(category: str, label_max_c: float | None = None) -> ZoneLimit:
    return limit_for_category(PROFILES, category, label_max_c, transport=True)


def room(category: str) -> ZoneLimit:
    return limit_for_category(PROFILES, category, None, transport=False)


def levels(value: float, limit: ZoneLimit, *, in_transport: bool = True) -> tuple[Level, Level]:
    judged = judge(value, limit, in_transport=in_transport)
    return judged.high, judged.low


# (category, value, expected (high, low)) on the numbers of alerts/profiles.toml.
KNOWN = [
    ("minced_meat", 1.5, (W, W)),  # max 2 °C, warning margin 0.5 °C: the margin is inside
    ("minced_meat", 1.51, (N, W)),
    ("minced_meat", 2.0, (N, W)),  # on the limit is inside it
    ("minced_meat", 2.01, (B, W)),
    ("fresh_meat_ungulates", 6.0, (W, W)),  # max 7 °C, default margin 1 °C
    ("fresh_meat_ungulates", 6.5, (N, W)),
    ("fresh_meat_ungulates", 7.5, (B, W)),
    ("poultry_meat", 3.5, (N, W)),  # -2 to 4 °C; warning 1 °C under the max, 0.5 °C over the min
    ("poultry_meat", -1.5, (W, W)),
    ("poultry_meat", -1.8, (W, N)),
    ("poultry_meat", -2.0, (W, N)),
    ("poultry_meat", -2.1, (W, B)),
    ("shell_eggs", 5.5, (W, N)),  # 5 to 20 °C (ours), low warning margin 1 °C
    ("shell_eggs", 6.0, (W, W)),
    ("shell_eggs", 4.9, (W, B)),
    ("shell_eggs", 19.5, (N, W)),
    ("quick_frozen", -20.0, (W, W)),  # max -18 °C, margin 2 °C, transport tolerance +3 °C
    ("quick_frozen", -19.0, (N, W)),
    ("quick_frozen", -17.0, (T, W)),
    ("quick_frozen", -15.0, (T, W)),
    ("quick_frozen", -14.9, (B, W)),
    ("frozen_poultry", -10.0, (T, W)),  # max -12 °C, tolerance +3 °C
    ("ice_cream", -19.0, (B, W)),  # -20 °C reference value, no tolerance
    ("ambient", 45.0, (W, W)),  # not temperature-controlled
    ("ambient", -30.0, (W, W)),
]


@pytest.mark.parametrize(("category", "value", "expected"), KNOWN)
def test_known_values_in_a_van(category: str, value: float, expected: tuple[Level, Level]) -> None:
    assert levels(value, van(category)) == expected


@pytest.mark.parametrize("category", sorted(PROFILES))
def test_every_profile_at_its_bounds(category: str) -> None:
    """Each side, from each profile's own numbers: inside the margin, in the warning band,
    on the limit, just beyond; above the max within the tolerance only in transport."""
    profile = PROFILES[category]
    choices = profile.choices
    limit = van(category)
    if profile.max_c is None and profile.min_c is None:
        assert not limit.controlled
        assert judge(1e6, limit, in_transport=True) is WITHIN
        return
    if profile.max_c is not None:
        top = profile.max_c
        warn = top - choices.warning_margin_c
        assert levels(warn, limit)[0] is W
        assert levels(top, limit)[0] is (N if choices.warning_margin_c else W)
        if choices.warning_margin_c:
            assert levels(warn + 0.01, limit)[0] is N
        tolerance = profile.transport_tolerance
        just_above = levels(top + 0.01, limit)[0]
        assert just_above is (B if tolerance is None else T)
        assert levels(top + 0.01, room(category))[0] is B  # a cold room is not in transport
        assert levels(top + 0.01, limit, in_transport=False)[0] is B
        if tolerance is not None:
            assert levels(top + tolerance.value_c, limit)[0] is T
            assert levels(top + tolerance.value_c + 0.01, limit)[0] is B
    if profile.min_c is not None:
        bottom = profile.min_c
        warn = bottom + choices.low_warning_margin_c
        assert levels(warn, limit)[1] is W
        assert levels(bottom, limit)[1] is (N if choices.low_warning_margin_c else W)
        assert levels(bottom - 0.01, limit)[1] is B  # no tolerance on the cold side


def test_a_lower_label_temperature_wins_and_carries_no_tolerance() -> None:
    chilled = van("chilled_retail", label_max_c=6.0)  # legal 7 °C, label 6 °C
    assert chilled.max_c == 6.0 and chilled.label_applied
    assert levels(6.5, chilled) == (B, W)
    assert levels(6.5, van("chilled_retail")) == (N, W)
    assert van("chilled_retail", label_max_c=9.0).max_c == 7.0  # a higher label does not
    frozen = van("quick_frozen", label_max_c=-20.0)
    assert frozen.tolerance_c is None
    assert levels(-17.0, frozen) == (B, W)  # the label limit has no legal tolerance
    assert levels(-17.0, van("quick_frozen")) == (T, W)


def test_the_strictest_lot_on_board_is_the_limit_judged_against() -> None:
    lots = [Lot("C", "chilled_retail", 0), Lot("M", "minced_meat", 0), Lot("E", "shell_eggs", 0)]
    limit = limit_for_lots(PROFILES, lots, 1, "ambient")
    assert (limit.max_c, limit.min_c) == (2.0, 5.0) and limit.conflict
    # Bands that do not overlap: 3 °C is beyond both sides; the max side is reported.
    judged = judge(3.0, limit, in_transport=True)
    assert (judged.high, judged.low, judged.level, judged.side) == (B, B, B, 1)
    assert judged.above and judged.below and judged.beyond
    only_chilled = limit_for_lots(PROFILES, lots[:1], 1, "ambient")
    assert levels(3.0, only_chilled) == (W, W)


def test_a_relaxation_window_raises_the_max_and_its_margin_not_the_min() -> None:
    minced = van("minced_meat")
    assert judge(2.6, minced, in_transport=True, relax_c=1.0).high is N  # 3 °C, margin 2.5
    assert judge(2.5, minced, in_transport=True, relax_c=1.0) is WITHIN
    assert judge(3.1, minced, in_transport=True, relax_c=1.0).high is B
    poultry = van("poultry_meat")
    assert judge(-2.1, poultry, in_transport=True, relax_c=5.0).low is B
    frozen = van("quick_frozen")
    assert judge(-14.5, frozen, in_transport=True, relax_c=1.0).high is T  # -17 + 3


def test_judgement_words() -> None:
    assert WITHIN.level is W and WITHIN.side == 0 and not WITHIN.beyond
    tolerated = Judgement(T, W)
    assert (tolerated.level, tolerated.side) == (T, 1)
    assert tolerated.above and not tolerated.below
    cold = Judgement(W, N)
    assert (cold.level, cold.side, cold.beyond, cold.on(-1), cold.on(1)) == (N, -1, False, N, W)
    assert Judgement(N, B).level is B and Judgement(N, B).side == -1
    assert judge(5.0, limit_for_category(PROFILES, "ambient"), in_transport=True) is WITHIN


def test_figures_only_bounds_have_no_warning_band() -> None:
    """A sealed record states max and min only: near is not a thing there."""
    bounds = Bounds(7.0, None)
    assert judge(6.9, bounds, in_transport=True) is WITHIN
    assert judge(7.0, bounds, in_transport=True) is WITHIN
    assert judge(7.1, bounds, in_transport=True).high is B
    assert judge(7.1, Bounds(7.0, None, tolerance_c=3.0), in_transport=True).high is T
    assert judge(-1.0, Bounds(None, 0.0), in_transport=True).below


# --- classification -------------------------------------------------------------------------


def severity(limit: ZoneLimit, side: int, value: float, beyond_min: float) -> Severity | None:
    level = judge(value, limit, in_transport=True).on(side)
    return classify(limit, side, level, value, beyond_min * MIN)


def test_classify_the_engine_policy() -> None:
    """Inside the limit nothing, however long; beyond it a warning at once; critical 15 min
    beyond (ours) or beyond it by the hard margin (3 °C, ours) at once."""
    minced = van("minced_meat")
    assert severity(minced, 1, 1.8, 600) is None  # the warning band: a status, never an alert
    assert severity(minced, 1, 2.0, 600) is None  # on the limit is inside it
    assert severity(minced, 1, 2.01, 0) is Severity.WARNING  # beyond it: a warning at once
    assert severity(minced, 1, 2.5, 14.9) is Severity.WARNING
    assert severity(minced, 1, 2.5, 15) is Severity.CRITICAL
    assert severity(minced, 1, 5.0, 0) is Severity.WARNING  # on the hard margin: not beyond it
    assert severity(minced, 1, 5.01, 0) is Severity.CRITICAL  # beyond it: at once
    poultry = van("poultry_meat")
    assert severity(poultry, -1, -2.5, 14) is Severity.WARNING
    assert severity(poultry, -1, -2.5, 15) is Severity.CRITICAL
    assert severity(poultry, -1, -5.01, 0) is Severity.CRITICAL
    assert severity(poultry, -1, -1.8, 600) is None  # the cold warning band: no alert
    # Near the limit for an hour is still no alert (it decided a warning before the policy).
    level = judge(1.8, minced, in_transport=True).high
    assert classify(minced, 1, level, 1.8, 60 * MIN) is None


def test_classify_the_transport_tolerance() -> None:
    frozen = van("quick_frozen")  # tolerance +3 °C for 30 min, instead of the delays
    assert severity(frozen, 1, -16.0, 0) is Severity.TOLERATED
    assert severity(frozen, 1, -16.0, 29.9) is Severity.TOLERATED  # no warning by delay
    assert severity(frozen, 1, -16.0, 30) is Severity.CRITICAL  # reaching 30 min is too long
    assert severity(frozen, 1, -14.9, 0) is Severity.CRITICAL  # beyond tolerance and margin
    assert severity(frozen, 1, -19.0, 600) is None  # the warning band: a status only
    labelled = van("quick_frozen", label_max_c=-20.0)
    assert severity(labelled, 1, -19.0, 14) is Severity.WARNING  # a label: no tolerance
    assert severity(labelled, 1, -19.0, 15) is Severity.CRITICAL
    assert severity(labelled, 1, -20.5, 600) is None  # inside the label's limit
    cold_room = room("quick_frozen")
    level = judge(-16.0, cold_room, in_transport=False).high
    assert classify(cold_room, 1, level, -16.0, 0) is Severity.WARNING
    assert classify(cold_room, 1, level, -16.0, 15 * MIN) is Severity.CRITICAL


def test_excess() -> None:
    poultry = van("poultry_meat")
    assert excess_c(4.5, poultry, 1) == pytest.approx(0.5)
    assert excess_c(4.5, poultry, 1, relax_c=1.0) == pytest.approx(-0.5)
    assert excess_c(-3.0, poultry, -1) == pytest.approx(1.0)
    assert excess_c(3.0, van("ambient"), 1) is None


# --- the machine's fast path --------------------------------------------------------------

VALUES = st.floats(min_value=-40, max_value=40, allow_nan=False).map(lambda v: round(v, 2))
LIMITS = st.sampled_from(
    [van(c) for c in sorted(PROFILES)]
    + [room(c) for c in sorted(PROFILES)]
    + [
        van("chilled_retail", 6.0),
        limit_for_lots(PROFILES, [Lot("M", "minced_meat", 0), Lot("E", "shell_eggs", 0)], 1, "x"),
        Bounds(7.0, 0.0),
        Bounds(None, 0.0, warn_min=0.5),
    ]
)
RELAX = st.sampled_from([0.0, 0.0, 0.5, 2.0, 3.3])


@given(VALUES, LIMITS, RELAX, st.booleans())
def test_inside_limit_is_exactly_where_judge_finds_nothing_beyond(
    value: float, limit: ZoneLimit | Bounds, relax: float, in_transport: bool
) -> None:
    """The machine skips `judge` inside the limit: no excursion can start there."""
    low, high = inside_limit(limit, relax)
    judged = judge(value, limit, in_transport=in_transport, relax_c=relax)
    beyond = judged.high in (T, B) or judged.low in (T, B)
    assert (low <= value <= high) == (not beyond)


@given(VALUES, LIMITS, RELAX, st.booleans())
def test_within_band_is_exactly_what_judge_finds_within(
    value: float, limit: ZoneLimit | Bounds, relax: float, in_transport: bool
) -> None:
    low, high = within_band(limit, relax)
    inside = low <= value <= high
    assert inside == (judge(value, limit, in_transport=in_transport, relax_c=relax) is WITHIN)
    for edge in (low, high):  # and on its very edges
        if math.isfinite(edge):
            judged = judge(edge, limit, in_transport=in_transport, relax_c=relax)
            assert judged is WITHIN or low > high
