"""No reading lost, none counted twice: sink outage, kill -9, broker restart, two gateways.

The gateway runs as a real subprocess; the broker is a real Mosquitto with persistence, the
sink a real InfluxDB 1.6.7 (or the embedded SQLite store). Publishers are probe-like paho
clients streaming at a fixed rate in a thread while the test breaks things.
"""

from __future__ import annotations

import os
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from coldchain.readingstore.influxdb import InfluxQLReadingStore
from coldchain.readingstore.sqlite import SqliteReadingStore
from gateway.simulate import connect, expected_keys, fleet_batches, publish
from tests.gateway.conftest import GatewayProcess, past_start_ms, wait_until
from tests.harness.servers import InfluxDB1, Mosquitto

# The issue asks for a 2-minute sink outage; the suite uses a shorter one to stay in budget.
# COLDCHAIN_TEST_SINK_OUTAGE_S=120 runs the full-length version.
SINK_OUTAGE_S = float(os.environ.get("COLDCHAIN_TEST_SINK_OUTAGE_S", "8"))


@dataclass
class Stream:
    """Publishes `total` readings from `probes` probes at `rate` messages per second, in a
    thread from `start()` to `finish()`."""

    broker: Mosquitto
    total: int
    rate: float
    probes: int = 50
    per_message: int = 10
    client_id: str = "simulator"
    start_ms: int = field(default_factory=past_start_ms)
    sent: int = 0
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        try:
            client = connect("127.0.0.1", self.broker.port, self.client_id)
            batches = fleet_batches(self.probes, self.total, self.per_message, self.start_ms)
            self.sent = publish(client, batches, rate_per_s=self.rate, timeout=180)
            client.disconnect()
            client.loop_stop()
        except BaseException as exc:
            self.error = exc

    def finish(self) -> None:
        self._thread.join(240)
        assert self.error is None, self.error
        assert self.sent == -(-self.total // self.per_message)

    @property
    def keys(self) -> set[tuple[str, str, int]]:
        return expected_keys(self.probes, self.total, self.per_message, self.start_ms)


def _influx_keys(store: InfluxQLReadingStore, stream: Stream) -> list[tuple[str, str, int]]:
    keys = []
    for p in range(stream.probes):
        for r in store.readings(f"sim-{p:03d}", stream.start_ms, stream.start_ms + 10**9):
            keys.append(r.key)
    return keys


def _assert_exactly(store: InfluxQLReadingStore, stream: Stream) -> None:
    wait_until(lambda: store.count() >= stream.total, 120, "all readings stored")
    keys = _influx_keys(store, stream)
    assert len(keys) == len(set(keys)) == store.count() == stream.total
    assert set(keys) == stream.keys


def test_sink_outage_loses_nothing(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, gateway_factory
) -> None:
    gw = gateway_factory(mosquitto, {"kind": "influxdb1", "url": influxdb1.url})
    gw.start()
    stream = Stream(mosquitto, total=40_000, rate=4000 / max(4.0, SINK_OUTAGE_S + 4))
    stream.start()
    time.sleep(1.5)
    influxdb1.stop()
    time.sleep(SINK_OUTAGE_S)
    spooled = _metric(gw, "coldchain_gateway_spool_depth")
    assert spooled > 0, "readings should pile up in the spool while InfluxDB is down"
    assert _metric(gw, "coldchain_gateway_sink_failures_total") > 0
    influxdb1.start()
    stream.finish()
    store = InfluxQLReadingStore(influxdb1.url, "coldchain")
    _assert_exactly(store, stream)
    assert gw.stop() == 0


def test_kill_9_at_five_random_moments(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, gateway_factory
) -> None:
    gw: GatewayProcess = gateway_factory(mosquitto, {"kind": "influxdb1", "url": influxdb1.url})
    gw.start()
    stream = Stream(mosquitto, total=30_000, rate=300)  # about 10 s of stream
    stream.start()
    rng = random.Random()
    for _ in range(5):
        time.sleep(rng.uniform(0.3, 1.8))
        gw.kill()
        gw.start()
    stream.finish()
    store = InfluxQLReadingStore(influxdb1.url, "coldchain")
    _assert_exactly(store, stream)
    assert gw.starts == 6
    assert gw.stop() == 0


def test_broker_restart_during_stream(
    mosquitto: Mosquitto, gateway_factory, tmp_path: Path
) -> None:
    """Plain subscription (shared_subscription=false): Mosquitto 2.0.11 restores persistent
    sessions and their plain subscriptions after a restart, but not shared subscriptions, so
    messages published between the restart and the gateway's re-subscription would be dropped
    by the broker (test_mosquitto_forgets_shared_subscriptions_on_restart)."""
    readings = tmp_path / "readings.sqlite3"
    gw = gateway_factory(
        mosquitto, {"kind": "sqlite", "sqlite_path": str(readings)}, shared_subscription="false"
    )
    gw.start()
    stream = Stream(mosquitto, total=20_000, rate=400)
    stream.start()
    time.sleep(2)
    mark = gw.log.stat().st_size
    mosquitto.restart()
    gw.wait_for_log("session present: True", 60, since=mark)  # the same session, resumed
    stream.finish()
    store = SqliteReadingStore(readings)
    wait_until(lambda: store.count() >= stream.total, 120, "all readings stored")
    assert store.count() == stream.total
    got = {
        r.key
        for p in range(stream.probes)
        for r in store.readings(f"sim-{p:03d}", stream.start_ms, stream.start_ms + 10**9)
    }
    assert got == stream.keys
    store.close()
    assert gw.stop() == 0


def test_two_gateways_share_the_stream_and_a_killed_one_loses_nothing(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, gateway_factory
) -> None:
    store_settings = {"kind": "influxdb1", "url": influxdb1.url}
    first = gateway_factory(mosquitto, store_settings, client_id="gw-a")
    second = gateway_factory(mosquitto, store_settings, client_id="gw-b")
    first.start()
    second.start()
    stream = Stream(mosquitto, total=30_000, rate=500)
    stream.start()
    time.sleep(2.5)
    # Both members take part while both run.
    assert _metric(first, "coldchain_gateway_readings_received_total") > 0
    assert _metric(second, "coldchain_gateway_readings_received_total") > 0
    second.kill()
    time.sleep(2)
    # Its share stays queued in its persistent session (Mosquitto 2.0,
    # docs/technical-notes.md#shared-subscriptions-measured) and
    # arrives when the same client id is back.
    second.start()
    stream.finish()
    store = InfluxQLReadingStore(influxdb1.url, "coldchain")
    _assert_exactly(store, stream)
    assert first.stop() == 0
    assert second.stop() == 0


def _metric(gw: GatewayProcess, name: str) -> float:
    port = gw.env["COLDCHAIN_GATEWAY__METRICS_PORT"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_mosquitto_forgets_shared_subscriptions_on_restart(mosquitto: Mosquitto) -> None:
    """Why a single-gateway site should use a plain subscription (docs/gateway.md).

    Measured on Mosquitto 2.0.11: after a restart, a persistent session gets back what was
    queued for it, and its plain subscription keeps catching new messages while it is
    offline; its shared subscription does not. If a future Mosquitto fixes this, this test
    fails and docs/gateway.md should be revisited.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    subscribed = {name: threading.Event() for name in ("shared", "plain")}  # SUBACK seen

    def session(client_id: str, topic_filter: str, got: list[bytes]) -> mqtt.Client:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        c.on_connect = lambda cl, *_: cl.subscribe(topic_filter, 1)
        c.on_subscribe = lambda *_: subscribed[client_id].set()
        c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        c.connect("127.0.0.1", mosquitto.port, clean_start=False, properties=props)
        c.loop_start()
        return c

    def probe_sends(tag: str) -> None:
        client = connect("127.0.0.1", mosquitto.port, "probe")
        for i in range(5):
            client.publish("cc/v1/dev/p1/up/readings", f"{tag}{i}", qos=1).wait_for_publish(10)
        client.disconnect()
        client.loop_stop()

    filters = {"shared": "$share/g/cc/v1/dev/+/up/readings", "plain": "cc/v1/dev/+/up/readings"}
    for name, topic_filter in filters.items():
        c = session(name, topic_filter, [])
        assert subscribed[name].wait(10), f"no SUBACK for the {name} subscription"
        c.disconnect()
        c.loop_stop()
    probe_sends("before-")
    mosquitto.restart()
    probe_sends("after-")
    got: dict[str, list[bytes]] = {name: [] for name in filters}
    clients = [session(name, f, got[name]) for name, f in filters.items()]
    wait_until(lambda: len(got["plain"]) >= 10 and len(got["shared"]) >= 5, 20, "redelivery")
    time.sleep(1)
    for c in clients:
        c.disconnect()
        c.loop_stop()
    assert sorted(p[:5] for p in got["plain"]).count(b"after") == 5
    assert all(p.startswith(b"before-") for p in got["shared"]), got["shared"]


def test_gateway_started_before_the_broker_connects_when_it_comes(
    mosquitto: Mosquitto, gateway_factory, tmp_path: Path
) -> None:
    readings = tmp_path / "readings.sqlite3"
    mosquitto.stop()
    gw = gateway_factory(mosquitto, {"kind": "sqlite", "sqlite_path": str(readings)})
    gw.start(wait_subscribed=False)
    time.sleep(1.5)  # refused connections meanwhile: paho retries, the process stays up
    assert gw.proc is not None and gw.proc.poll() is None
    mosquitto.start()
    gw.wait_for_log("subscribed to", 60)
    stream = Stream(mosquitto, total=1000, rate=200, probes=5)
    stream.start()
    stream.finish()
    store = SqliteReadingStore(readings)
    wait_until(lambda: store.count() == 1000, 30, "readings stored")
    store.close()
    assert gw.stop() == 0
