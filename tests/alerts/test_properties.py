"""Properties: the excursions depend on the set of readings, never on how they arrive."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.engine import Engine
from alerts.findings import AlertKind
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, engine_for, excursion_view

# Levels around the 2 °C minced-meat limit (warning from 1.5 °C, hard margin at 5 °C),
# None for a fault reading; some gaps exceed the 10-min data-gap threshold. The whole stream
# stays within the 6-hour reorder history (28 x 12 min), where the property is promised.
LEVELS = st.sampled_from([0.5, 0.5, 1.0, 1.4, 1.7, 2.3, 2.6, 4.0, 6.0, None])
GAPS = st.sampled_from([1, 1, 1, 2, 3, 5, 12])
STEPS = st.lists(st.tuples(LEVELS, GAPS, st.booleans()), min_size=1, max_size=28)
PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
def test_an_excursion_spans_its_out_of_limit_readings(steps):
    readings = [r for r in build(steps) if r.channel == "air"]
    engine = engine_for("minced_meat")
    engine.ingest("loc-1", readings, readings[-1].time_ms)
    warn = 1.5  # 2 °C minus our 0.5 °C margin for minced meat
    for record in engine.records("loc-1"):
        if record.kind is not AlertKind.TEMPERATURE:
            continue
        end = record.end_ms if record.end_ms is not None else 2**62
        inside = [r for r in readings if record.start_ms <= r.time_ms < end and r.value is not None]
        out = [r for r in inside if r.value is not None and r.value > warn]
        assert out and out[0].time_ms == record.start_ms  # starts at its first out reading
        assert record.last_out_ms == out[-1].time_ms
        assert end > record.last_out_ms  # never ends before its last out reading
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


@PROFILE
@given(STEPS, st.integers(1, 6), st.randoms(use_true_random=False))
def test_what_was_published_always_matches_the_excursions(steps, batch, rnd):
    """Whatever the arrival order, the alerts told to people end as the excursions found:
    one published alert per record, same window and severity, none lost, none doubled."""
    readings = build(steps)
    rnd.shuffle(readings)
    engine = engine_for("minced_meat")
    events = []
    for i in range(0, len(readings), batch):
        events.extend(engine.ingest("loc-1", readings[i : i + batch], T0).events)
    views = engine.locations["loc-1"].publisher.views.values()
    published = sorted(
        (v.last["kind"], v.last["start_ms"], v.last["end_ms"], v.last["severity"]) for v in views
    )
    found = sorted(
        (r.kind.value, r.start_ms, r.end_ms, str(r.severity)) for r in engine.records("loc-1")
    )
    assert published == found
    last_event = {e.alert_id: e for e in events}
    assert sorted(a for a, e in last_event.items() if e.event.value != "withdrawn") == sorted(
        a for a in engine.locations["loc-1"].publisher.views
    )
