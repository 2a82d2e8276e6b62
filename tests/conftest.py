"""Fixtures shared by the whole suite: real servers on free loopback ports (tests/harness/)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.harness.app import (  # the server under test (shared by several folders)
    app,
    client,
    database_url,
    databases,
    postgres,
    postgres_template,
    reading_store,
    sqlite_template,
    world,
)
from tests.harness.mqtt_proxy import BROKEN, MARKER, MqttProxy
from tests.harness.servers import (
    InfluxDB1,
    MicroPython,
    Mosquitto,
    Server,
    VictoriaMetrics,
    make_influxdb1,
    make_mosquitto,
    make_victoria_metrics,
    require_binary,
)

__all__ = [
    "app",
    "client",
    "database_url",
    "databases",
    "postgres",
    "postgres_template",
    "reading_store",
    "sqlite_template",
    "world",
]

REPO = Path(__file__).resolve().parents[1]
# A running `coldchain up` is recorded in $XDG_CONFIG_HOME/coldchain/running.json and every
# command with no configuration of its own adopts it (coldchain/startup.py): each session
# gets its own folder, so that no test, nor another session, meets another's system.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="coldchain-tests-config-")
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], ignore_errors=True)
VECTORS = REPO / "tests" / "vectors"
FIRMWARE = REPO / "firmware" / "esp32"
S = TypeVar("S", bound=Server)


# The brokers and time-series servers below are per test on purpose (a start takes 0.05 s
# for Mosquitto, 0.1 s for InfluxDB, 0.2 s for VictoriaMetrics): the product's topics
# (cc/v1/dev/...) and client ids (gw-1, alerts-..., test-server) are fixed and its sessions
# persistent, so a shared broker would hand one test's queued messages to the next; tests
# stop, kill and restart them; InfluxDB's "coldchain" database and VictoriaMetrics' series
# are named by the product. PostgreSQL (a database per test), the migrated templates, the
# world, Chromium and the TLS certificates are made once per session (tests/harness/).


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Start Mosquitto brokers of a flavour ("anonymous", "acl", "tls"); all stopped after."""
    started: list[Mosquitto] = []

    def start(flavour: str = "anonymous", **kwargs: object) -> Mosquitto:
        broker = make_mosquitto(tmp_path / f"mosquitto-{len(started)}", flavour, **kwargs)  # type: ignore[arg-type]
        broker.start()
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """Anonymous Mosquitto."""
    return mosquitto_factory("anonymous")


@pytest.fixture
def mosquitto_acl(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """Mosquitto with a password file and the probe ACL (probe-01, probe-02, gateway, server)."""
    return mosquitto_factory("acl")


@pytest.fixture
def mosquitto_tls(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """Mosquitto on TLS with a throw-away CA (generated once per session)."""
    return mosquitto_factory("tls")


@pytest.fixture
def mqtt_proxy(mosquitto: Mosquitto) -> Iterator[MqttProxy]:
    """A relay to `mosquitto` that can cut the links, and turns probe id MARKER in the topics
    the broker sends into a topic that is not UTF-8 (tests/harness/mqtt_proxy.py)."""
    relay = MqttProxy(mosquitto.port, corrupt=(MARKER, BROKEN))
    yield relay
    relay.close()


def running(server: S) -> Iterator[S]:
    """Start `server` for a fixture; stopped after."""
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influxdb1(tmp_path: Path) -> Iterator[InfluxDB1]:
    """InfluxDB 1.6.7 (v1 /write and /query)."""
    yield from running(make_influxdb1(tmp_path / "influxdb"))


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """VictoriaMetrics: implements /api/v2/write, the influxdb-client write path."""
    yield from running(make_victoria_metrics(tmp_path / "victoria-metrics"))


@pytest.fixture(scope="session")
def micropython() -> MicroPython:
    """The MicroPython unix port, to run firmware code for real."""
    return MicroPython(require_binary("micropython"))
