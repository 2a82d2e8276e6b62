"""The gateway's use of the shared subscriber on a real Mosquitto, through a relay that
corrupts a topic (tests/harness/mqtt_proxy.py): a topic that is not UTF-8 is quarantined as
`invalid_topic` and acknowledged, and the gateway keeps taking readings. The subscriber's own
behaviour (the rejection, reconnecting after a cut, no acknowledged message delivered again)
is tested once, in tests/coldchain/test_mqtt_subscriber.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain.protocol import Reading, ReadingsBatch, encode_readings
from coldchain.readingstore.sqlite import SqliteReadingStore
from gateway.app import Gateway
from gateway.simulate import connect
from tests.gateway.conftest import gateway_in_process, past_start_ms, wait_until
from tests.harness.mqtt_proxy import MARKER, MqttProxy
from tests.harness.servers import Mosquitto


@pytest.fixture
def gateway(mqtt_proxy: MqttProxy, tmp_path: Path) -> Iterator[Gateway]:
    yield from gateway_in_process(mqtt_proxy.port, tmp_path, "gw-mqtt-source")


def _batches(probe_id: str, count: int) -> list[bytes]:
    start = past_start_ms()
    readings = [Reading(probe_id, "air", start + seq * 1000, seq, 3.5) for seq in range(count)]
    return [encode_readings(ReadingsBatch(probe_id, "1.0.0", (r,))) for r in readings]


def _received(gw: Gateway) -> float:
    labels = {"source": "mqtt", "kind": "readings"}
    value = gw.metrics.registry.get_sample_value(
        "coldchain_gateway_messages_received_total", labels
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("published", "kept_as", "detail"),
    [
        # A topic that is not UTF-8: kept with the bad bytes replaced.
        (
            f"cc/v1/dev/{MARKER.decode()}/up/readings",
            "cc/v1/dev/bad\ufffdtopic/up/readings",
            "topic is not UTF-8",
        ),
        # `up/foo` is writable under the probe ACL (`up/#`): received, not silently dropped.
        ("cc/v1/dev/van1/up/foo", "cc/v1/dev/van1/up/foo", "unknown topic suffix"),
    ],
    ids=["not-utf8", "unknown-suffix"],
)
def test_a_bad_topic_is_quarantined_as_invalid_topic_and_the_gateway_goes_on(
    gateway: Gateway,
    mosquitto: Mosquitto,
    mqtt_proxy: MqttProxy,
    tmp_path: Path,
    published: str,
    kept_as: str,
    detail: str,
) -> None:
    """Kept in the quarantine as `invalid_topic` (docs/protocol.md) with its payload, counted,
    acknowledged, and the next valid reading is stored."""
    batches = _batches("van1", 2)
    probe = connect("127.0.0.1", mosquitto.port, "mqtt-source-probe")
    probe.publish(published, batches[0], qos=1)
    probe.publish("cc/v1/dev/van1/up/readings", batches[1], qos=1).wait_for_publish(10)
    wait_until(lambda: _received(gateway) >= 2, 20, "both messages processed")
    assert gateway.intake.flush(10)
    (kept,) = gateway.spool.quarantine()
    assert (kept.source, kept.topic, kept.reason, kept.detail) == (
        "mqtt",
        kept_as,
        "invalid_topic",
        detail,
    )
    assert kept.payload == batches[0]
    rejected = gateway.metrics.registry.get_sample_value(
        "coldchain_gateway_rejected_total", {"reason": "invalid_topic"}
    )
    assert rejected == 1
    # Both acknowledged once committed: the quarantined one too (the gateway's ack callback).
    wait_until(lambda: len(mqtt_proxy.acked(1)) == 2, 10, "both acknowledged")
    assert gateway.mqtt is not None and gateway.mqtt.connected.is_set()
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    wait_until(lambda: store.count("van1") == 1, 10, "the valid reading stored")
    store.close()
    assert _received(gateway) == 2
    probe.disconnect()
    probe.loop_stop()
