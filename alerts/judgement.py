"""One reading against the limit in force, and an excursion's severity: the one home of both
rules, for the engine, the records, their charts and the pages alike.

A reading is within the band, near a limit (inside it but within our warning margin), beyond
the maximum but within the transport tolerance (frozen food in a van), or beyond the limit.
Near the limit is a status the pages show (« Proche de la limite »), never an alert: only a
reading beyond the limit (tolerance included) can start an excursion (`classify`).
Which limit is in force (strictest lot on board, a lower label temperature winning, the
transport tolerance only for a load in a van) is `alerts.limits`' business: this module
only compares. Policy, semantics and worked examples: docs/alerts.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from alerts.findings import Severity
from alerts.limits import MINUTE_MS


class Level(StrEnum):
    WITHIN = "within"  # clear of the warning margins
    NEAR = "near"  # inside the limit, within our warning margin of it
    TOLERATED = "tolerated"  # above the max, within the transport tolerance
    BEYOND = "beyond"  # beyond the limit (and any tolerance)


_LEVELS = (Level.WITHIN, Level.NEAR, Level.TOLERATED, Level.BEYOND)  # worse and worse
_RANK = {level: rank for rank, level in enumerate(_LEVELS)}


class Band(Protocol):
    """What judging a reading needs of the limit in force (`alerts.limits.ZoneLimit` is one).
    None: that bound, margin or tolerance does not exist."""

    @property
    def max_c(self) -> float | None: ...
    @property
    def min_c(self) -> float | None: ...
    @property
    def warn_max(self) -> float | None: ...
    @property
    def warn_min(self) -> float | None: ...
    @property
    def tolerance_c(self) -> float | None: ...


class Rules(Band, Protocol):
    """What classifying an excursion needs as well (`ZoneLimit` is one)."""

    @property
    def tolerance_min(self) -> float | None: ...
    @property
    def hard_margin_c(self) -> float: ...
    @property
    def critical_delay_min(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Bounds:
    """A limit known only by its figures, as a sealed record states it (max and min): no
    warning band or tolerance unless given."""

    max_c: float | None
    min_c: float | None
    warn_max: float | None = None
    warn_min: float | None = None
    tolerance_c: float | None = None


@dataclass(frozen=True, slots=True)
class Judgement:
    """A reading against each side of the limit: `high` against the max (warning margin,
    transport tolerance), `low` against the min (warning margin; no tolerance). Both sides
    can be beyond at once when lots on board have bands that do not overlap."""

    high: Level
    low: Level

    @property
    def level(self) -> Level:
        """The worse side (the max when both are as bad)."""
        return self.low if _RANK[self.low] > _RANK[self.high] else self.high

    @property
    def side(self) -> int:
        """+1 the max side is the worse, -1 the min side, 0 within."""
        level = self.level
        if level is Level.WITHIN:
            return 0
        return 1 if self.high is level else -1

    def on(self, side: int) -> Level:
        """The level on `side`: +1 the max, -1 the min."""
        return self.high if side > 0 else self.low

    @property
    def above(self) -> bool:
        """Above the max, tolerated or not: time counted as beyond the limit."""
        high = self.high
        return high is Level.BEYOND or high is Level.TOLERATED

    @property
    def below(self) -> bool:
        return self.low is Level.BEYOND

    @property
    def beyond(self) -> bool:
        return self.above or self.below


# Every possible answer, built once: judging a reading allocates nothing (engine hot path).
_JUDGEMENTS = tuple(tuple(Judgement(high, low) for low in _LEVELS) for high in _LEVELS)
WITHIN = _JUDGEMENTS[0][0]


def judge(value: float, limit: Band, *, in_transport: bool, relax_c: float = 0.0) -> Judgement:
    """`value` against the limit in force. The transport tolerance counts only for goods in
    transport; `relax_c` raises the max (and its margin) inside a planned relaxation window.
    A value on a bound is inside it."""
    high = low = 0
    max_c = limit.max_c
    if max_c is not None:
        top = max_c + relax_c
        if value > top:
            tolerance = limit.tolerance_c
            high = 2 if in_transport and tolerance is not None and value <= top + tolerance else 3
        else:
            warn = limit.warn_max
            if warn is not None and value > warn + relax_c:
                high = 1
    min_c = limit.min_c
    if min_c is not None:
        if value < min_c:
            low = 3
        else:
            warn = limit.warn_min
            if warn is not None and value < warn:
                low = 1
    return _JUDGEMENTS[high][low]


def classify(
    limit: Rules,
    side: int,
    level: Level,
    worst: float,
    beyond_ms: float,
    *,
    relax_c: float = 0.0,
) -> Severity | None:
    """The severity an excursion on `side` (+1 too warm, -1 too cold) has reached.

    `worst`: its worst reading (live, the engine passes each reading: severity only rises),
    and `level` what `judge` made of it on that side; `beyond_ms`: how long it has been
    beyond the limit. None: inside the limit, near it or not: approaching a limit is a
    status, never an alert. TOLERATED: within the transport tolerance for less than its
    duration (recorded, not an alert). WARNING: beyond the limit, at once. CRITICAL: beyond
    it for the critical delay (the tolerance's duration for a tolerated rise), or beyond it
    by the hard margin at once.
    """
    if level is not Level.BEYOND and level is not Level.TOLERATED:
        return None
    bound = limit.max_c if side > 0 else limit.min_c
    assert bound is not None  # beyond a side implies it has a bound
    if side > 0:
        bound += relax_c
    if side * worst > side * bound + limit.hard_margin_c:
        return Severity.CRITICAL
    if level is Level.TOLERATED and limit.tolerance_min is not None:
        # The tolerance replaces the delays: tolerated, then critical once too long.
        if beyond_ms >= limit.tolerance_min * MINUTE_MS:
            return Severity.CRITICAL
        return Severity.TOLERATED
    if beyond_ms >= limit.critical_delay_min * MINUTE_MS:
        return Severity.CRITICAL
    return Severity.WARNING


def inside_limit(limit: Band, relax_c: float = 0.0) -> tuple[float, float]:
    """[low, high]: the values inside the limit itself (warning band included), where no
    excursion can start; a caller judging many readings can skip `judge` for them."""
    high = math.inf if limit.max_c is None else limit.max_c + relax_c
    low = -math.inf if limit.min_c is None else limit.min_c
    return low, high


def within_band(limit: Band, relax_c: float = 0.0) -> tuple[float, float]:
    """[low, high]: the values `judge` finds WITHIN (for any `in_transport`), so that a
    caller judging many readings against one limit can skip the call for most of them."""
    high = math.inf
    if limit.max_c is not None:
        high = limit.max_c + relax_c
        if limit.warn_max is not None:
            high = min(high, limit.warn_max + relax_c)
    low = -math.inf
    if limit.min_c is not None:
        low = limit.min_c if limit.warn_min is None else max(limit.min_c, limit.warn_min)
    return low, high


def excess_c(value: float, limit: Band, side: int, relax_c: float = 0.0) -> float | None:
    """How far `value` is beyond the bound on `side`, °C (not positive: inside it); None when
    that side has no bound. Degree-minutes and tolerated time are integrated from it."""
    bound = limit.max_c if side > 0 else limit.min_c
    if bound is None:
        return None
    if side > 0:
        bound += relax_c
    return side * value - side * bound
