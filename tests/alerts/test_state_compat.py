"""Engine state saved by an earlier version still loads and goes on exactly as before.

`data/engine_state_v1.json` was saved, mid-scenario, by the engine as it was before the
channel machine's checkpoints became a dataclass (they were a positional tuple then). The
server keeps that state in the database across upgrades, so it must keep loading: after the
restore, the rest of the scenario must give what an engine that never stopped gives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alerts.config import EngineSettings, LocationConfig, LocationKind
from alerts.engine import STATE_VERSION, Engine
from alerts.events import AlertEvent
from alerts.limits import Lot
from alerts.schedules import Mode, Window
from coldchain.protocol import Reading
from tests.alerts.helpers import MIN, T0, excursion_view

FIXTURE = Path(__file__).parent / "data" / "engine_state_v1.json"
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


def _strip(events: list[AlertEvent]) -> list[tuple[Any, ...]]:
    return [(e.event, e.kind, e.severity, e.alert_id, e.start_ms, e.end_ms) for e in events]


def test_the_fixture_covers_every_kind_of_open_record() -> None:
    state = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert state["version"] == STATE_VERSION
    open_kinds = {
        record["kind"]
        for location in state["locations"]
        for _, _, stream in location["streams"]
        for record in stream["snapshot"]["records"]
        if record is not None
    }
    assert {"temperature_excursion", "door_open", "sensor_fault"} <= open_kinds


def test_state_saved_by_the_earlier_version_restores_and_continues_identically() -> None:
    reference = engine()
    configure(reference)
    before = feed(reference, 0, CUT)
    expected = feed(reference, CUT, LENGTH)

    restored = engine()
    state = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert restored.restore(state, T0 + (CUT - 1) * MIN + 3000) == []
    after = feed(restored, CUT, LENGTH)
    assert before and expected  # the scenario does alert, before and after the cut
    assert _strip(after) == _strip(expected)
    for location_id in ("van", "room"):
        assert excursion_view(restored.records(location_id)) == excursion_view(
            reference.records(location_id)
        )


def test_a_state_saved_now_is_the_same_as_the_earlier_version_saved() -> None:
    """The saved format did not change: nothing to migrate, in either direction."""
    assert saved_now() == json.loads(FIXTURE.read_text(encoding="utf-8"))
