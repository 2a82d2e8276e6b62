"""A van back in coverage sends an hour of readings at once: the excursion is judged at
its device time, flagged `detected_late`, and attributed to the delivery and the lot that
were in the zone then, although the lot has been dropped and the delivery closed since.
A run held back longer than the readings the engine keeps is judged with the reading store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.stream import Stream
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.alerting.places import zone_key
from server.alerting.worker import AlertWorker
from tests.alerting.support import (
    PROBE,
    Inbox,
    Probe,
    Site,
    build_site,
    readings,
    running_worker,
    settings_for,
    wait_for,
)
from tests.harness.servers import Mosquitto
from tests.server.world import iso


def test_late_readings_make_a_detected_late_alert_on_the_right_delivery(
    site: Site, mosquitto: Mosquitto
) -> None:
    driver = site.world["driver_a"]
    url = f"/api/v1/deliveries/{site.delivery_id}"
    now = datetime.now(UTC)
    drop = {
        "at": iso(now - timedelta(minutes=15)),
        "decisions": [{"load_id": site.load_id, "accepted": True}],
    }
    driver.ok("POST", f"{url}/stops/{site.ids['A_drop']}/handover", drop, 201)
    driver.ok("POST", f"{url}/close", {"closed_at": iso(now - timedelta(minutes=10))})

    probe = Probe(mosquitto.port)
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        # Out of coverage 28 to 16 minutes ago: 12 °C for 4 minutes, then back to 2 °C.
        start = now - timedelta(minutes=28)
        probe.send(readings(start, [2.0, 12.0, 12.0, 12.0, 12.0] + [2.0] * 7))
        hygiene = site.world["hygiene_a"]
        listed = wait_for(lambda: hygiene.ok("GET", "/api/v1/alerts")["data"])
        alert = hygiene.ok("GET", f"/api/v1/alerts/{listed[0]['id']}")
        assert alert["detected_late"] is True
        assert alert["delivery_id"] == site.delivery_id
        assert [lot["load_id"] for lot in alert["lots"]] == [site.load_id]
        assert alert["start_at"].startswith(iso(start + timedelta(minutes=1))[:16])
        assert alert["record"]["detected_late"] is True
        # The producer of the lot sees the alert; the other cooperative does not.
        assert site.world["producer1"].ok("GET", "/api/v1/alerts")["count"] == 1
        assert site.world["hygiene_b"].ok("GET", "/api/v1/alerts")["count"] == 0
    finally:
        worker.stop()
        probe.close()


@pytest.fixture
def site_4h(tmp_path: Path, mosquitto: Mosquitto, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    """The site with its lot on board for 4 hours (its readings judged under its limit)."""
    settings = settings_for(tmp_path, mosquitto.port, smtp[0], escalation_after_min=60)
    yield from build_site(settings, pickup_ago=timedelta(hours=4))


def test_a_late_run_older_than_the_kept_readings_is_judged_from_the_reading_store(
    site_4h: Site, mosquitto: Mosquitto
) -> None:
    """The engine keeps only the last hour or two of raw readings (alerts/stream.py): a run
    of readings held back for hours is judged with the ones around it read back from the
    gateway's store (the real SQLite store of the site), placed and calibrated as live."""
    site = site_4h
    now = datetime.now(UTC)
    start = now - timedelta(minutes=210)
    sent = readings(start, [2.0] * 35 + [12.0] * 5 + [2.0] * 170)
    held, on_time = sent[30:50], sent[:30] + sent[50:]
    store = SqliteReadingStore(site.settings.store.sqlite_path)  # the gateway's (sqlite sink)
    probe = Probe(mosquitto.port)
    try:
        with running_worker(site) as worker:
            store.write(on_time)
            for i in range(0, len(on_time), 20):
                probe.send(on_time[i : i + 20])

            def stream() -> Stream | None:
                location = worker.engine.locations.get(zone_key(site.ids["VA_frais"]))
                found = location.streams.get(PROBE, {}).get("air") if location else None
                return found if found is not None and found.placed == len(on_time) else None

            air = wait_for(stream, 30)
            assert air.rows[0][0] > held[-1].time_ms  # the held run is older than what is kept
            assert worker.counters["history_reads"] == 0
            store.write(held)
            probe.send(held)
            hygiene = site.world["hygiene_a"]
            listed = wait_for(lambda: hygiene.ok("GET", "/api/v1/alerts")["data"], 30)
            alert = hygiene.ok("GET", f"/api/v1/alerts/{listed[0]['id']}")
            assert worker.counters["history_reads"] >= 1
        assert len(listed) == 1
        assert alert["start_at"].startswith(iso(start + timedelta(minutes=35))[:16])
        assert alert["detected_late"] is True
        assert alert["record"]["n_readings"] == 5
        # Ended by the stored readings after the run (10 min back inside): without them the
        # next reading known would be an hour later, a data gap.
        assert alert["end_at"].startswith(iso(start + timedelta(minutes=40))[:16])
        assert alert["record"]["gaps"] == []
    finally:
        store.close()
        probe.close()
