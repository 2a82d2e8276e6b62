"""The readings API on the production store: InfluxDB (InfluxQL over /query), opened from the
settings as `coldchain server run` does, gives the same attributed, calibrated answers."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from coldchain.readingstore.influxdb import InfluxV1Sink
from coldchain.settings import ServerSettings, Settings, StoreSettings
from server.app import create_app
from tests.harness.servers import InfluxDB1
from tests.server.world import D1, D2, World, brussels, build_world, iso, reading


@pytest.fixture
def influx_world(influxdb1: InfluxDB1, sqlite_template: Path, tmp_path: Path) -> Iterator[World]:
    shutil.copy(sqlite_template, tmp_path / "coldchain.sqlite3")
    settings = Settings(
        server=ServerSettings(
            database_url=f"sqlite:///{tmp_path / 'coldchain.sqlite3'}",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        ),
        store=StoreSettings(kind="influxdb1", url=influxdb1.url, database="coldchain"),
    )
    app = create_app(settings)  # opens InfluxQLReadingStore from the settings
    with TestClient(app) as client:
        yield build_world(client, app)


def test_zone_and_cold_room_readings_from_influxdb(
    influxdb1: InfluxDB1, influx_world: World
) -> None:
    world, ids = influx_world, influx_world.ids
    admin, producer = world["admin_a"], world["producer1"]
    sink = InfluxV1Sink(influxdb1.url, "coldchain")
    producer.ok(
        "POST",
        f"/api/v1/probes/{ids['probe_CR1']}/calibrations",
        {
            "channel": "air",
            "offset": -0.5,
            "calibrated_at": iso(brussels(D1, 6)),
            "reference_instrument": "Testo 735",
            "performed_by": "Labo",
        },
        201,
    )
    sink.write(
        [
            reading("cr1", "air", brussels(D1, 5), 4.0, 1),
            reading("cr1", "air", brussels(D1, 7), 4.0, 2),
            reading("van-a-1", "air", brussels(D1, 8), 3.0, 1),
            reading("van-a-1", "air", brussels(D2, 8), 9.0, 2),  # coop B's day: not A's
        ]
    )
    sink.close()
    day = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D2, 0) + timedelta(days=1))}
    room = producer.ok("GET", f"/api/v1/cold-rooms/{ids['CR1']}/readings", params=day)
    assert [(r["raw_value"], r["value"]) for r in room["readings"]] == [(4.0, 4.0), (4.0, 3.5)]
    zone = admin.ok("GET", f"/api/v1/zones/{ids['VA_frais']}/readings", params=day)
    assert [r["value"] for r in zone["readings"]] == [3.0]
    both = world["admin_b"].ok("GET", f"/api/v1/zones/{ids['VA_frais']}/readings", params=day)
    assert [r["value"] for r in both["readings"]] == [9.0]
