"""Operations: TLS and password brokers, a full spool, a sink that refuses points, metrics."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from coldchain.protocol import Reading, ReadingsBatch
from coldchain.readingstore.influxdb import InfluxQLReadingStore
from coldchain.readingstore.sqlite import SqliteReadingStore
from coldchain.settings import GatewaySettings, MqttSettings, Settings, StoreSettings
from gateway.app import Gateway
from gateway.simulate import connect, fleet_batches, publish
from tests.gateway.conftest import past_start_ms, wait_until
from tests.harness.servers import GATEWAY_USER, InfluxDB1, Mosquitto, VictoriaMetrics, free_port

GatewayMaker = Callable[..., Gateway]


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[GatewayMaker]:
    started: list[Gateway] = []

    def make(mqtt: MqttSettings, store: StoreSettings | None = None, **gateway: object) -> Gateway:
        settings = Settings(
            mqtt=mqtt,
            store=store or StoreSettings(sqlite_path=tmp_path / "readings.sqlite3"),
            gateway=GatewaySettings(
                spool_path=tmp_path / "spool.sqlite3",
                spool_fsync=False,
                **{"metrics_port": None, "sink_max_backoff_s": 0.5, **gateway},
            ),
        )
        gw = Gateway(settings)
        gw.start()
        started.append(gw)
        assert gw.mqtt is not None and gw.mqtt.subscribed.wait(15), "gateway did not subscribe"
        return gw

    yield make
    for gw in started:
        gw.stop()


def _sample(gw: Gateway, name: str, labels: dict[str, str] | None = None) -> float:
    return gw.metrics.registry.get_sample_value(name, labels or {}) or 0.0


def test_tls_broker(mosquitto_tls: Mosquitto, make_gateway: GatewayMaker, tmp_path: Path) -> None:
    assert mosquitto_tls.ca_file is not None
    make_gateway(MqttSettings(port=mosquitto_tls.port, tls_ca=mosquitto_tls.ca_file))
    client = connect("127.0.0.1", mosquitto_tls.port, "probe-tls", tls_ca=mosquitto_tls.ca_file)
    publish(client, fleet_batches(3, 60, 10, past_start_ms()))
    client.disconnect()
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    wait_until(lambda: store.count() == 60, 20, "readings over TLS stored")
    store.close()


def test_password_and_acl_broker(
    mosquitto_acl: Mosquitto, make_gateway: GatewayMaker, tmp_path: Path
) -> None:
    mqtt = MqttSettings(
        port=mosquitto_acl.port,
        username=GATEWAY_USER,
        password=SecretStr(mosquitto_acl.users[GATEWAY_USER]),
    )
    gw = make_gateway(mqtt)
    probe = connect(
        "127.0.0.1",
        mosquitto_acl.port,
        "probe-01",
        username="probe-01",
        password=mosquitto_acl.users["probe-01"],
    )
    start = past_start_ms()
    batches = [
        ReadingsBatch(
            "probe-01",
            "1.0.0",
            tuple(
                Reading("probe-01", "air", start + (10 * m + k) * 60_000, 10 * m + k, 4.0)
                for k in range(10)
            ),
        )
        for m in range(3)
    ]
    publish(probe, batches)
    probe.disconnect()
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    wait_until(lambda: store.count("probe-01") == 30, 20, "probe-01 readings stored")
    store.close()
    assert _sample(gw, "coldchain_gateway_broker_connected") == 1


def test_full_spool_stops_acking_and_loses_nothing(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, make_gateway: GatewayMaker
) -> None:
    influxdb1.stop()
    store_settings = StoreSettings(kind="influxdb1", url=influxdb1.url, timeout_s=2)
    gw = make_gateway(
        MqttSettings(port=mosquitto.port),
        store_settings,
        spool_max_readings=1000,
        receive_maximum=50,
        metrics_port=free_port(),
    )
    client = connect("127.0.0.1", mosquitto.port, "probes")
    total = 6000
    start = past_start_ms()
    publish(client, fleet_batches(20, total, 10, start))  # the broker took them all
    wait_until(lambda: _sample(gw, "coldchain_gateway_spool_full") == 1, 20, "spool-full alarm")
    time.sleep(1)
    depth = gw.spool.depth()
    assert 1000 <= depth < 1000 + 2000, depth  # bounded: the rest waits in the broker
    assert gw.metrics.registry.get_sample_value("coldchain_gateway_sink_failures_total")
    port = gw.settings.gateway.metrics_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        exposed = resp.read().decode()
    assert "coldchain_gateway_spool_full 1.0" in exposed
    influxdb1.start()
    influxdb1.query('CREATE DATABASE "coldchain"')  # a query racing the sink's first write
    reader = InfluxQLReadingStore(influxdb1.url, "coldchain")
    wait_until(lambda: reader.count() >= total, 60, "every reading delivered after the outage")
    assert reader.count() == total
    wait_until(lambda: _sample(gw, "coldchain_gateway_spool_full") == 0, 10, "alarm cleared")
    lag = _sample(gw, "coldchain_gateway_ingestion_lag_seconds_count")
    assert lag == total
    assert _sample(gw, "coldchain_gateway_ingestion_lag_seconds_sum") / lag > 3 * 3600
    client.disconnect()
    reader.close()


def test_spool_age_keeps_growing_between_retries_while_the_sink_is_down(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, make_gateway: GatewayMaker
) -> None:
    """coldchain_gateway_spool_oldest_age_seconds is computed when scraped: it grows while
    readings wait, also between two sink retries (it used to be set only at each retry)."""
    influxdb1.stop()
    store_settings = StoreSettings(kind="influxdb1", url=influxdb1.url, timeout_s=2)
    gw = make_gateway(MqttSettings(port=mosquitto.port), store_settings, sink_max_backoff_s=30)
    client = connect("127.0.0.1", mosquitto.port, "probes")
    publish(client, fleet_batches(1, 10, 10, past_start_ms()))
    # Retries at 0, 0.5, 1.5, 3.5 s: after the fourth failure the next one is 4 s away.
    wait_until(
        lambda: _sample(gw, "coldchain_gateway_sink_failures_total") >= 4, 20, "4 failed writes"
    )
    failures = _sample(gw, "coldchain_gateway_sink_failures_total")
    first = _sample(gw, "coldchain_gateway_spool_oldest_age_seconds")
    time.sleep(1.5)
    second = _sample(gw, "coldchain_gateway_spool_oldest_age_seconds")
    assert _sample(gw, "coldchain_gateway_sink_failures_total") == failures  # no retry between
    assert first >= 3 and second >= first + 1.4, (first, second)
    assert gw.spool.depth() == 10
    client.disconnect()


def test_points_the_sink_refuses_go_to_quarantine(
    mosquitto: Mosquitto, influxdb1: InfluxDB1, make_gateway: GatewayMaker
) -> None:
    start = past_start_ms()
    # Someone wrote `value` as a string into this shard: InfluxDB refuses our float points
    # with HTTP 400 (field type conflict), for good. Retrying would block the spool forever.
    influxdb1.query('CREATE DATABASE "coldchain"')
    body = f'reading,channel=air,probe=intruder value="oops" {start * 1_000_000}'.encode()
    urllib.request.urlopen(f"{influxdb1.url}/write?db=coldchain", data=body, timeout=10).close()
    gw = make_gateway(
        MqttSettings(port=mosquitto.port), StoreSettings(kind="influxdb1", url=influxdb1.url)
    )
    client = connect("127.0.0.1", mosquitto.port, "probes")
    publish(client, fleet_batches(2, 40, 10, start))
    wait_until(
        lambda: _sample(gw, "coldchain_gateway_sink_rejected_readings_total") == 40,
        20,
        "every refused reading quarantined",
    )
    assert gw.spool.depth() == 0
    kept = b"".join(q.payload for q in gw.spool.quarantine(reason="sink_rejected"))
    assert kept.count(b'"probe_id"') == 40  # every refused reading kept for inspection
    assert "field type conflict" in gw.spool.quarantine(reason="sink_rejected")[0].detail
    assert _sample(gw, "coldchain_gateway_sink_rejected_readings_total") == 40
    client.disconnect()


def test_influxdb2_path_rides_out_an_outage(
    mosquitto: Mosquitto, victoria_metrics: VictoriaMetrics, make_gateway: GatewayMaker
) -> None:
    """The influxdb-client (/api/v2/write) sink against VictoriaMetrics, which stands in for an
    InfluxDB 2 server (none can be installed here): down, then back, nothing lost or doubled."""
    victoria_metrics.stop()
    store = StoreSettings(
        kind="influxdb2", url=victoria_metrics.url, token=SecretStr("t"), timeout_s=2
    )
    gw = make_gateway(MqttSettings(port=mosquitto.port), store)
    client = connect("127.0.0.1", mosquitto.port, "probes")
    start = past_start_ms()
    publish(client, fleet_batches(10, 2000, 10, start))
    wait_until(lambda: _sample(gw, "coldchain_gateway_sink_failures_total") >= 1, 20, "failures")
    wait_until(lambda: gw.spool.depth() == 2000, 20, "everything spooled while the sink is down")
    victoria_metrics.start()
    wait_until(lambda: gw.spool.depth() == 0, 30, "spool drained into VictoriaMetrics")
    samples = [
        (s["metric"]["probe"], ts)
        for s in victoria_metrics.export('{__name__="reading_seq"}')
        for ts in s["timestamps"]
    ]
    assert len(samples) == len(set(samples)) == 2000
    client.disconnect()


def test_a_later_message_never_rewrites_a_stored_reading(
    mosquitto: Mosquitto, make_gateway: GatewayMaker, tmp_path: Path
) -> None:
    """First write wins, through Mosquitto and the gateway: 3.3 °C stored, then a message with
    the same (probe, channel, time) and -1.5 °C: the store keeps 3.3, the conflict is kept with
    both values and counted; an identical re-send is a silent duplicate."""
    gw = make_gateway(MqttSettings(port=mosquitto.port))
    at = past_start_ms()
    first = Reading("probe-07", "air", at, 41, 3.3)
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    client = connect("127.0.0.1", mosquitto.port, "probe-07")
    publish(client, [ReadingsBatch("probe-07", "1.0.0", (first,))])
    wait_until(lambda: store.count("probe-07") == 1, 20, "3.3 °C stored")
    wait_until(lambda: gw.spool.depth() == 0, 10, "spool drained")
    publish(client, [ReadingsBatch("probe-07", "1.0.0", (first,))])  # identical re-send
    forged = Reading("probe-07", "air", at, 42, -1.5)
    marker = Reading("probe-07", "air", at + 60_000, 43, 3.4)
    publish(client, [ReadingsBatch("probe-07", "1.0.0", (forged, marker))])
    wait_until(lambda: store.count("probe-07") == 2, 20, "the next reading stored")
    wait_until(
        lambda: _sample(gw, "coldchain_gateway_conflicting_readings_total") == 1, 10, "conflict"
    )
    assert store.readings("probe-07", at, at + 1) == [first]
    [kept] = store.conflicts()
    assert (kept.stored, kept.new) == (first, forged)
    assert _sample(gw, "coldchain_gateway_conflicting_readings_total") == 1
    client.disconnect()
    store.close()
