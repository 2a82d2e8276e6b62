"""Table-driven excursion scenarios per product category, each citing its limit's source.

The policy (docs/alerts.md, "Alert policy"): inside the legal limit no alert, however near;
beyond it a warning at once, critical after 15 min (ours) or 3 °C beyond it at once; a
frozen rise within the legal transport tolerance is no alert until it lasts 30 min (ours).
"""

from __future__ import annotations

import pytest

from alerts.config import LocationKind
from alerts.events import EventType
from alerts.findings import AlertKind, Severity
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, engine_for, feed, minutes, told

VAN, ROOM = LocationKind.VAN_ZONE, LocationKind.COLD_ROOM

# (category, location kind, in-band baseline, excursion value, minutes, expected, source)
SCENARIOS = [
    ("fresh_meat_ungulates", ROOM, 3.0, 8.0, 20, Severity.CRITICAL, "853/2004 III-I-VII: 7 °C"),
    ("fresh_meat_ungulates", ROOM, 3.0, 6.5, 20, None, "853/2004 III-I-VII: 7 °C, legal"),
    ("fresh_meat_ungulates", ROOM, 3.0, 7.5, 10, Severity.WARNING, "853/2004 III-I-VII: 7 °C"),
    ("offal", ROOM, 1.0, 3.5, 20, Severity.CRITICAL, "853/2004 III-I-VII: 3 °C"),
    ("poultry_meat", VAN, 2.0, 4.3, 3, Severity.WARNING, "853/2004 III-II: 4 °C, beyond it"),
    ("poultry_meat", VAN, 2.0, 3.9, 30, None, "853/2004 III-II: 4 °C, near but legal"),
    ("poultry_meat", VAN, 2.0, -3.0, 20, Severity.CRITICAL, "543/2008 art. 6: -2..+4 °C"),
    ("minced_meat", VAN, 0.5, 2.6, 20, Severity.CRITICAL, "853/2004 III-V-III 2(c): 2 °C"),
    ("minced_meat", VAN, 0.5, 1.6, 60, None, "853/2004 III-V-III 2(c): 2 °C, legal"),
    ("meat_preparations", VAN, 2.0, 4.5, 12, Severity.WARNING, "853/2004 III-V-III: 4 °C"),
    ("mechanically_separated_meat", ROOM, 0.5, 5.5, 1, Severity.CRITICAL, "AFSCA: 2 °C, hard"),
    ("fresh_fishery", ROOM, 1.0, 2.5, 20, Severity.CRITICAL, "ours: 0..2 °C melting ice"),
    ("fresh_fishery", ROOM, 1.0, -0.8, 20, Severity.CRITICAL, "ours: 0..2 °C melting ice"),
    ("frozen_fishery", VAN, -22.0, -16.0, 10, None, "853/2004 III-VIII-VII +3, tolerated"),
    ("frozen_fishery", VAN, -22.0, -14.0, 10, Severity.CRITICAL, "853/2004 III-VIII-VII +3"),
    ("quick_frozen", VAN, -22.0, -16.0, 10, None, "89/108 art. 5: +3 transport, tolerated"),
    ("quick_frozen", VAN, -22.0, -19.0, 60, None, "89/108 art. 5: -18 °C, legal"),
    ("quick_frozen", VAN, -22.0, -14.0, 10, Severity.CRITICAL, "89/108 art. 5: +3 transport"),
    ("quick_frozen", ROOM, -22.0, -16.0, 20, Severity.CRITICAL, "89/108: -18 °C in storage"),
    ("quick_frozen", VAN, -22.0, -16.0, 40, Severity.CRITICAL, "89/108 'brief': ours 30 min"),
    ("frozen_poultry", VAN, -16.0, -10.0, 10, None, "543/2008: -12 °C, +3, tolerated"),
    ("raw_milk_daily_collection", ROOM, 4.0, 9.0, 20, Severity.CRITICAL, "853/2004 IX: 8 °C"),
    ("raw_milk_not_daily", ROOM, 4.0, 7.0, 20, Severity.CRITICAL, "853/2004 IX: 6 °C"),
    ("raw_milk_transport", VAN, 4.0, 9.5, 20, None, "853/2004 IX: 10 °C, legal"),
    ("raw_milk_transport", VAN, 4.0, 10.5, 12, Severity.WARNING, "853/2004 IX: 10 °C"),
    ("shell_eggs", ROOM, 12.0, 22.0, 70, Severity.CRITICAL, "ours: heat above 20 °C"),
    ("shell_eggs", ROOM, 12.0, 3.0, 40, Severity.WARNING, "ours: condensation below 5 °C"),
    ("chilled_retail", ROOM, 3.0, 7.5, 20, Severity.CRITICAL, "AR 13/07/2014 ann. IV: 7 °C"),
    ("ice_cream", VAN, -24.0, -19.0, 20, Severity.CRITICAL, "ATP annex 2: -20 °C"),
    ("ambient", VAN, 15.0, 30.0, 60, None, "not temperature-controlled"),
]


@pytest.mark.parametrize(
    ("category", "kind", "base", "value", "duration", "expected", "source"),
    SCENARIOS,
    ids=[f"{s[0]}-{s[3]}C-{s[4]}min" for s in SCENARIOS],
)
def test_category_scenario(category, kind, base, value, duration, expected, source):
    del source  # cited in the table for the reader
    engine = engine_for(category, kind)
    values = [base] * 5 + [value] * duration + [base] * 20
    events = feed(engine, minutes(values))
    temperature = [e for e in told(events) if e.kind is AlertKind.TEMPERATURE]
    if expected is None:
        assert temperature == []
        if category != "ambient":  # (30 °C at once is an impossible jump for the probe)
            assert events == []  # inside the legal limit: no event of any kind
        return
    assert temperature, "an alert was expected"
    assert temperature[-1].event is EventType.RESOLVED
    assert temperature[-1].severity is expected
    assert temperature[0].limit is not None and temperature[0].limit["legal_source"]
    record = engine.records("loc-1")[0]
    assert record.start_ms == T0 + 5 * MIN
    assert record.last_out_ms == T0 + (5 + duration - 1) * MIN
    assert record.end_ms == T0 + (5 + duration) * MIN
    assert record.peak == value


def test_minced_meat_critical_carries_the_alert_record():
    engine = engine_for("minced_meat")
    events = told(feed(engine, minutes([0.5] * 5 + [2.6] * 20 + [0.5] * 15)))
    kinds = [(e.event, e.severity) for e in events]
    # a warning at the first reading beyond 2 °C, critical 15 min later
    assert kinds == [
        (EventType.OPENED, Severity.WARNING),
        (EventType.ESCALATED, Severity.CRITICAL),
        (EventType.RESOLVED, Severity.CRITICAL),
    ]
    opened, escalated, resolved = events
    assert opened.alert_at_ms == T0 + 5 * MIN and escalated.critical_at_ms == T0 + 20 * MIN
    assert opened.detected_at_ms == T0 + 5 * MIN + 1000  # when that reading arrived
    assert escalated.detected_at_ms == T0 + 20 * MIN + 1000  # first known critical
    assert resolved.detected_at_ms == escalated.detected_at_ms
    assert not opened.detected_late and not escalated.detected_late
    assert not resolved.detected_late  # known once the clearance time has passed, not late
    assert resolved.duration_ms == 20 * MIN and resolved.n_readings == 20
    assert resolved.time_above_ms == 20 * MIN
    assert resolved.degree_minutes == pytest.approx(0.6 * 20)
    assert resolved.mean == pytest.approx(2.6)
    assert resolved.limit is not None
    assert resolved.limit["max_c"] == 2.0 and resolved.limit["basis"] == "law"
    assert "853/2004" in resolved.limit["legal_source"]
    assert resolved.limit["our_choices"]["critical_delay_min"] == 15
    assert resolved.text_fr.startswith("Zone A : 2,6 °C au-dessus de la limite de 2 °C")
    assert "viande hachée" in resolved.text_fr and "air" in resolved.text_fr
    assert resolved.text_en.startswith("Zone A: 2.6 °C above the 2 °C limit")


def test_value_dancing_on_the_limit_makes_one_excursion():
    engine = engine_for("poultry_meat")
    dance = [4.2, 3.8] * 30  # hysteresis: 3.8 is not clear of 4 °C by the 0.3 °C margin
    feed(engine, minutes([2.0] * 5 + dance + [2.0] * 15))
    records = engine.records("loc-1")
    assert len(records) == 1
    assert records[0].severity is Severity.CRITICAL
    assert records[0].time_above_ms == 30 * MIN  # only the minutes at 4.2 °C


def test_short_dip_inside_does_not_end_the_excursion():
    engine = engine_for("minced_meat")
    values = [0.5] * 5 + [2.6] * 8 + [0.5] * 5 + [2.6] * 8 + [0.5] * 15
    feed(engine, minutes(values))
    records = engine.records("loc-1")
    assert len(records) == 1  # the 5-minute dip is shorter than our 10-min clearance
    assert records[0].end_ms == T0 + 26 * MIN and records[0].n == 21


def test_quick_frozen_rise_within_the_tolerance_is_no_alert_until_it_lasts_too_long():
    """89/108 allows brief rises of 3 °C in transport: no alert (the load's sealed record
    shows the tolerance used, server/records/verdict.py); 30 min of it (ours) is critical."""
    engine = engine_for("quick_frozen")
    assert feed(engine, minutes([-22.0] * 5 + [-16.0] * 10 + [-22.0] * 15)) == []
    assert engine.records("loc-1") == []
    engine = engine_for("quick_frozen")
    events = told(feed(engine, minutes([-22.0] * 5 + [-16.0] * 35 + [-22.0] * 15)))
    assert [(e.event, e.severity) for e in events] == [
        (EventType.OPENED, Severity.CRITICAL),
        (EventType.RESOLVED, Severity.CRITICAL),
    ]
    assert events[0].alert_at_ms == events[0].critical_at_ms == T0 + 35 * MIN
    assert events[0].start_ms == T0 + 5 * MIN
    limit = events[-1].limit
    assert events[-1].tolerated_ms == 35 * MIN and limit and limit["tolerance_c"] == 3.0


def test_door_open_too_long():
    engine = engine_for("chilled_retail", door_open_max_min=5)
    door = minutes([0] * 3 + [1] * 3 + [0] * 3 + [1] * 8 + [0] * 2, channel="door")
    events = told(feed(engine, door))
    assert [(e.kind, e.event) for e in events] == [
        (AlertKind.DOOR_OPEN, EventType.OPENED),
        (AlertKind.DOOR_OPEN, EventType.RESOLVED),
    ]
    assert events[0].start_ms == T0 + 9 * MIN and events[0].alert_at_ms == T0 + 14 * MIN
    assert events[1].end_ms == T0 + 17 * MIN
    assert "porte" in events[0].text_fr


def test_door_sent_as_events_is_judged_open_until_it_closes():
    """The firmware sends the door only on change; air readings show it is still open."""
    engine = engine_for("chilled_retail", door_open_max_min=5)
    readings = minutes([3.0] * 20)
    readings.insert(2, Reading("p1", "door", T0 + 2 * MIN + 500, 1000, 1.0))
    readings.insert(16, Reading("p1", "door", T0 + 14 * MIN + 500, 1001, 0.0))
    events = [e for e in told(feed(engine, readings)) if e.kind is AlertKind.DOOR_OPEN]
    assert [e.event for e in events] == [EventType.OPENED, EventType.RESOLVED]
    assert events[0].alert_at_ms == T0 + 7 * MIN + 500
    assert events[0].detected_at_ms == T0 + 8 * MIN + 1000  # the air reading that showed it
    assert events[1].end_ms == T0 + 14 * MIN + 500 and events[1].duration_ms == 12 * MIN


def test_door_close_event_arriving_late_withdraws_the_door_alert():
    engine = engine_for("chilled_retail", door_open_max_min=5)
    feed(engine, [Reading("p1", "door", T0, 1000, 1.0)])
    opened = told(feed(engine, minutes([3.0] * 10, start=T0 + MIN)))
    assert [(e.kind, e.event) for e in opened] == [(AlertKind.DOOR_OPEN, EventType.OPENED)]
    # the close event at T0 + 3 min was stuck in the probe's queue
    late = engine.ingest("loc-1", [Reading("p1", "door", T0 + 3 * MIN, 1001, 0.0)], T0 + 11 * MIN)
    assert [(e.kind, e.event) for e in late.events] == [(AlertKind.DOOR_OPEN, EventType.WITHDRAWN)]
    assert engine.open_alerts() == []


def test_fault_codes_open_a_sensor_fault_alert():
    engine = engine_for("minced_meat")
    readings = minutes([0.5] * 3 + [None] * 4 + [0.5] * 12, fault="disconnected")
    events = told(feed(engine, readings))
    assert [(e.kind, e.event, e.detail) for e in events] == [
        (AlertKind.SENSOR_FAULT, EventType.OPENED, "disconnected"),
        (AlertKind.SENSOR_FAULT, EventType.RESOLVED, "disconnected"),
    ]
    assert events[0].n_readings == 1 and events[1].n_readings == 4
    assert "sonde déconnectée" in events[0].text_fr


def test_stuck_value_is_a_sensor_fault():
    engine = engine_for("chilled_retail", kind=LocationKind.COLD_ROOM, interval_s=300)
    readings = minutes([3.0] * 40 + [3.1], step_ms=5 * MIN)  # 3 h 20 min at exactly 3.0 °C
    events = [e for e in told(feed(engine, readings)) if e.event is not EventType.UPDATED]
    assert [(e.kind, e.event, e.detail) for e in events] == [
        (AlertKind.SENSOR_FAULT, EventType.OPENED, "stuck_value"),
        (AlertKind.SENSOR_FAULT, EventType.RESOLVED, "stuck_value"),
    ]
    assert events[0].alert_at_ms == T0 + 180 * MIN and events[0].start_ms == T0


def test_impossible_jump_is_excluded_and_recorded():
    engine = engine_for("minced_meat")
    events = feed(engine, minutes([0.5] * 5 + [45.0] + [0.6] * 15))
    kinds = {(e.kind, e.detail) for e in events}
    assert kinds == {(AlertKind.SENSOR_FAULT, "impossible_jump")}  # no temperature alert
    assert events[0].peak == 45.0


def test_a_real_step_is_accepted_after_three_consistent_readings():
    engine = engine_for("minced_meat")
    feed(engine, minutes([0.5] * 5 + [20.0] * 5, channel="product"))  # at most 2 °C/min
    temperature = [r for r in engine.records("loc-1") if r.kind is AlertKind.TEMPERATURE]
    assert temperature and temperature[0].start_ms == T0 + 7 * MIN
    assert temperature[0].severity is Severity.CRITICAL  # 20 °C is beyond the hard margin


def test_silent_probe_goes_offline_then_back():
    engine = engine_for("minced_meat")
    feed(engine, minutes([0.5] * 3))
    last = T0 + 2 * MIN
    assert engine.check_silence(last + 9 * MIN) == []  # 10 min is the floor at 1-min interval
    events = engine.check_silence(last + 11 * MIN)
    assert [(e.kind, e.event, e.severity) for e in events] == [
        (AlertKind.PROBE_OFFLINE, EventType.OPENED, Severity.WARNING)
    ]
    assert events[0].start_ms == last
    escalated = engine.check_silence(last + 70 * MIN)
    assert [(e.event, e.severity) for e in escalated] == [(EventType.ESCALATED, Severity.CRITICAL)]
    back = engine.ingest("loc-1", minutes([0.5], start=last + 71 * MIN), last + 71 * MIN)
    assert [(e.kind, e.event) for e in back.events] == [
        (AlertKind.PROBE_OFFLINE, EventType.RESOLVED)
    ]


def test_probe_declared_but_never_heard_goes_offline():
    engine = engine_for("minced_meat", probes=("p9",))
    events = engine.check_silence(T0 + 11 * MIN)
    assert [(e.kind, e.probe_id) for e in events] == [(AlertKind.PROBE_OFFLINE, "p9")]


def test_defrost_window_is_recorded_and_suspends_judgement():
    from alerts.schedules import DailyWindow, Mode

    # Defrost every day at 10:05 Brussels time (= T0 + 5 min) for 20 min.
    engine = engine_for(
        "chilled_retail",
        kind=LocationKind.COLD_ROOM,
        daily_windows=(DailyWindow("defrost", Mode.SUSPEND, "10:05", 20),),
    )
    events = feed(engine, minutes([3.0] * 5 + [12.0] * 20 + [3.0] * 10))
    events = [e for e in told(events) if e.event is not EventType.UPDATED]  # 15-min progress
    assert [(e.kind, e.event) for e in events] == [
        (AlertKind.SUSPENDED, EventType.OPENED),
        (AlertKind.SUSPENDED, EventType.RESOLVED),
    ]
    assert events[0].detail == "defrost|suspend" and events[0].severity is Severity.INFO
    assert events[1].start_ms == T0 + 5 * MIN and events[1].end_ms == T0 + 25 * MIN
    assert events[1].n_readings == 20 and events[1].peak == 12.0
    assert "dégivrage" in events[0].text_fr


def test_relaxed_loading_window_raises_the_limit_and_is_recorded():
    from alerts.schedules import Mode, Window

    window = Window("loading", Mode.RELAX, T0 + 5 * MIN, T0 + 25 * MIN, relax_c=4.0)
    engine = engine_for("chilled_retail", windows=(window,))
    events = feed(engine, minutes([3.0] * 5 + [10.0] * 20 + [3.0] * 10))
    assert {e.kind for e in events} == {AlertKind.SUSPENDED}  # 10 °C < 7 + 4
    engine2 = engine_for("chilled_retail", windows=(window,))
    events2 = feed(engine2, minutes([3.0] * 5 + [12.0] * 20 + [3.0] * 10))
    assert AlertKind.TEMPERATURE in {e.kind for e in events2}


def test_door_opened_for_loading_counts_from_the_end_of_the_window():
    from alerts.schedules import Mode, Window

    window = Window("loading", Mode.SUSPEND, T0, T0 + 10 * MIN)
    engine = engine_for("chilled_retail", door_open_max_min=5, windows=(window,))
    readings = minutes([3.0] * 20)
    readings.insert(1, Reading("p1", "door", T0 + MIN + 500, 1000, 1.0))
    events = [e for e in told(feed(engine, readings)) if e.kind is AlertKind.DOOR_OPEN]
    assert [e.event for e in events] == [EventType.OPENED]
    assert events[0].start_ms == T0 + MIN + 500  # the record keeps the real opening time
    assert events[0].alert_at_ms == T0 + 15 * MIN and events[0].detail == "loading|suspend"


def test_data_gap_inside_an_excursion_is_recorded_and_counted_conservatively():
    engine = engine_for("minced_meat")
    before = minutes([0.5] * 3 + [3.0] * 5)  # 3 °C from T0+3 to T0+7
    after = minutes([3.0] * 5 + [0.5] * 12, start=T0 + 22 * MIN)  # 15 min without data
    feed(engine, before + after)
    record = engine.records("loc-1")[0]
    assert record.gaps == [(T0 + 7 * MIN, T0 + 22 * MIN)]
    # both ends of the gap beyond 2 °C: the gap counts as beyond (our conservative choice)
    assert record.time_above_ms == (4 + 15 + 5) * MIN
    assert record.n == 10 and record.duration_ms == 24 * MIN


def test_label_temperature_lower_than_the_law_sets_the_limit():
    from alerts.limits import Lot

    lots = [Lot("L-7", "meat_preparations", T0 - MIN, None, label_max_c=3.0)]  # law: 4 °C
    engine = engine_for("ambient", lots=lots)
    events = feed(engine, minutes([1.0] * 3 + [3.5] * 20 + [1.0] * 12))
    final = events[-1]
    assert final.severity is Severity.CRITICAL and final.limit is not None
    assert final.limit["max_c"] == 3.0 and final.limit["basis"] == "label"
    assert final.limit["label_applied"] and "(étiquette)" in final.text_fr


def test_unsynced_clock_is_flagged_on_the_excursion():
    engine = engine_for("minced_meat")
    readings = [
        Reading("p1", "air", r.time_ms, r.seq, r.value, None, clock_synced=i % 2 == 0)
        for i, r in enumerate(minutes([0.5] * 3 + [3.0] * 20 + [0.5] * 12))
    ]
    events = feed(engine, readings)
    assert events[-1].clock_unsynced


def test_eggs_too_cold_is_a_low_side_excursion():
    engine = engine_for("shell_eggs", kind=LocationKind.COLD_ROOM)
    events = feed(engine, minutes([12.0] * 3 + [4.0] * 70 + [12.0] * 12))
    final = events[-1]
    assert final.severity is Severity.CRITICAL and final.limit is not None
    assert final.limit["min_c"] == 5.0 and final.limit["basis"] == "ours"
    assert "en dessous de la limite de 5 °C" in final.text_fr
