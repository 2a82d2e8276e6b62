"""Engine state saved by earlier versions still loads and goes on as it should.

`data/engine_state_v1.json` was saved, mid-scenario, by the engine of state version 1,
before the legal-limit policy: its episodes started at the warning threshold (max - margin)
and warned after a delay inside the limit. The server keeps that state in the database
across upgrades, so it must keep loading: its episodes are converted (alerts/excursion.py,
`from_warning_band_policy`) and the rest of the scenario gives what today's engine gives,
but for the reading count and mean of an excursion open across the upgrade (the readings of
the warning band before it went beyond the limit are not kept one by one).

`data/engine_state_v2.json` is the same scenario saved by the engine of version 2 (the same
format, one document): it must restore and continue exactly as an engine that never stopped.

`data/engine_state_v3.json` is the same scenario saved by the engine of version 3 (in parts:
the counters, each location, each channel's stream, so that the alert worker saves only the
parts that changed): restored as it was, it continues identically too.

`data/engine_state_v4.json` is the same scenario saved by today's engine (version 4: a
location's part split by how often each changes: configuration and lots, what it published,
its offline alerts). A state of version 3 restored then saved is today's, part for part.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alerts.config import EngineSettings, LocationConfig, LocationKind
from alerts.engine import STATE_VERSION, Engine
from alerts.events import AlertEvent, EventType, figures, record_fields
from alerts.findings import AlertKind, Record
from alerts.limits import Lot
from alerts.schedules import Mode, Window
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, excursion_view, told

DATA = Path(__file__).parent / "data"
FIXTURE_V1 = DATA / "engine_state_v1.json"
FIXTURE_V2 = DATA / "engine_state_v2.json"
FIXTURE_V3 = DATA / "engine_state_v3.json"
FIXTURE = DATA / "engine_state_v4.json"
CUT = 40  # minutes of the scenario fed before the state was saved
LENGTH = 70
# A short reorder history, so that the oldest checkpoint (the one saved) is mid-scenario,
# with records open in it, rather than the empty machine of the first reading.
SETTINGS = EngineSettings(history_ms=3 * MIN, checkpoint_every_ms=2 * MIN, stuck_ms=10 * MIN)


def engine() -> Engine:
    return Engine(settings=SETTINGS)


def configure(engine: Engine) -> None:
    van = LocationConfig("van", LocationKind.VAN_ZONE, "Camionnette 1 — zone froide", "ambient")
    engine.configure(van, T0, [Lot("QF-1", "quick_frozen", T0 - MIN)])
    defrost = Window("defrost", Mode.RELAX, T0 + 25 * MIN, T0 + 35 * MIN, relax_c=2.0)
    room = LocationConfig(
        "room",
        LocationKind.COLD_ROOM,
        "Chambre froide",
        "poultry_meat",
        label_max_c=3.0,
        windows=(defrost,),
    )
    engine.configure(room, T0)


def minute(i: int) -> list[tuple[str, Reading]]:
    """Everything the two probes send at minute `i`. The saved checkpoint (minute 34) has
    one record of each kind open: too warm, door, fault, jump, stuck value, suspension."""
    t = T0 + i * MIN
    frozen = -20.0 if i < 10 or i >= 60 else -16.5 if i < 30 else -14.0 if i < 36 else -17.0
    air = frozen + 1.0
    if i in (33, 34):
        air = 15.0  # two impossible jumps: a sensor fault open in the saved checkpoint
    door = 1.0 if 33 <= i < 45 else 0.0
    room = 1.0 if i < 15 else -2.4 if i < 22 else 3.5 if i < 50 else 1.0
    room_air = room + 0.2
    van = [
        Reading("pv", "product", t, 3 * i, frozen),
        Reading("pv", "air", t, 3 * i + 1, air),
        Reading("pv", "door", t, 3 * i + 2, door),
    ]
    cold_room = [
        Reading("pr", "product", t + 500, 2 * i, room),
        Reading("pr", "air", t + 500, 2 * i + 1, room_air),
    ]
    if 30 <= i < 36:  # the air channel reports a fault code for a while
        cold_room[1] = Reading("pr", "air", t + 500, 2 * i + 1, None, "crc_error")
    return [("van", r) for r in van] + [("room", r) for r in cold_room]


def feed(engine: Engine, start: int, end: int) -> list[AlertEvent]:
    events: list[AlertEvent] = []
    for i in range(start, end):
        for location_id, reading in minute(i):
            result = engine.ingest(location_id, [reading], reading.time_ms + 1000)
            assert not result.errors, result.errors
            events.extend(result.events)
        events.extend(engine.check_silence(T0 + i * MIN + 2000))
    return events


def saved_now() -> dict[str, Any]:
    """The state the scenario leaves at the cut (how the fixture was made)."""
    saving = engine()
    configure(saving)
    feed(saving, 0, CUT)
    state: dict[str, Any] = json.loads(json.dumps(saving.save()))
    return state


def strip_events(events: list[AlertEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.kind, e.severity, e.alert_id, e.start_ms, e.end_ms) for e in events]


def _load(path: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return state


def _saved_snapshots(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The machine states a saved state holds (versions 1 and 2: each stream's oldest
    checkpoint; version 3: each stream's machine and its checkpoints)."""
    if state["version"] < 3:
        return [s["snapshot"] for loc in state["locations"] for _, _, s in loc["streams"]]
    parts = state["parts"].values()
    machines = [p["stream"]["machine"] for p in parts if p["part"] == "stream"]
    checkpoints = [p["checkpoints"]["checkpoints"] for p in parts if p["part"] == "checkpoints"]
    return machines + [snap for saved in checkpoints for _, snap in saved]


@pytest.mark.parametrize(
    ("path", "version"),
    [(FIXTURE_V1, 1), (FIXTURE_V2, 2), (FIXTURE_V3, 3), (FIXTURE, STATE_VERSION)],
)
def test_the_fixtures_cover_every_kind_of_open_record(path: Path, version: int) -> None:
    state = _load(path)
    assert state["version"] == version
    open_kinds = {
        record["kind"]
        for snapshot in _saved_snapshots(state)
        for record in snapshot["records"]
        if record is not None
    }
    assert {"temperature_excursion", "door_open", "sensor_fault"} <= open_kinds


@pytest.mark.parametrize("path", [FIXTURE_V2, FIXTURE_V3, FIXTURE])
def test_state_saved_by_the_earlier_version_restores_and_continues_identically(
    path: Path,
) -> None:
    reference = engine()
    configure(reference)
    before = feed(reference, 0, CUT)
    expected = feed(reference, CUT, LENGTH)

    restored = engine()
    assert restored.restore(_load(path), T0 + (CUT - 1) * MIN + 3000) == []
    after = feed(restored, CUT, LENGTH)
    assert before and expected  # the scenario does alert, before and after the cut
    assert strip_events(after) == strip_events(expected)
    for location_id in ("van", "room"):
        assert excursion_view(restored.records(location_id)) == excursion_view(
            reference.records(location_id)
        )


def test_a_state_saved_now_is_the_same_as_the_fixture() -> None:
    """The saved format did not change since version 4 (if it must, version it and keep
    reading the older ones, as versions 1 to 3 are read here)."""
    assert saved_now() == _load(FIXTURE)


def test_a_state_of_version_3_restored_then_saved_is_todays() -> None:
    """Nothing of a version 3 state is lost in its upgrade: saved again, it is the state
    today's engine saves, part for part (every part: `upgraded`, the worker rewrites them)."""
    restored = engine()
    assert restored.restore(_load(FIXTURE_V3), T0 + (CUT - 1) * MIN + 3000) == []
    assert restored.upgraded
    changes = json.loads(json.dumps(restored.changes()))
    assert {"version": STATE_VERSION, "parts": changes} == _load(FIXTURE)
    assert not restored.upgraded and set(restored.changes()) == {"meta"}


def test_a_state_restored_from_its_parts_saves_the_same_parts() -> None:
    """Nothing is lost or judged again between a save and a restore: the restored engine's
    parts are the ones it was given (what the worker writes is what it reads back)."""
    state = _load(FIXTURE)
    restored = engine()
    assert restored.restore_parts(state["parts"].values(), T0 + (CUT - 1) * MIN + 3000) == []
    assert json.loads(json.dumps(restored.save())) == state


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return type(value).__name__ if value is not None else None


def test_version_2_kept_the_format_of_version_1() -> None:
    """Only the meaning of an episode changed: the same keys, the same nesting."""
    v1, v2 = _load(FIXTURE_V1), _load(FIXTURE_V2)
    del v1["version"], v2["version"]
    record_keys = {
        key
        for state in (v1, v2)
        for location in state["locations"]
        for _, _, stream in location["streams"]
        for record in stream["snapshot"]["records"]
        if record is not None
        for key in record
    }
    assert record_keys == set(Record.__slots__) - {"limit"}
    assert _shape(v1["locations"][0]["config"]) == _shape(v2["locations"][0]["config"])
    assert set(v1["locations"][0]) == set(v2["locations"][0])


def _without_counts(view: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """An excursion view without its reading count and sum (positions 9 and 11)."""
    return [row[:9] + row[10:11] + row[12:] for row in view]


def test_a_version_1_state_loads_and_goes_on_under_todays_policy() -> None:
    reference = engine()
    configure(reference)
    feed(reference, 0, CUT)
    expected = feed(reference, CUT, LENGTH)

    restored = engine()
    at_restart = restored.restore(_load(FIXTURE_V1), T0 + (CUT - 1) * MIN + 3000)
    # What the new policy changes in what was told: the van's air excursion, opened by
    # version 1 in the warning band at -19 °C, starts at its first reading beyond -18 °C.
    assert [(e.event, e.kind, e.channel, e.start_ms) for e in told(at_restart)] == [
        (EventType.UPDATED, AlertKind.TEMPERATURE, "air", T0 + 10 * MIN)
    ]
    after = feed(restored, CUT, LENGTH)

    def news(events: list[AlertEvent]) -> list[tuple[Any, ...]]:
        kept = [e for e in told(events) if e.event is not EventType.UPDATED]  # not progress
        return sorted((e.event, e.kind, e.channel, e.severity, e.start_ms, e.end_ms) for e in kept)

    assert news(after) == news(expected)
    for location_id in ("van", "room"):
        assert _without_counts(excursion_view(restored.records(location_id))) == _without_counts(
            excursion_view(reference.records(location_id))
        )
        # What is published carries the engine's figures (published equals stored).
        publisher = restored.locations[location_id].publisher
        for record in restored.records(location_id):
            view = publisher.views[publisher.alias[record.alert_id]]
            assert figures(view.last) == figures(record_fields(record))
