"""Temperature excursion semantics: when an episode starts, escalates, ends, and its figures.

Used by the channel machine for each side of the band (too warm, too cold). The rules are
explained with worked examples in docs/alerts.md ("Excursion semantics").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alerts.findings import AlertKind, Record, Severity
from alerts.limits import MINUTE_MS, ZoneLimit

if TYPE_CHECKING:
    from alerts.machine import ChannelMachine


def episode(
    m: ChannelMachine,
    record: Record | None,
    s: int,
    t: int,
    v: float,
    synced: bool,
    lim: ZoneLimit,
    limit: float,
    warn: float,
    prev: tuple[ZoneLimit, float] | None,
) -> Record | None:
    """One side (s=+1 too warm, s=-1 too cold) of a temperature excursion."""
    u, u_limit, u_warn = s * v, s * limit, s * warn
    choices = lim.choices
    if record is None:
        record = Record(AlertKind.TEMPERATURE, m.probe_id, m.channel, t, side=s)
        record.limit, record.limit_t_ms = lim, t
    elif m.prev_t is not None and m.prev_v is not None and prev is not None:
        _integrate(m, record, s, t, u, u_limit, prev)
    m.dirty = True
    if u > u_warn - choices.clearance_margin_c:
        record.n += 1 + record.pend_n
        record.sum_v += v + record.pend_sum
        record.pend_n, record.pend_sum = 0, 0.0
    else:  # counted only if the value goes out again before the clearance time
        record.pend_n += 1
        record.pend_sum += v
    if record.peak is None or u > s * record.peak:
        record.peak = v
    if not synced:
        record.clock_unsynced = True
    own = record.limit
    own_bound = None if own is None else own.max_c if s > 0 else own.min_c
    bound = lim.max_c if s > 0 else lim.min_c
    if own_bound is None or (bound is not None and s * bound < s * own_bound):
        record.limit, record.limit_t_ms = lim, t  # judged against a stricter limit now
    if u > u_warn:
        record.last_out_ms = t
        record.clear_since = None
        _severity(record, s, t, u, u_limit, lim)
        return record
    if u > u_warn - choices.clearance_margin_c:
        record.clear_since = None  # back under the margin but not clear of it yet
        return record
    if record.clear_since is None or (m.prev_t is not None and t - m.prev_t > m.ctx.gap_ms):
        record.clear_since = t  # clearance needs unbroken data: after a gap it starts again
    if t - record.clear_since >= choices.clearance_min * MINUTE_MS:
        m.finish(record, record.clear_since, t)
        return None
    return record


def _severity(record: Record, s: int, t: int, u: float, u_limit: float, lim: ZoneLimit) -> None:
    choices = lim.choices
    if u > u_limit:
        if record.beyond_since is None:
            record.beyond_since = t
        beyond_ms = t - record.beyond_since
        tolerance = lim.tolerance_c if s > 0 else None
        if u > u_limit + choices.hard_margin_c:
            record.raise_to(Severity.CRITICAL, t)
        elif tolerance is not None and lim.tolerance_min is not None and u <= u_limit + tolerance:
            if beyond_ms >= lim.tolerance_min * MINUTE_MS:
                record.raise_to(Severity.CRITICAL, t)
            else:
                record.raise_to(Severity.TOLERATED, t)
            return
        elif beyond_ms >= choices.critical_delay_min * MINUTE_MS:
            record.raise_to(Severity.CRITICAL, t)
    if t - record.start_ms >= choices.warning_delay_min * MINUTE_MS:
        record.raise_to(Severity.WARNING, t)


def _integrate(
    m: ChannelMachine,
    record: Record,
    s: int,
    t: int,
    u: float,
    u_limit: float,
    prev: tuple[ZoneLimit, float],
) -> None:
    """Hold the previous reading until this one: time and degree-minutes beyond the limit."""
    assert m.prev_t is not None and m.prev_v is not None
    dt = t - m.prev_t
    prev_lim, prev_relax = prev
    bound = prev_lim.max_c if s > 0 else prev_lim.min_c
    if bound is None:
        return
    if s > 0:
        bound += prev_relax
    prev_u, prev_limit = s * m.prev_v, s * bound
    tolerance = prev_lim.tolerance_c if s > 0 else None
    if dt > m.ctx.gap_ms:
        record.gaps.append((m.prev_t, t))
        if not (prev_u > prev_limit and u > u_limit):
            return  # a gap counts as beyond the limit only when both ends are
        excess = min(prev_u - prev_limit, u - u_limit)
    elif prev_u > prev_limit:
        excess = prev_u - prev_limit
    else:
        return
    record.time_above_ms += dt
    record.degree_ms += excess * dt
    if tolerance is not None and excess <= tolerance:
        record.tolerated_ms += dt
