"""The server's sealing timer (server/records/sealing_timer.py): a delivery whose seal at
close failed, and a record that late readings changed, are sealed without anyone running
`coldchain records seal`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from coldchain.readingstore.sqlite import SqliteReadingStore
from coldchain.settings import RecordsSettings
from server.app import create_app
from tests.harness.app import make_settings
from tests.records.support import END, close_delivery, prepare, run, write_readings
from tests.server.world import World


@pytest.fixture
def app(database_url: str, tmp_path: Path, reading_store: SqliteReadingStore) -> FastAPI:
    settings = make_settings(database_url, tmp_path)
    # The test delivery is in March 2026: a window wide enough to reseal it.
    records = RecordsSettings(seal_every_s=0.2, reseal_window_days=3650)
    return create_app(settings.model_copy(update={"records": records}), reading_store)


def versions(world: World) -> list[int]:
    found = world["hygiene_a"].ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    return sorted(v["version"] for v in found)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the sealing timer did not seal in time"
        time.sleep(0.1)


def test_a_delivery_whose_seal_failed_at_close_is_sealed_by_the_timer(
    world: World, app: FastAPI, reading_store: SqliteReadingStore, tmp_path: Path
) -> None:
    prepare(world)
    write_readings(reading_store)
    unreachable = SqliteReadingStore(tmp_path / "elsewhere.sqlite3")
    unreachable.close()  # a real failure: every read raises
    run(world, close=False)
    app.state.reading_store = unreachable
    close_delivery(world)  # the close succeeds; its seal fails and is left to the timer
    time.sleep(0.6)  # several passes fail meanwhile, and nothing is sealed half-way
    assert versions(world) == []
    app.state.reading_store = reading_store  # the store is back
    wait_until(lambda: versions(world) == [1])
    report = world["hygiene_a"].ok(
        "GET", "/api/v1/records/verify", params={"cooperative_id": world.ids["A"]}
    )
    assert report["ok"] is True and report["checked"] == 1


def test_late_readings_give_a_new_version_without_anyone_asking(
    world: World, reading_store: SqliteReadingStore
) -> None:
    prepare(world)
    backlog_from = END - timedelta(minutes=60)
    write_readings(reading_store, end=backlog_from)
    run(world)  # closing seals version 1
    assert versions(world) == [1]
    time.sleep(0.6)
    assert versions(world) == [1]  # nothing new: the passes add no version
    write_readings(reading_store, start=backlog_from, end=END, seq0=10_000)  # the backlog
    wait_until(lambda: versions(world) == [1, 2])
    latest = world["hygiene_a"].ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    newest = max(latest, key=lambda v: v["version"])
    assert newest["changes"], newest  # the new version says what changed
