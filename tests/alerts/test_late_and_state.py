"""Late data judged where it belongs in device time; state saved and restored; bad input."""

from __future__ import annotations

import json
import math

import pytest

from alerts.config import LocationConfig, LocationKind
from alerts.engine import ConfigError, Engine
from alerts.events import EventType
from alerts.findings import AlertKind, Severity
from alerts.limits import Lot
from coldchain.protocol import Reading
from tests.alerts.helpers import (
    MIN,
    T0,
    config,
    engine_for,
    excursion_view,
    feed,
    minutes,
    told,
)


def test_van_back_in_coverage_reveals_an_excursion_detected_late():
    engine = engine_for("minced_meat")
    readings = minutes([0.5] * 10 + [3.0] * 25 + [0.5] * 20)
    live, backlog, after = readings[:10], readings[10:50], readings[50:]
    feed(engine, live)
    # out of coverage for 40 minutes: the probe is silent, then sends its backlog
    silence = engine.check_silence(T0 + 25 * MIN)
    assert [e.kind for e in silence] == [AlertKind.PROBE_OFFLINE]
    arrival = T0 + 50 * MIN
    events = engine.ingest("loc-1", backlog, arrival).events
    temperature = [e for e in events if e.kind is AlertKind.TEMPERATURE]
    assert [e.event for e in temperature] == [EventType.OPENED, EventType.RESOLVED]
    opened = temperature[0]
    assert opened.detected_late and opened.detected_at_ms == arrival
    assert opened.start_ms == T0 + 10 * MIN and opened.end_ms == T0 + 35 * MIN
    assert opened.severity is Severity.CRITICAL and opened.alert_at_ms == T0 + 10 * MIN
    assert opened.critical_at_ms == T0 + 25 * MIN  # known 25 min later: late
    assert [e.event for e in events if e.kind is AlertKind.PROBE_OFFLINE] == [EventType.RESOLVED]
    feed(engine, after)


def test_late_readings_into_a_gap_give_the_same_excursion_as_live_ones():
    readings = minutes([0.5] * 10 + [3.0] * 25 + [0.5] * 20)
    live = engine_for("minced_meat")
    feed(live, readings)
    late = engine_for("minced_meat")
    feed(late, readings[:10] + readings[50:])  # the tail arrives first
    feed(late, readings[10:50], live=False)  # then the backlog
    assert excursion_view(late.records("loc-1")) == excursion_view(live.records("loc-1"))


def test_late_readings_that_split_an_excursion_change_the_alert_to_what_they_show():
    engine = engine_for("minced_meat")
    readings = minutes([0.5] * 5 + [3.0] + [0.5] * 25 + [3.0] + [0.5] * 15)
    first, gap, rest = readings[:6], readings[6:31], readings[31:]
    feed(engine, first + rest)  # a 26-minute gap at 3 °C at both ends: one critical excursion
    [record] = engine.records("loc-1")
    assert record.gaps and record.severity is Severity.CRITICAL
    events = told(engine.ingest("loc-1", gap, T0 + 60 * MIN).events)
    # The gap was in fact fine: two readings beyond 2 °C, each a warning, none critical.
    assert [(e.event, e.severity, e.start_ms) for e in events] == [
        (EventType.UPDATED, Severity.WARNING, T0 + 5 * MIN),
        (EventType.OPENED, Severity.WARNING, T0 + 31 * MIN),
        (EventType.RESOLVED, Severity.WARNING, T0 + 31 * MIN),
    ]
    assert events[0].alert_id == record.alert_id and events[0].critical_at_ms is None
    assert [r.severity for r in engine.records("loc-1")] == [Severity.WARNING] * 2


def test_a_lot_dropped_earlier_than_known_withdraws_the_alert():
    """The minced meat (2 °C) had left the zone before it warmed to 3 °C: the zone was a
    7 °C zone then, the readings were legal, and the alert is withdrawn."""
    lots = [Lot("M", "minced_meat", T0 - MIN), Lot("C", "chilled_retail", T0 - MIN)]
    engine = engine_for("ambient", lots=lots)
    feed(engine, minutes([0.5] * 5 + [3.0] * 20 + [0.5] * 15))
    assert [r.severity for r in engine.records("loc-1")] == [Severity.CRITICAL]
    dropped = [Lot("M", "minced_meat", T0 - MIN, T0 + 4 * MIN), lots[1]]
    events = told(engine.set_lots("loc-1", dropped, T0 + 41 * MIN))
    assert [e.event for e in events] == [EventType.WITHDRAWN]
    assert engine.records("loc-1") == [] and engine.open_alerts() == []


def test_reading_older_than_the_reorder_history_is_refused_and_kept():
    engine = engine_for("minced_meat")
    feed(engine, minutes([0.5] * 50, step_ms=10 * MIN))  # 8 h 20 min; history is 6 h
    old = minutes([9.0], start=T0 + 30 * MIN + 1)
    result = engine.ingest("loc-1", old, T0 + 9 * 3_600_000)
    assert [e.reason for e in result.errors] == ["beyond_reorder_history"]
    assert engine.rejected[-1].item is old[0] and engine.counters["beyond_reorder_history"] == 1


def test_duplicates_change_nothing():
    readings = minutes([0.5] * 5 + [3.0] * 20 + [0.5] * 15)
    once, twice = engine_for("minced_meat"), engine_for("minced_meat")
    feed(once, readings)
    feed(twice, readings)
    assert feed(twice, readings) == []
    assert excursion_view(twice.records("loc-1")) == excursion_view(once.records("loc-1"))


@pytest.mark.parametrize("cut", [8, 17, 22, 30])
def test_save_and_restore_mid_excursion_neither_re_raises_nor_forgets(cut):
    readings = minutes([0.5] * 5 + [3.0] * 20 + [0.5] * 15)
    reference = engine_for("minced_meat")
    expected = feed(reference, readings)

    engine = engine_for("minced_meat")
    before = feed(engine, readings[:cut])
    state = json.loads(json.dumps(engine.save()))  # through JSON, as the server stores it
    restored = Engine()
    assert restored.restore(state, readings[cut - 1].time_ms + 2000) == []
    after = feed(restored, readings[cut:])
    strip = [(e.event, e.severity, e.alert_id, e.start_ms, e.end_ms) for e in before + after]
    assert strip == [(e.event, e.severity, e.alert_id, e.start_ms, e.end_ms) for e in expected]
    assert excursion_view(restored.records("loc-1")) == excursion_view(reference.records("loc-1"))


def test_restore_keeps_offline_alerts_and_lots():
    lots = [Lot("M", "minced_meat", T0 - MIN)]
    engine = engine_for("ambient", lots=lots, probes=("p2",))
    feed(engine, minutes([0.5] * 3))
    assert engine.check_silence(T0 + 15 * MIN)
    restored = Engine()
    assert restored.restore(json.loads(json.dumps(engine.save())), T0 + 16 * MIN) == []
    assert told(restored.check_silence(T0 + 17 * MIN)) == []  # still open, nothing to say
    assert restored.locations["loc-1"].lots == tuple(lots)


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        (Reading("p1", "air", T0, 1, math.nan), "non_finite_value"),
        (Reading("p1", "air", T0, 1, math.inf), "non_finite_value"),
        (Reading("p1", "smell", T0, 1, 1.0), "unknown_channel"),
        (Reading("p1", "air", T0, 1, None), "malformed_reading"),
        (Reading("p1", "air", "soon", 1, 1.0), "malformed_reading"),  # type: ignore[arg-type]
        (Reading("p1", "air", T0, 1, "3"), "malformed_reading"),  # type: ignore[arg-type]
        ({"c": "air", "v": 1.0}, "malformed_reading"),
        (None, "malformed_reading"),
    ],
)
def test_malformed_reading_is_an_error_not_a_crash(reading, reason):
    engine = engine_for("minced_meat")
    good = minutes([0.5, 0.6], start=T0 + MIN)
    result = engine.ingest("loc-1", [reading, *good], T0 + 3 * MIN)
    assert [e.reason for e in result.errors] == [reason]
    assert result.errors[0].item is reading and engine.rejected[-1].item is reading
    assert engine.counters[reason] == 1 and engine.counters["readings"] == 2


def test_unknown_location_and_category_are_clear_errors():
    engine = engine_for("minced_meat")
    result = engine.ingest("nowhere", minutes([1.0]), T0)
    assert [e.reason for e in result.errors] == ["unknown_location"]
    with pytest.raises(ConfigError, match="unknown product category 'caviar'"):
        engine.configure(config("caviar"), T0)
    with pytest.raises(ConfigError, match="unknown product category"):
        engine.set_lots("loc-1", [Lot("X", "caviar", T0)], T0)
    room = LocationConfig("room", LocationKind.COLD_ROOM, "Chambre", "offal")
    with pytest.raises(ConfigError, match="van zones"):
        engine.configure(room, T0, [Lot("X", "offal", T0)])
    # the engine still works after refusing all that
    assert engine.ingest("loc-1", minutes([1.0]), T0).errors == []


def test_a_bug_in_one_location_does_not_stop_the_others(monkeypatch):
    engine = engine_for("minced_meat")
    engine.configure(LocationConfig("other", LocationKind.COLD_ROOM, "B", "offal"), T0)

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.locations["other"], "ingest", broken)
    result = engine.ingest("other", minutes([1.0]), T0)
    assert [e.reason for e in result.errors] == ["internal_error"]
    assert engine.ingest("loc-1", minutes([1.0]), T0).errors == []


def test_late_reading_after_a_restore_is_still_placed_in_order():
    readings = minutes([0.5] * 5 + [3.0] * 20 + [0.5] * 15)
    reference = engine_for("minced_meat")
    feed(reference, readings)
    engine = engine_for("minced_meat")
    held_back = readings[12]  # arrives only after the restart
    feed(engine, [r for r in readings[:30] if r is not held_back])
    restored = Engine()
    restored.restore(json.loads(json.dumps(engine.save())), T0 + 31 * MIN)
    feed(restored, [held_back, *readings[30:]])
    assert excursion_view(restored.records("loc-1")) == excursion_view(reference.records("loc-1"))


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: {"version": 99},
        lambda s: "not a dict",
        lambda s: {**s, "parts": None},
        lambda s: {**s, "parts": {**s["parts"], "loc/loc-1": {"part": "location", "config": {}}}},
        lambda s: {**s, "parts": {**s["parts"], "meta": {**s["parts"]["meta"], "version": 2}}},
        lambda s: {
            **s,
            "parts": {
                **s["parts"],
                "pr/loc-1/p1": {
                    **s["parts"]["pr/loc-1/p1"],
                    "streams": {"smell": s["parts"]["pr/loc-1/p1"]["streams"]["air"]},
                },
                "ck/loc-1/p1/smell": {**s["parts"]["ck/loc-1/p1/air"], "channel": "smell"},
                "rw/loc-1/p1/smell": {**s["parts"]["rw/loc-1/p1/air"], "channel": "smell"},
            },
        },
        lambda s: {**s, "parts": {**s["parts"], "pr/loc-1/p1": {"part": "probe"}}},
        lambda s: {  # a stream without the readings sealed before its newest
            **s,
            "parts": {k: v for k, v in s["parts"].items() if k != "rw/loc-1/p1/air"},
        },
        lambda s: {
            **s,
            "parts": {
                **s["parts"],
                "loc/loc-1": {**s["parts"]["loc/loc-1"], "lots": [["L", "caviar", 0, None, None]]},
            },
        },
    ],
)  # fmt: skip
def test_unreadable_state_is_refused_and_changes_nothing(mangle):
    engine = engine_for("minced_meat")
    feed(engine, minutes([0.5] * 5 + [3.0] * 20))
    state = json.loads(json.dumps(engine.save()))
    target = engine_for("offal")
    with pytest.raises(ConfigError):
        target.restore(mangle(state), T0)
    assert target.locations["loc-1"].config.category == "offal"


def test_eight_hour_outage_live_readings_first_then_backlog_oldest_first():
    """The firmware's uplink: after a long outage the newest readings go out at once as
    'live' messages, then the backlog oldest first in batches of 20 (firmware/esp32/uplink.py)."""
    values = [0.5, 0.6] * 105 + [3.0, 3.1] * 15 + [0.5, 0.6] * 135
    readings = minutes(values)
    reference = engine_for("minced_meat")
    feed(reference, readings)

    engine = engine_for("minced_meat")
    feed(engine, readings[:10])  # then 8 h 20 min out of coverage
    arrival = readings[-1].time_ms + 1000
    live = readings[-10:]
    events = engine.ingest("loc-1", live, arrival).events
    backlog = readings[10:-10]
    for i in range(0, len(backlog), 20):
        result = engine.ingest("loc-1", backlog[i : i + 20], arrival + i * 50)
        assert not result.errors
        events.extend(result.events)
    assert {e.kind for e in events} == {AlertKind.TEMPERATURE}
    assert [e.event for e in told(events)] == [EventType.OPENED, EventType.RESOLVED]
    assert all(e.detected_late for e in events)
    assert events[0].start_ms == T0 + 210 * MIN and events[-1].end_ms == T0 + 240 * MIN
    assert excursion_view(engine.records("loc-1")) == excursion_view(reference.records("loc-1"))
