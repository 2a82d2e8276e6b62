"""The engine's state in the rows of alert_worker_state (server/alerting/db.py, `StateRows`),
on SQLite and PostgreSQL. Saved after every minute of the scenario of
tests/alerts/test_state_compat.py, each save writing only the parts that changed, the rows
hold at any time what the engine holds:
a worker restarted from them goes on as one that never stopped. Rows saved by the previous
version (state version 3) are read, then replaced by today's."""

from __future__ import annotations

import gc
import json
import weakref
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alerts.engine import STATE_VERSION, Engine
from alerts.events import AlertEvent
from server.alerting.db import PART_PREFIX, StateRows, part_row_name, worker_sessions
from server.alerting.worker import Collector
from server.core.models.alerts import WorkerState
from tests.alerts.helpers import MIN, T0
from tests.alerts.test_state_compat import (
    CUT,
    FIXTURE_V3,
    LENGTH,
    configure,
    engine,
    feed,
    strip_events,
)


def plain(state: dict[str, Any]) -> dict[str, Any]:
    """What a state reads as once written as JSON."""
    loaded: dict[str, Any] = json.loads(json.dumps(state))
    return loaded


def save(sessions: sessionmaker[Session], rows: StateRows, running: Engine) -> int:
    with sessions() as session:
        written = rows.save(session, running.changed_parts())  # as the worker saves
        session.commit()
    return written


def restart(sessions: sessionmaker[Session], now_ms: int) -> tuple[Engine, StateRows]:
    """What the worker does at start (server/alerting/worker.py, `_restore`)."""
    rows = StateRows()
    restarted = engine()
    with sessions() as session:
        events = restarted.restore_parts(rows.load(session), now_ms)
        if restarted.upgraded:
            rows.drop_all(session)
        rows.save(session, restarted.changed_parts())
        session.commit()
    assert events == []  # restored as saved: nothing judged again, nothing to tell
    return restarted, rows


def saved_names(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        names = session.scalars(
            select(WorkerState.name).where(WorkerState.name.startswith(PART_PREFIX))
        )
        return set(names)


def test_saved_as_it_changes_and_restored_anywhere_it_goes_on_as_if_never_stopped(
    database_url: str,
) -> None:
    db, sessions = worker_sessions(database_url)
    reference = engine()
    configure(reference)
    expected = feed(reference, 0, LENGTH)

    running = engine()
    configure(running)
    rows = StateRows()
    events: list[AlertEvent] = []
    written: list[int] = []
    for i in range(LENGTH):
        events += feed(running, i, i + 1)
        written.append(save(sessions, rows, running))
        if i in (CUT, CUT + 7, CUT + 16):  # restarted mid-excursion, doors open, faults
            before = plain(running.save())
            running, rows = restart(sessions, T0 + i * MIN + 3000)
            assert plain(running.save()) == before
    db.dispose()
    assert strip_events(events) == strip_events(expected)
    assert max(written[1:]) < written[0]  # after the first save, only what changed


def test_rows_of_state_version_3_are_read_then_replaced_by_todays(database_url: str) -> None:
    """A worker upgraded in place finds the rows its previous version saved."""
    db, sessions = worker_sessions(database_url)
    reference = engine()
    configure(reference)
    feed(reference, 0, CUT)
    expected = feed(reference, CUT, LENGTH)

    saved_v3 = json.loads(FIXTURE_V3.read_text(encoding="utf-8"))
    assert saved_v3["version"] == 3 < STATE_VERSION
    with sessions() as session:
        for key, part in saved_v3["parts"].items():
            session.add(WorkerState(name=part_row_name(key), state=part))
        session.commit()
    upgraded, _ = restart(sessions, T0 + (CUT - 1) * MIN + 3000)
    today = plain(upgraded.save())
    assert saved_names(sessions) == {part_row_name(key) for key in today["parts"]}

    restarted, _ = restart(sessions, T0 + (CUT - 1) * MIN + 4000)
    assert not restarted.upgraded and plain(restarted.save()) == today
    db.dispose()
    assert strip_events(feed(restarted, CUT, LENGTH)) == strip_events(expected)


class Node:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_the_workers_collector_frees_a_frozen_cycle_at_its_next_full_collection() -> None:
    """The worker freezes its restored state and what survives each save (server/alerting/
    worker.py, Collector): no full collection walks the engine's state inside a save, and
    what a frozen cycle holds is freed at the next full collection, at most THAW_EVERY_S
    later."""
    collector = Collector(thaw_every_s=60)
    try:
        node = Node()
        alive = weakref.ref(node)
        collector.settle(0.0)  # the restore: frozen
        assert gc.get_freeze_count() > 0
        del node
        collector.settle(1.0)
        assert alive() is not None  # frozen: kept until the full collection
        collector.settle(60.0)
        assert alive() is None
    finally:
        collector.stop()
    assert gc.get_freeze_count() == 0  # the process's objects back to the collector
