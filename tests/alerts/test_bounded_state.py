"""What the engine keeps is bounded, and what it does not keep is read from the reading store.

Each channel keeps its machine's state, a checkpoint every half hour of the reorder history
and the raw readings of a short window only (alerts/stream.py). A late reading older than
that window is judged with the readings of the real reading store (the embedded SQLite one
the gateway writes, read back through `ReadingStore.readings`), and gives what an engine fed
in order gives. The state is saved in parts, only those that changed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.config import LocationConfig, LocationKind
from alerts.engine import Engine
from alerts.events import AlertEvent, EventType
from alerts.location import kept_window_ms
from alerts.stream import HistoryUnavailable, Row
from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.alerts.helpers import MIN, T0, config, excursion_view, minutes, told
from tests.alerts.test_properties import build

# 4 h of one reading a minute: inside, 25 min beyond the limit from minute 60 (critical after
# 15), back inside, then 2 h 50 min inside.
VALUES = [0.5] * 60 + [3.0] * 25 + [0.5] * 155
HELD = range(55, 95)  # out of coverage: these arrive after everything else
MINCED = "minced_meat"


class StoreHistory:
    """The engine's `history` over the real reading store (uncalibrated: no offsets here)."""

    def __init__(self, store: SqliteReadingStore) -> None:
        self.store = store
        self.reads: list[tuple[str, int, int]] = []
        self.down = False

    def __call__(
        self, location_id: str, probe_id: str, channel: str, start_ms: int, end_ms: int
    ) -> list[Row]:
        if self.down:
            raise HistoryUnavailable("store down")
        self.reads.append((channel, start_ms, end_ms))
        stored = self.store.readings(probe_id, start_ms, end_ms, channel)
        return [(r.time_ms, r.value, r.fault, r.clock_synced) for r in stored]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteReadingStore]:
    opened = SqliteReadingStore(tmp_path / "readings.sqlite3")
    yield opened
    opened.close()


def engine(history: StoreHistory | None) -> Engine:
    made = Engine(history=history)
    made.configure(config(MINCED, probes=("p1",)), T0)
    return made


def live(engine: Engine, readings: Sequence[Reading], store: SqliteReadingStore | None = None):
    """Each reading arrives a second after its device time (written to the store first, as
    the gateway does, when `store` is given)."""
    events: list[AlertEvent] = []
    for r in readings:
        if store is not None:
            store.write([r])
        result = engine.ingest("loc-1", [r], r.time_ms + 1000)
        assert not result.errors, result.errors
        events.extend(result.events)
    return events


def test_a_late_run_older_than_the_window_is_judged_from_the_store(store):
    readings = minutes(VALUES)
    reference = engine(None)
    expected = told(live(reference, readings))

    history = StoreHistory(store)
    bounded = engine(history)
    on_time = [r for i, r in enumerate(readings) if i not in HELD]
    events = told(live(bounded, on_time, store))
    assert not [e for e in events if e.start_ms >= T0 + 60 * MIN]  # nothing seen yet
    stream = bounded.locations["loc-1"].streams["p1"]["air"]
    window = kept_window_ms(bounded.locations["loc-1"].ctx, bounded.settings)
    # Only the window (and the half hour to the next checkpoint) is kept, not 4 hours.
    assert len(stream.rows) <= (window + 30 * MIN) // MIN + 1 < len(on_time) // 2
    assert stream.rows[0][0] > T0 + HELD[-1] * MIN  # the held-back run is older than that
    assert history.reads == []  # in order, the store is never read

    # The van is back in coverage: the held-back hour arrives (the gateway stores it first).
    held = [readings[i] for i in HELD]
    store.write(held)
    arrival = readings[-1].time_ms + 2000
    late = bounded.ingest("loc-1", held, arrival)
    assert not late.errors
    assert history.reads and all(channel == "air" for channel, _, _ in history.reads)
    assert excursion_view(bounded.records("loc-1")) == excursion_view(reference.records("loc-1"))
    opened = [e for e in told(late.events) if e.event is EventType.OPENED]
    assert [(e.start_ms, e.severity.value, e.detected_late) for e in opened] == [
        (T0 + 60 * MIN, "critical", True)
    ]
    assert [e.alert_id for e in opened] == [e.alert_id for e in expected[:1]]


def test_late_readings_not_stored_yet_are_judged_all_the_same(store):
    """The gateway may not have written them yet: the engine keeps them aside until they
    leave the reorder history, and judges them with the store's."""
    readings = minutes(VALUES)
    reference = engine(None)
    live(reference, readings)
    history = StoreHistory(store)
    bounded = engine(history)
    live(bounded, [r for i, r in enumerate(readings) if i not in HELD], store)
    arrival = readings[-1].time_ms + 2000
    for i in HELD:  # one by one, none of them in the store
        assert not bounded.ingest("loc-1", [readings[i]], arrival).errors
    assert excursion_view(bounded.records("loc-1")) == excursion_view(reference.records("loc-1"))


def test_the_store_unavailable_is_raised_not_a_rejected_reading(store):
    readings = minutes(VALUES)
    history = StoreHistory(store)
    bounded = engine(history)
    live(bounded, [r for i, r in enumerate(readings) if i not in HELD], store)
    history.down = True
    with pytest.raises(HistoryUnavailable):
        bounded.ingest("loc-1", [readings[HELD[0]]], readings[-1].time_ms + 2000)
    assert bounded.counters["internal_error"] == 0 and not bounded.rejected


def test_only_changed_parts_are_saved_and_a_restore_mid_excursion_goes_on(store):
    """The worker writes `changes()` as rows; restored from them in the middle of the
    excursion, the engine goes on exactly as one that never stopped, late data included."""
    readings = minutes(VALUES)
    cut = 70  # 10 minutes into the excursion
    reference = engine(None)
    live(reference, readings)

    history = StoreHistory(store)
    first = engine(history)
    first.configure(LocationConfig("loc-2", LocationKind.VAN_ZONE, "Zone B", MINCED), T0)
    live(first, readings[:cut], store)
    saved = json.loads(json.dumps(first.changes()))
    assert set(saved) == {
        "meta",
        *("loc/loc-1", "pub/loc-1", "off/loc-1"),
        *("pr/loc-1/p1", "rw/loc-1/p1/air", "ck/loc-1/p1/air"),
        *("loc/loc-2", "pub/loc-2", "off/loc-2"),
    }
    assert first.changes() == {"meta": saved["meta"]}  # nothing changed since: counters only
    live(first, readings[cut : cut + 1], store)
    # One reading: when its probe was heard with its stream's machine and newest readings
    # (and, every SEAL_EVERY readings, those sealed before them), and (a figure of the open
    # alert moved) what is published. Not the checkpoints, not the configuration, not loc-2.
    changed = set(first.changes())
    assert {"meta", "pr/loc-1/p1"} <= changed
    assert changed <= {"meta", "pr/loc-1/p1", "rw/loc-1/p1/air", "pub/loc-1"}
    first.remove("loc-2")
    assert first.changes()["loc/loc-2"] is None

    restarted = Engine(history=history)
    parts = json.loads(json.dumps(first.save()))["parts"]
    assert restarted.restore_parts(parts.values(), readings[cut].time_ms + 3000) == []
    assert restarted.locations["loc-1"].open_alerts()  # restored mid-episode
    rest = [r for i, r in enumerate(readings) if i > cut and i not in range(150, 170)]
    after = told(live(restarted, rest, store))
    assert [e.event for e in after if e.event is not EventType.UPDATED] == [
        EventType.ESCALATED,
        EventType.RESOLVED,
    ]
    held = [readings[i] for i in range(150, 170)]  # late, older than the window by now
    assert restarted.locations["loc-1"].streams["p1"]["air"].rows[0][0] > held[-1].time_ms
    store.write(held)
    assert told(restarted.ingest("loc-1", held, readings[-1].time_ms + 2000).events) == []
    assert excursion_view(restarted.records("loc-1")) == excursion_view(reference.records("loc-1"))


# Longer gaps than test_properties.py's: up to 5.6 h (inside the 6-hour reorder history),
# well beyond the readings kept (50 min and up to a checkpoint's half hour for minced meat);
# more readings beyond the 2 °C limit, so that what is read back from the store matters.
HOT = st.sampled_from([0.5, 1.0, 2.3, 2.6, 4.0, 6.0, None])
LONG_STEPS = st.lists(
    st.tuples(HOT, st.sampled_from([1, 5, 10, 12]), st.booleans()), min_size=20, max_size=28
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=LONG_STEPS, seed=st.integers(0, 2**16), batch=st.integers(1, 8))
def test_held_back_runs_judged_with_the_store_give_the_excursions_of_the_whole_history(
    tmp_path_factory, steps, seed, batch
):
    """The property of tests/alerts/test_properties.py with what the engine no longer keeps
    read back from the real store: hours of readings in order but for a run held back (out
    of coverage) and delivered later, in any order, in batches; each batch stored by the
    gateway before the engine sees it."""
    readings = build(steps)
    reference = engine(None)
    live(reference, readings)
    rnd = random.Random(seed)
    start = rnd.randrange(len(readings))
    end = rnd.randrange(start, len(readings)) + 1
    run = readings[start:end]
    rest = readings[:start] + readings[end:]
    rnd.shuffle(run)
    at = rnd.randrange(start, len(rest) + 1)  # delivered after some of what follows it
    arriving = rest[:at] + run + rest[at:]
    store = SqliteReadingStore(tmp_path_factory.mktemp("store") / "readings.sqlite3")
    try:
        history = StoreHistory(store)
        bounded = engine(history)
        newest = T0
        for i in range(0, len(arriving), batch):
            part = arriving[i : i + batch]
            store.write(part)
            newest = max([newest, *(r.time_ms for r in part)])
            assert not bounded.ingest("loc-1", part, newest + 1000).errors
    finally:
        store.close()
    assert excursion_view(bounded.records("loc-1")) == excursion_view(reference.records("loc-1"))
