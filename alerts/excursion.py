"""Temperature excursion semantics: when an episode starts, escalates, ends, and its figures.

Used by the channel machine for each side of the band (too warm, too cold); readings are
judged by `alerts.judgement`. An episode starts at the first reading beyond the legal limit
(a reading near it is a page status, never an excursion); a rise within a transport
tolerance is an episode without an alert until it lasts too long. The rules are explained
with worked examples in docs/alerts.md ("Alert policy", "Excursion semantics").
"""

from __future__ import annotations

from typing import Protocol

from alerts.findings import AlertKind, ProbeChannel, Record, Severity, natural_id
from alerts.judgement import Level, classify, excess_c
from alerts.limits import MINUTE_MS, ZoneLimit

Applied = tuple[ZoneLimit, float]  # a limit and the relaxation it was applied with


class Channel(ProbeChannel, Protocol):
    """What an excursion reads and marks of its probe channel."""


def episode(
    m: Channel,
    record: Record | None,
    s: int,
    t: int,
    v: float,
    synced: bool,
    lim: ZoneLimit,
    relax: float,
    level: Level,
    prev: Applied | None,
) -> Record | None:
    """One side (s=+1 too warm, s=-1 too cold) of a temperature excursion, at a reading
    judged `level` on that side against `lim` raised by `relax`. None once it has ended.
    The machine opens an episode only at a reading beyond the limit (or its tolerance)."""
    choices = lim.choices
    edge = lim.max_c if s > 0 else lim.min_c
    assert edge is not None  # the machine opens no episode on a side without a limit
    if s > 0:
        edge += relax
    if record is None:
        record = Record(AlertKind.TEMPERATURE, m.probe_id, m.channel, t, side=s)
        record.limit, record.limit_t_ms = lim, t
    elif m.prev_t is not None and m.prev_v is not None and prev is not None:
        _integrate(m, record, s, t, v, lim, relax, prev)
    m.dirty = True
    out = level is Level.BEYOND or level is Level.TOLERATED
    # Hysteresis: back inside the limit but not clear of it by the clearance margin.
    lingering = s * v > s * edge - choices.clearance_margin_c
    if lingering:
        record.n += 1 + record.pend_n
        record.sum_v += v + record.pend_sum
        record.pend_n, record.pend_sum = 0, 0.0
    else:  # counted only if the value goes out again before the clearance time
        record.pend_n += 1
        record.pend_sum += v
    if record.peak is None or s * v > s * record.peak:
        record.peak = v
    if not synced:
        record.clock_unsynced = True
    own = record.limit
    own_bound = None if own is None else own.max_c if s > 0 else own.min_c
    bound = lim.max_c if s > 0 else lim.min_c
    if own_bound is None or (bound is not None and s * bound < s * own_bound):
        record.limit, record.limit_t_ms = lim, t  # judged against a stricter limit now
    if out:
        record.last_out_ms = t
        record.clear_since = None
        if record.beyond_since is None:
            record.beyond_since = t
        severity = classify(lim, s, level, v, t - record.beyond_since, relax_c=relax)
        # A rise within the transport tolerance is recorded (tolerated_ms), not alerted.
        if severity is not None and severity is not Severity.TOLERATED:
            record.raise_to(severity, t)
        return record
    if lingering:
        record.clear_since = None
        return record
    if record.clear_since is None or (m.prev_t is not None and t - m.prev_t > m.ctx.gap_ms):
        record.clear_since = t  # clearance needs unbroken data: after a gap it starts again
    if t - record.clear_since >= choices.clearance_min * MINUTE_MS:
        m.finish(record, record.clear_since, t)
        return None
    return record


def _integrate(
    m: Channel,
    record: Record,
    s: int,
    t: int,
    v: float,
    lim: ZoneLimit,
    relax: float,
    prev: Applied,
) -> None:
    """Hold the previous reading until this one: time and degree-minutes beyond the limit."""
    assert m.prev_t is not None and m.prev_v is not None
    dt = t - m.prev_t
    prev_lim, prev_relax = prev
    before = excess_c(m.prev_v, prev_lim, s, prev_relax)
    if before is None:
        return
    tolerance = prev_lim.tolerance_c if s > 0 and m.ctx.in_transport else None
    if dt > m.ctx.gap_ms:
        record.gaps.append((m.prev_t, t))
        now = excess_c(v, lim, s, relax)
        if now is None or not (before > 0 and now > 0):
            return  # a gap counts as beyond the limit only when both ends are
        excess = min(before, now)
    elif before > 0:
        excess = before
    else:
        return
    record.time_above_ms += dt
    record.degree_ms += excess * dt
    if tolerance is not None and excess <= tolerance:
        record.tolerated_ms += dt


def from_warning_band_policy(record: Record, in_transport: bool) -> Record | None:
    """A temperature episode saved by an engine of state version 1, which opened episodes at
    the warning threshold (max - margin) and warned after a delay inside the limit, in
    today's terms: an episode that never went beyond the limit is no excursion (None);
    another one starts at its first reading beyond the limit, warns from there, and a rise
    within a transport tolerance is no alert until it turned critical. Its reading count
    and mean may still include readings of the warning band before that: they are not kept
    one by one in the saved state."""
    start = record.beyond_since
    if start is None:
        return None
    record.start_ms = start
    record.alert_id = natural_id(record.kind, record.probe_id, record.channel, record.side, start)
    record.last_out_ms = max(record.last_out_ms, start)
    severity = record.severity
    if severity is Severity.TOLERATED or severity is None:
        record.severity = record.alert_at_ms = record.critical_at_ms = None
    elif severity is Severity.CRITICAL and in_transport and _tolerance(record) is not None:
        record.alert_at_ms = record.critical_at_ms  # tolerated until it turned critical
    else:
        record.alert_at_ms = start
    return record


def _tolerance(record: Record) -> float | None:
    return None if record.limit is None else record.limit.tolerance_c
