"""Alert tests' world: the server's app factory on SQLite, the server tests' world
(two cooperatives sharing a van) plus a delivery of today on the road, a real Mosquitto,
a real SMTP server (aiosmtpd), and helpers to publish readings as a probe does."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from coldchain.protocol import Kind, Reading, ReadingsBatch, encode_readings, topic
from coldchain.settings import (
    AlertingSettings,
    MqttSettings,
    ServerSettings,
    Settings,
    StoreSettings,
)
from server.alerting.worker import AlertWorker
from server.app import create_app
from tests.harness.app import seed_world
from tests.harness.servers import free_port
from tests.server.world import World, build_world, iso, plan_delivery

BRUSSELS = ZoneInfo("Europe/Brussels")
PROBE = "van-a-1"  # installed in van VA, zone "frais" (tests/server/world.py)
T = TypeVar("T")


def wait_for(what: Callable[[], T | None], timeout: float = 15.0, step: float = 0.05) -> T:
    """Poll until `what()` is truthy; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {getattr(what, '__name__', what)}")
        time.sleep(step)


class Inbox:
    """aiosmtpd handler: every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 OK"


def start_smtp() -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox


def settings_for(
    tmp: Path,
    mqtt_port: int,
    smtp_port: int | None,
    database_url: str | None = None,
    **alerting: Any,
) -> Settings:
    return Settings(
        data_dir=tmp,  # the pages' export files (records.export_dir), not ./var
        server=ServerSettings(
            database_url=database_url or f"sqlite:///{tmp / 'coldchain.sqlite3'}",
            argon2_time_cost=1,
            argon2_memory_kib=1024,
        ),
        store=StoreSettings(sqlite_path=tmp / "readings.sqlite3"),
        mqtt=MqttSettings(port=mqtt_port, managed=False),
        alerting=AlertingSettings(
            **{
                "client_id": f"alerts-test-{mqtt_port}",
                "smtp_host": "127.0.0.1" if smtp_port else None,
                "smtp_port": smtp_port or 25,
                "state_save_s": 0.2,
                "notify_poll_s": 0.1,
                "notify_retry_s": 0.2,
                "refresh_s": 1.0,
                # The world's probes are never calibrated: their maintenance alerts would
                # crowd other tests (tests/alerting/test_maintenance.py turns it on).
                "calibration_check_s": 0,
                **alerting,
            }
        ),
    )


@dataclass
class Site:
    app: FastAPI
    client: TestClient
    world: World
    settings: Settings
    now: datetime
    delivery_id: int = 0
    load_id: int = 0
    ids: dict[str, int] = field(default_factory=dict)


def build_site(
    settings: Settings,
    pickup_ago: timedelta = timedelta(minutes=30),
    cargo: tuple[tuple[str, float | None], ...] = (),
    departure_c: float = 3.5,
) -> Generator[Site, None, None]:
    """The world, plus delivery DT of coop A on van VA today, driven by driver_a, with lot
    LT of producer P1 in zone "frais" picked up `pickup_ago` (still on board), and a lot
    LX<n> of P1 per (category, label temperature) of `cargo` with it (`departure_c`: the
    zone's temperature at the departure check, under the strictest limit)."""
    seed = seed_world(settings.server.database_url)  # a copy of the session's world
    app = create_app(settings)
    with TestClient(app) as client:
        world = seed.attach(client) if seed is not None else build_world(client, app)
        now = datetime.now(UTC)
        day = now.astimezone(BRUSSELS).date()
        delivery = plan_delivery(world, "admin_a", "A", "driver_a", day, "CR1", [("LT", "P1")])
        driver = world["driver_a"]
        url = f"/api/v1/deliveries/{delivery}"
        zone = world.ids["VA_frais"]
        for n, (category, label) in enumerate(cargo):
            load = {
                "lot_reference": f"LOT-LX{n}",
                "description": category,
                "category": category,
                "quantity": "5",
                "unit": "kg",
                "consignor_id": world.ids["P1"],
                "consignee": "Épicerie du coin",
                "label_max_c": label,
                "zone_id": zone,
                "pickup_stop_id": world.ids["A_pickup"],
                "drop_stop_id": world.ids["A_drop"],
            }
            world.ids[f"LX{n}"] = world["admin_a"].ok("POST", f"{url}/loads", load, 201)["id"]
        departure = {
            "checked_at": iso(now - pickup_ago - timedelta(minutes=5)),
            "zones": [{"zone_id": zone, "temperature_c": departure_c}],
        }
        driver.ok("POST", f"{url}/departure", departure)
        lots = ["LT", *(f"LX{n}" for n in range(len(cargo)))]
        handover = {
            "at": iso(now - pickup_ago),
            "decisions": [{"load_id": world.ids[lot], "accepted": True} for lot in lots],
        }
        driver.ok("POST", f"{url}/stops/{world.ids['A_pickup']}/handover", handover, 201)
        yield Site(app, client, world, settings, now, delivery, world.ids["LT"], world.ids)


def readings(
    start: datetime, values: list[float], seq0: int = 1, step_s: int = 60
) -> list[Reading]:
    return [
        Reading(
            PROBE,
            "air",
            int((start + timedelta(seconds=i * step_s)).timestamp() * 1000),
            seq0 + i,
            v,
        )
        for i, v in enumerate(values)
    ]


class Probe:
    """A simulated probe: publishes its readings with QoS 1 as the firmware does."""

    def __init__(self, port: int, probe_id: str = PROBE) -> None:
        self.probe_id = probe_id
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{probe_id}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.alarms: list[dict[str, Any]] = []
        self.client.on_message = lambda _c, _u, m: self.alarms.append(json.loads(m.payload))
        self.client.subscribe(topic(probe_id, Kind.ALARM), qos=1)

    def send(self, batch: list[Reading]) -> None:
        payload = encode_readings(ReadingsBatch(self.probe_id, "1.0.0", tuple(batch)))
        self.raw(payload)

    def raw(self, payload: bytes, topic_name: str | None = None) -> None:
        info = self.client.publish(
            topic_name or topic(self.probe_id, Kind.READINGS), payload, qos=1
        )
        info.wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def running_worker(site: Site) -> Iterator[AlertWorker]:
    """The alert worker of `site`, started and subscribed to the broker; stopped after."""
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        yield worker
    finally:
        worker.stop()


class SseReader:
    """Reads a user's /api/v1/alerts/stream from a real HTTP server in a thread."""

    def __init__(self, base_url: str, token: str) -> None:
        import httpx

        self.events: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.status = 0

        def run() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            url = f"{base_url}/api/v1/alerts/stream"
            try:
                with httpx.stream("GET", url, headers=headers, timeout=30) as response:
                    self.status = response.status_code
                    self.ready.set()
                    for line in response.iter_lines():
                        if line.startswith("data: "):
                            self.events.append(json.loads(line[6:]))
            except httpx.HTTPError:
                pass  # the server stopped at the end of the test

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)


class HttpServer:
    """The app served by uvicorn on a free port (lifespan off: the TestClient ran it)."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.server.started, 10)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)
