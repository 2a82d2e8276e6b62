"""A door left open while nothing arrives reaches its alert on the wall clock
(`Engine.check_doors`, docs/alerts.md "Other alert kinds").

The probe sends the door only on change: an open event and then silence (the probe went
quiet, or out of coverage) must still raise the door alert at its delay, once, with the
figures a reading at that device time would have given; a close event corrects it as it
does for readings; a restart in between changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from alerts.engine import Engine
from alerts.events import AlertEvent, EventType, figures, record_fields
from alerts.findings import AlertKind, Severity
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, engine_for, told

DELAY = 5 * MIN  # door_open_max_min (LocationConfig's default, ours)
CRITICAL = 20 * MIN  # door_critical_min
SEC = 1000


def opened_at(t: int, arrives: int | None = None) -> Engine:
    """A van zone whose probe sends one door-open event at device time `t` and then nothing
    (arriving at wall clock `arrives`, `t` if not given)."""
    engine = engine_for("chilled_retail")
    result = engine.ingest(
        "loc-1", [Reading("p1", "door", t, 1, 1.0)], t if arrives is None else arrives
    )
    assert not result.errors and result.events == []
    return engine


def door_events(events: list[AlertEvent]) -> list[tuple[EventType, Severity]]:
    return [(e.event, e.severity) for e in told(events) if e.kind is AlertKind.DOOR_OPEN]


def through_json(state: dict[str, Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(json.dumps(state))  # as the server stores it
    return loaded


def test_the_door_alert_is_raised_at_its_delay_with_no_further_message() -> None:
    engine = opened_at(T0)
    assert engine.check_doors(T0 + DELAY - SEC) == []
    [event] = engine.check_doors(T0 + DELAY)
    assert (event.event, event.kind, event.severity) == (
        EventType.OPENED,
        AlertKind.DOOR_OPEN,
        Severity.WARNING,
    )
    assert (event.start_ms, event.alert_at_ms, event.critical_at_ms) == (T0, T0 + DELAY, None)
    assert event.detected_at_ms == T0 + DELAY and not event.detected_late
    assert event.text_fr == "Zone A : porte est ouverte 5 min"
    assert engine.check_doors(T0 + DELAY) == []  # asked again: nothing new


def test_checked_every_second_it_opens_once_and_turns_critical_once() -> None:
    engine = opened_at(T0)
    events: list[AlertEvent] = []
    for second in range(0, 25 * 60 + 1):
        events += engine.check_doors(T0 + second * SEC)
    assert door_events(events) == [
        (EventType.OPENED, Severity.WARNING),
        (EventType.ESCALATED, Severity.CRITICAL),
    ]
    escalated = told(events)[-1]
    assert escalated.critical_at_ms == T0 + CRITICAL and escalated.alert_at_ms == T0 + DELAY
    assert [a["alert_id"] for a in engine.open_alerts()] == [told(events)[0].alert_id]


def test_the_figures_are_those_a_reading_at_that_time_gives_and_those_the_engine_holds() -> None:
    by_clock = opened_at(T0)
    [clocked] = by_clock.check_doors(T0 + DELAY)

    by_reading = opened_at(T0)
    air = Reading("p1", "air", T0 + DELAY, 2, 3.0)  # legal for chilled goods (7 °C)
    [read] = by_reading.ingest("loc-1", [air], T0 + DELAY).events
    assert clocked.to_dict() == read.to_dict()

    [record] = by_clock.records("loc-1")
    assert figures(clocked.to_dict()) == figures(record_fields(record))


def test_the_probe_clock_is_followed_not_the_wall_clock() -> None:
    """A probe whose clock is 90 s behind: the door opened at its device time T0 (arriving
    at T0 + 90 s) is five minutes open when the wall clock says T0 + 6 min 30 s."""
    engine = opened_at(T0, arrives=T0 + 90 * SEC)
    assert engine.check_doors(T0 + 90 * SEC + DELAY - SEC) == []
    [event] = engine.check_doors(T0 + 90 * SEC + DELAY)
    assert (event.start_ms, event.alert_at_ms) == (T0, T0 + DELAY)


def test_readings_then_silence_count_from_the_newest_reading() -> None:
    """Air every minute until T0 + 3 min, the door opened at T0 + 30 s, then nothing."""
    engine = engine_for("chilled_retail")
    readings = [Reading("p1", "air", T0 + m * MIN, m, 3.0) for m in range(4)]
    readings.insert(1, Reading("p1", "door", T0 + 30 * SEC, 10, 1.0))
    for reading in readings:
        assert engine.ingest("loc-1", [reading], reading.time_ms).events == []
    assert door_events(engine.check_doors(T0 + 30 * SEC + DELAY - SEC)) == []
    [event] = engine.check_doors(T0 + 30 * SEC + DELAY)
    assert (event.start_ms, event.alert_at_ms) == (T0 + 30 * SEC, T0 + 30 * SEC + DELAY)
    # the probe speaks again: the same alert, nothing new to tell
    later = engine.ingest("loc-1", [Reading("p1", "air", T0 + 6 * MIN, 4, 3.0)], T0 + 6 * MIN)
    assert told(later.events) == []


def test_a_door_closed_before_its_delay_raises_nothing() -> None:
    engine = opened_at(T0)
    closed = engine.ingest("loc-1", [Reading("p1", "door", T0 + 4 * MIN, 2, 0.0)], T0 + 4 * MIN)
    assert closed.events == []
    for minute in range(4, 40):
        assert engine.check_doors(T0 + minute * MIN) == []
    assert engine.open_alerts() == []


def test_a_close_event_arriving_late_withdraws_what_the_clock_raised() -> None:
    """The close event at T0 + 3 min was stuck in the probe's queue: the door was shut in
    time, the alert the clock raised is withdrawn."""
    engine = opened_at(T0)
    assert door_events(engine.check_doors(T0 + 6 * MIN)) == [(EventType.OPENED, Severity.WARNING)]
    late = engine.ingest("loc-1", [Reading("p1", "door", T0 + 3 * MIN, 2, 0.0)], T0 + 7 * MIN)
    assert [(e.kind, e.event) for e in late.events] == [(AlertKind.DOOR_OPEN, EventType.WITHDRAWN)]
    assert engine.check_doors(T0 + 30 * MIN) == []
    assert engine.open_alerts() == []


def test_a_close_event_after_the_delay_resolves_it_at_its_own_time() -> None:
    engine = opened_at(T0)
    [opened] = engine.check_doors(T0 + 8 * MIN)
    closed = engine.ingest("loc-1", [Reading("p1", "door", T0 + 7 * MIN, 2, 0.0)], T0 + 9 * MIN)
    [resolved] = told(closed.events)
    assert resolved.event is EventType.RESOLVED and resolved.alert_id == opened.alert_id
    assert (resolved.end_ms, resolved.duration_ms) == (T0 + 7 * MIN, 7 * MIN)
    assert resolved.severity is Severity.WARNING


def test_a_restart_before_the_delay_still_raises_it_on_time() -> None:
    engine = opened_at(T0)
    assert engine.check_doors(T0 + 2 * MIN) == []
    restored = Engine()
    assert restored.restore(through_json(engine.save()), T0 + 3 * MIN) == []
    assert restored.check_doors(T0 + DELAY - SEC) == []
    [event] = restored.check_doors(T0 + DELAY)
    assert (event.event, event.start_ms, event.alert_at_ms) == (
        EventType.OPENED,
        T0,
        T0 + DELAY,
    )


def test_a_restart_after_the_clock_raised_it_neither_withdraws_nor_re_raises() -> None:
    engine = opened_at(T0)
    [opened] = engine.check_doors(T0 + 6 * MIN)
    restored = Engine()
    assert restored.restore(through_json(engine.save()), T0 + 7 * MIN) == []
    assert [a["alert_id"] for a in restored.open_alerts()] == [opened.alert_id]
    escalated = told(restored.check_doors(T0 + CRITICAL))
    assert [(e.event, e.alert_id, e.critical_at_ms) for e in escalated] == [
        (EventType.ESCALATED, opened.alert_id, T0 + CRITICAL)
    ]
