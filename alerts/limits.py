"""The limit in force for a location at each moment.

A van zone's limit follows its cargo: the strictest of the lots on board at that moment
(minced meat on board makes the zone a 2 °C zone). A label storage temperature lower than
the legal one wins (AFSCA retail guide G-007). A cold room uses its configured category,
with the room's own label temperature if it has one (the location's `label_max_c`); a van
zone with nothing on board uses its own setting.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from alerts.profiles import Basis, HaccpChoices, ProductProfile

MINUTE_MS = 60_000


class UnknownCategory(ValueError):
    """A lot or a location names a category that is not in the profile file."""


@dataclass(frozen=True, slots=True)
class Lot:
    """A lot on board a van zone during [on_ms, off_ms) (device time, UTC ms)."""

    lot_id: str
    category: str
    on_ms: int
    off_ms: int | None = None  # None: still on board
    label_max_c: float | None = None  # storage temperature printed on the label

    def on_board(self, t_ms: int) -> bool:
        return self.on_ms <= t_ms and (self.off_ms is None or t_ms < self.off_ms)


@dataclass(frozen=True, slots=True)
class ZoneLimit:
    """Thresholds in force, with where each comes from. `None` max and min: not controlled."""

    max_c: float | None
    min_c: float | None
    max_category: str | None  # the category (or lot's label) that sets the max
    min_category: str | None
    max_basis: str | None  # Basis value, or "label" when a lower label temperature wins
    min_basis: str | None
    label_applied: bool
    warn_max: float | None
    warn_min: float | None
    choices: HaccpChoices
    tolerance_c: float | None  # transport tolerance above max (frozen food in a van)
    tolerance_min: float | None
    categories: tuple[str, ...]  # every category the limit was computed from
    lot_ids: tuple[str, ...]

    @property
    def controlled(self) -> bool:
        return self.max_c is not None or self.min_c is not None

    # The rules `alerts.judgement.classify` reads, by name (a sealed record states them so).
    @property
    def hard_margin_c(self) -> float:
        return self.choices.hard_margin_c

    @property
    def critical_delay_min(self) -> float:
        return self.choices.critical_delay_min

    @property
    def warning_delay_min(self) -> float:
        return self.choices.warning_delay_min

    @property
    def conflict(self) -> bool:
        """Lots whose bands do not overlap (eggs at 5 °C minimum with minced meat at 2 °C)."""
        return self.max_c is not None and self.min_c is not None and self.min_c >= self.max_c


@dataclass(frozen=True, slots=True)
class _Entry:
    profile: ProductProfile
    label_max_c: float | None
    lot_id: str | None


def _profile(profiles: Mapping[str, ProductProfile], code: str) -> ProductProfile:
    try:
        return profiles[code]
    except KeyError:
        raise UnknownCategory(f"unknown product category {code!r}") from None


def _effective_max(entry: _Entry) -> tuple[float | None, str | None]:
    legal = entry.profile.max_c
    label = entry.label_max_c
    if label is not None and (legal is None or label < legal):
        return label, "label"  # G-007: a lower label temperature applies
    if legal is None or entry.profile.max is None:
        return None, None
    return legal, entry.profile.max.basis.value


def zone_limit(entries: Sequence[_Entry], transport: bool) -> ZoneLimit:
    """The strictest of `entries`: lowest max, highest min; margins follow the strictest max."""
    best_max: tuple[float, str, _Entry] | None = None
    best_min: tuple[float, str, _Entry] | None = None
    for entry in entries:
        value, basis = _effective_max(entry)
        if value is not None and basis is not None and (best_max is None or value < best_max[0]):
            best_max = (value, basis, entry)
        low = entry.profile.min
        if low is not None and (best_min is None or low.value > best_min[0]):
            best_min = (low.value, low.basis.value, entry)
    governing = best_max[2] if best_max else best_min[2] if best_min else entries[0]
    choices = governing.profile.choices
    tolerance = governing.profile.transport_tolerance if transport and best_max else None
    if best_max and best_max[1] == "label":
        tolerance = None  # a label temperature has no legal tolerance attached
    max_c = best_max[0] if best_max else None
    min_c = best_min[0] if best_min else None
    return ZoneLimit(
        max_c=max_c,
        min_c=min_c,
        max_category=best_max[2].profile.code if best_max else None,
        min_category=best_min[2].profile.code if best_min else None,
        max_basis=best_max[1] if best_max else None,
        min_basis=best_min[1] if best_min else None,
        label_applied=bool(best_max and best_max[1] == "label"),
        warn_max=None if max_c is None else max_c - choices.warning_margin_c,
        warn_min=None if min_c is None else min_c + choices.low_warning_margin_c,
        choices=choices,
        tolerance_c=tolerance.value_c if tolerance else None,
        tolerance_min=tolerance.max_duration_min if tolerance else None,
        categories=tuple(sorted({e.profile.code for e in entries})),
        lot_ids=tuple(sorted(e.lot_id for e in entries if e.lot_id is not None)),
    )


def limit_for_category(
    profiles: Mapping[str, ProductProfile],
    category: str,
    label_max_c: float | None = None,
    transport: bool = False,
) -> ZoneLimit:
    return zone_limit([_Entry(_profile(profiles, category), label_max_c, None)], transport)


def limit_for_cargo(
    profiles: Mapping[str, ProductProfile],
    loads: Iterable[tuple[str, float | None]],
    transport: bool = True,
) -> ZoneLimit | None:
    """The limit for a set of (category, label max) loads together, whatever their times:
    e.g. the whole cargo planned for a zone, which it must be pre-cooled for. None if empty."""
    entries = [_Entry(_profile(profiles, category), label, None) for category, label in loads]
    return zone_limit(entries, transport) if entries else None


def limit_for_lots(
    profiles: Mapping[str, ProductProfile],
    lots: Iterable[Lot],
    at_ms: int,
    fallback_category: str,
    fallback_label_max_c: float | None = None,
) -> ZoneLimit:
    """The limit of a van zone at `at_ms`: strictest lot on board, else the zone's own setting."""
    on_board = [
        _Entry(_profile(profiles, lot.category), lot.label_max_c, lot.lot_id)
        for lot in lots
        if lot.on_board(at_ms)
    ]
    if not on_board:
        return limit_for_category(profiles, fallback_category, fallback_label_max_c, True)
    return zone_limit(on_board, transport=True)


class LimitTimeline:
    """Piecewise-constant limit: segment i holds from starts[i] until starts[i + 1]."""

    __slots__ = ("limits", "starts")

    def __init__(self, base: ZoneLimit, changes: Sequence[tuple[int, ZoneLimit]] = ()) -> None:
        starts: list[int] = [-(2**62)]
        limits: list[ZoneLimit] = [base]
        for start, limit in sorted(changes, key=lambda change: change[0]):
            if limit == limits[-1]:
                continue
            if start == starts[-1]:
                limits[-1] = limit
            else:
                starts.append(start)
                limits.append(limit)
        self.starts = starts
        self.limits = limits

    def segment(self, t_ms: int) -> tuple[ZoneLimit, int, int]:
        """The limit at `t_ms`, with the [start, end) of the segment it holds in."""
        i = bisect.bisect_right(self.starts, t_ms) - 1
        end = self.starts[i + 1] if i + 1 < len(self.starts) else 2**62
        return self.limits[i], self.starts[i], end

    def at(self, t_ms: int) -> ZoneLimit:
        return self.segment(t_ms)[0]

    def first_difference(self, other: LimitTimeline) -> int | None:
        """Earliest time at which the two timelines disagree, None when they never do."""
        for t in sorted(set(self.starts) | set(other.starts)):
            if self.at(t) != other.at(t):
                return t
        return None


def timeline_for_lots(
    profiles: Mapping[str, ProductProfile],
    lots: Sequence[Lot],
    fallback_category: str,
    fallback_label_max_c: float | None = None,
) -> LimitTimeline:
    """The limit of a van zone over time, from its lots' on-board intervals."""
    boundaries = sorted({lot.on_ms for lot in lots} | {lot.off_ms for lot in lots if lot.off_ms})
    base = limit_for_category(profiles, fallback_category, fallback_label_max_c, True)
    changes = [
        (t, limit_for_lots(profiles, lots, t, fallback_category, fallback_label_max_c))
        for t in boundaries
    ]
    return LimitTimeline(base, changes)


__all__ = [
    "MINUTE_MS",
    "Basis",
    "LimitTimeline",
    "Lot",
    "UnknownCategory",
    "ZoneLimit",
    "limit_for_category",
    "limit_for_lots",
    "timeline_for_lots",
]
