"""Properties: the excursions depend on the set of readings, never on how they arrive; what
is published carries the engine's figures; a stream inside every legal limit raises nothing.

Arrival orders: one reading at a time in order, shuffled, in batches, and the firmware's own
delivery after an outage (firmware/esp32/uplink.py): while the flash queue is deeper than
`live_threshold` each new reading also goes out at once ("live", the newest 20), so when the
link comes back the newest readings arrive first, then the whole backlog oldest first in
batches of 20 (the live ones again: the engine ignores duplicates).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.config import LocationKind
from alerts.engine import Engine
from alerts.events import AlertEvent, figures, record_fields, record_figures
from alerts.findings import AlertKind, Severity
from alerts.limits import Lot, limit_for_lots
from alerts.profiles import load_profiles
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, engine_for, excursion_view

# Levels around the 2 °C minced-meat limit (near it from 1.5 °C, hard margin at 5 °C),
# None for a fault reading; some gaps exceed the 10-min data-gap threshold. The whole stream
# stays within the 6-hour reorder history (28 x 12 min), where the property is promised.
LEVELS = st.sampled_from([0.5, 0.5, 1.0, 1.4, 1.7, 1.9, 2.0, 2.3, 2.6, 4.0, 6.0, None])
GAPS = st.sampled_from([1, 1, 1, 2, 3, 5, 12])
STEPS = st.lists(st.tuples(LEVELS, GAPS, st.booleans()), min_size=1, max_size=28)
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMIT_C = 2.0  # minced meat, Reg. 853/2004 Annex III Sec. V Ch. III 2(c)

Batches = list[tuple[list[Reading], int]]  # (one message's readings, its arrival time)


def build(steps: list[tuple[float | None, int, bool]]) -> list[Reading]:
    readings, t, door = [], T0, False
    for seq, (value, gap_min, door_open) in enumerate(steps):
        t += gap_min * MIN
        fault = "crc_error" if value is None else None
        readings.append(Reading("p1", "air", t, 2 * seq, value, fault))
        if door_open != door:  # like the firmware: the door is sent as events, on change
            readings.append(Reading("p1", "door", t + 1, 2 * seq + 1, float(door_open)))
            door = door_open
    return readings


def judge(batches: list[list[Reading]]) -> list[tuple[object, ...]]:
    engine = engine_for("minced_meat")
    newest = T0
    for batch in batches:
        newest = max([newest, *(r.time_ms for r in batch)])
        result = engine.ingest("loc-1", batch, newest + 1000)
        assert not result.errors
    return excursion_view(engine.records("loc-1"))


def run(engine: Engine, batches: Batches) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for batch, arrival in batches:
        result = engine.ingest("loc-1", batch, arrival)
        assert not result.errors
        events.extend(result.events)
    return events


# --- arrival orders ---------------------------------------------------------------------


def live(readings: Sequence[Reading]) -> Batches:
    """Each reading as soon as it is taken."""
    return [([r], r.time_ms + 1000) for r in readings]


def after_outage(
    readings: Sequence[Reading], lost: int, order: str, rnd: random.Random, threshold: int = 4
) -> Batches:
    """Live until the link goes at reading `lost`; it comes back with the last reading.
    What was queued then arrives at once, in `order`: "firmware" (newest first, then the
    backlog oldest first, batches of 20), "oldest" (oldest first, batches of 20) or
    "shuffled" (one by one in any order). Every message of the backlog arrives at the same
    wall-clock time, so that arrival times do not depend on the order."""
    before, queued = list(readings[:lost]), list(readings[lost:])
    back = (queued[-1].time_ms if queued else T0) + 1000
    batches = live(before)
    if order == "firmware":
        fresh = [r for depth, r in enumerate(queued, 1) if depth > threshold][-20:]
        if fresh:
            batches.append((fresh, back))
        batches += [(queued[i : i + 20], back) for i in range(0, len(queued), 20)]
    elif order == "oldest":
        batches += [(queued[i : i + 20], back) for i in range(0, len(queued), 20)]
    else:
        mixed = list(queued)
        rnd.shuffle(mixed)
        batches += [([r], back) for r in mixed]
    return batches


ORDERS = st.sampled_from(["firmware", "oldest", "shuffled"])


# --- the excursions ------------------------------------------------------------------------


@PROFILE
@given(STEPS, st.randoms(use_true_random=False))
def test_arrival_order_never_changes_the_excursions(steps, rnd):
    readings = build(steps)
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    in_order = judge([[r] for r in readings])
    assert judge([[r] for r in shuffled]) == in_order


@PROFILE
@given(STEPS, st.lists(st.integers(1, 20), min_size=1, max_size=30))
def test_splitting_into_batches_never_changes_the_excursions(steps, sizes):
    readings = build(steps)
    batches, i = [], 0
    for size in sizes * (len(readings) // max(1, sum(sizes)) + 1):
        if i >= len(readings):
            break
        batches.append(readings[i : i + size])
        i += size
    batches.append(readings[i:])
    assert judge(batches) == judge([[r] for r in readings])


@PROFILE
@given(STEPS)
def test_an_excursion_spans_its_readings_beyond_the_limit(steps):
    readings = [r for r in build(steps) if r.channel == "air"]
    engine = engine_for("minced_meat")
    engine.ingest("loc-1", readings, readings[-1].time_ms)
    for record in engine.records("loc-1"):
        if record.kind is not AlertKind.TEMPERATURE:
            continue
        end = record.end_ms if record.end_ms is not None else 2**62
        inside = [r for r in readings if record.start_ms <= r.time_ms < end and r.value is not None]
        out = [r for r in inside if r.value is not None and r.value > LIMIT_C]
        assert out and out[0].time_ms == record.start_ms  # starts at its first reading beyond
        assert record.alert_at_ms == record.start_ms  # and warns there, at once
        assert record.last_out_ms == out[-1].time_ms
        assert end > record.last_out_ms  # never ends before its last reading beyond
        assert record.peak == max(r.value for r in out if r.value is not None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS, st.integers(0, 60), st.randoms(use_true_random=False))
def test_save_and_restore_anywhere_never_changes_the_excursions(steps, cut, rnd):
    readings = build(steps)
    shuffled = list(readings)
    rnd.shuffle(shuffled)
    cut = min(cut, len(shuffled))
    engine = engine_for("minced_meat")
    for r in shuffled[:cut]:
        engine.ingest("loc-1", [r], T0)
    restored = Engine()
    assert restored.restore(json.loads(json.dumps(engine.save())), T0) == []
    for r in shuffled[cut:]:
        assert not restored.ingest("loc-1", [r], T0).errors
    assert excursion_view(restored.records("loc-1")) == judge([[r] for r in readings])


# --- what is published -----------------------------------------------------------------------


def published_equals_found(engine: Engine, events: list[AlertEvent]) -> None:
    """One published alert per record, carrying every figure of it in its last event (and
    in the view kept for the next comparison); none lost, none doubled."""
    location = engine.locations["loc-1"]
    publisher = location.publisher
    records = engine.records("loc-1")
    assert sorted(publisher.alias.get(r.alert_id, "?") for r in records) == sorted(publisher.views)
    last_event = {e.alert_id: e for e in events}
    assert sorted(a for a, e in last_event.items() if e.event.value != "withdrawn") == sorted(
        publisher.views
    )
    for record in records:
        alert_id = publisher.alias[record.alert_id]
        found = figures(record_fields(record))
        assert record_figures(record) == found  # the publisher's shortcut says the same
        assert figures(publisher.views[alert_id].last) == found
        assert figures(last_event[alert_id].to_dict()) == found


@PROFILE
@given(STEPS, st.integers(1, 6), st.randoms(use_true_random=False))
def test_what_was_published_always_matches_the_excursions(steps, batch, rnd):
    """Whatever the arrival order, the alerts told to people end as the excursions found,
    with every figure: start, end, alert and critical times, peak, readings counted, last
    reading out, time and degree-minutes beyond the limit, gaps."""
    readings = build(steps)
    rnd.shuffle(readings)
    engine = engine_for("minced_meat")
    events = []
    for i in range(0, len(readings), batch):
        events.extend(engine.ingest("loc-1", readings[i : i + batch], T0).events)
    published_equals_found(engine, events)


@PROFILE
@given(STEPS, st.integers(0, 40), ORDERS, st.randoms(use_true_random=False))
def test_after_an_outage_any_delivery_order_publishes_the_same_alerts(steps, lost, order, rnd):
    """The firmware's delivery after an outage (newest first, then the backlog), oldest
    first, or shuffled: the same excursions, the same published figures, and the same
    detected-late verdict, judged on when the critical point became known."""
    readings = build(steps)
    lost = min(lost, len(readings))
    reference = engine_for("minced_meat")
    run(reference, after_outage(readings, lost, "oldest", rnd))
    engine = engine_for("minced_meat")
    events = run(engine, after_outage(readings, lost, order, rnd))
    records = engine.records("loc-1")
    assert excursion_view(records) == excursion_view(reference.records("loc-1"))
    published_equals_found(engine, events)
    mine, theirs = engine.locations["loc-1"].publisher, reference.locations["loc-1"].publisher
    for record in records:
        view = mine.views[mine.alias[record.alert_id]].last
        other = theirs.views[theirs.alias[record.alert_id]].last
        assert view["detected_late"] == other["detected_late"]
        assert view["detected_at_ms"] == other["detected_at_ms"]


@PROFILE
@given(STEPS, st.integers(0, 40), ORDERS, st.randoms(use_true_random=False))
def test_detected_late_is_when_the_critical_point_became_known(steps, lost, order, rnd):
    """An alert is late when the readings that made it critical (or, not critical, raised
    it) arrived more than the data-gap threshold after that point in device time;
    `detected_at` is that arrival, so anyone can check it from the record."""
    readings = build(steps)
    lost = min(lost, len(readings))
    engine = engine_for("minced_meat")
    batches = after_outage(readings, lost, order, rnd)
    run(engine, batches)
    arrivals = {arrival for _, arrival in batches}
    gap_ms = engine.locations["loc-1"].config.gap_ms
    for view in engine.locations["loc-1"].publisher.views.values():
        last = view.last
        due = last["critical_at_ms"] if last["severity"] == "critical" else last["alert_at_ms"]
        assert last["detected_at_ms"] in arrivals
        assert last["detected_late"] == (last["detected_at_ms"] - due > gap_ms)
        raised_live = last["detected_at_ms"] < readings[min(lost, len(readings) - 1)].time_ms
        if raised_live and last["kind"] != "door_open":  # (a door's span may end in a gap)
            assert not last["detected_late"]  # known from its own reading, live: not late


# --- inside every legal limit: nothing ---------------------------------------------------------

PROFILES = load_profiles()
CONTROLLED = sorted(code for code, p in PROFILES.items() if p.temperature_controlled)
FRACTIONS = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=150)  # never 3 h stuck


@st.composite
def legal_streams(draw: st.DrawFn) -> tuple[str, LocationKind, float | None, list[float]]:
    """A category, a place, maybe a lower label temperature, and up to 3 h of readings a
    minute inside the limit in force (its warning band included), moving no faster than a
    real probe can, with, for frozen goods in a van, rises within the legal transport
    tolerance shorter than its duration and cooled down again before the next."""
    category = draw(st.sampled_from(CONTROLLED))
    kind = draw(st.sampled_from([LocationKind.VAN_ZONE, LocationKind.COLD_ROOM]))
    profile = PROFILES[category]
    label = None
    if profile.max_c is not None and draw(st.booleans()):
        floor = profile.min_c if profile.min_c is not None else profile.max_c - 6
        label = round(draw(st.floats(floor + 0.5, profile.max_c - 0.1)), 1)
    lot = Lot("L", category, T0 - MIN, None, label)
    limit = limit_for_lots(PROFILES, [lot], T0, "ambient")
    high = limit.max_c if limit.max_c is not None else (limit.min_c or 0.0) + 15
    low = limit.min_c if limit.min_c is not None else high - 8
    targets = [low + (high - low) * fraction for fraction in draw(FRACTIONS)]
    tolerance = limit.tolerance_c if kind is LocationKind.VAN_ZONE else None
    if tolerance is not None and limit.tolerance_min is not None and limit.max_c is not None:
        # Beyond the max for at most `rise` + 2 min (the ramps): under the 30 min (ours).
        rise = draw(st.integers(1, int(limit.tolerance_min) - 5))
        at = draw(st.integers(0, len(targets)))
        peak = limit.max_c + draw(st.floats(0.1, tolerance))
        calm = limit.max_c - 0.5  # cleared before and after (clearance: 0.3 °C, 10 min)
        targets[at:at] = [calm] * 10 + [peak] * rise + [calm] * 10
    values: list[float] = []
    for target in targets:
        previous = values[-1] if values else target
        step = max(-1.5, min(1.5, target - previous))  # a probe's thermal mass
        values.append(round(previous + step, 2))
    return category, kind, label, values


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(legal_streams(), ORDERS, st.randoms(use_true_random=False))
def test_a_stream_inside_every_legal_limit_raises_nothing(stream, order, rnd):
    """Inside the legal limit (and a lower label's, and the transport tolerance for frozen
    goods in a van) there is no alert, however near the limit and however the readings
    arrive: no event at all, so nothing rings, is e-mailed or escalates."""
    category, kind, label, values = stream
    engine = engine_for(category, kind=kind) if kind is LocationKind.COLD_ROOM else None
    if engine is None:
        engine = engine_for("ambient", lots=[Lot("L", category, T0 - MIN, None, label)])
    elif label is not None:
        engine = engine_for(category, kind=kind, label_max_c=label)
    readings = [
        Reading("p1", channel, T0 + i * MIN + offset, 2 * i + offset, value)
        for i, value in enumerate(values)
        for channel, offset in (("product", 0), ("air", 1))
    ]
    assert all(math.isfinite(r.value or 0.0) for r in readings)
    events = run(engine, after_outage(readings, len(readings) // 2, order, rnd))
    assert events == []
    assert [r for r in engine.records("loc-1") if r.severity is not Severity.INFO] == []
