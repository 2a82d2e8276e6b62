"""The gateway's subscriber on a real Mosquitto, through a relay that corrupts a topic and cuts
the link (tests/harness/mqtt_proxy.py): a topic that is not UTF-8 is quarantined as
`invalid_topic` and acknowledged, and the gateway keeps taking readings, also after a cut."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain.protocol import Reading, ReadingsBatch, encode_readings
from coldchain.settings import GatewaySettings, MqttSettings, Settings, StoreSettings
from gateway.app import Gateway
from gateway.simulate import connect
from tests.gateway.conftest import past_start_ms, wait_until
from tests.harness.mqtt_proxy import MqttProxy
from tests.harness.servers import Mosquitto

# The relay rewrites this probe id, byte for byte, into a topic that is not UTF-8.
MARKER, BROKEN = b"bad-topic", b"bad\xfftopic"


@pytest.fixture
def proxy(mosquitto: Mosquitto) -> Iterator[MqttProxy]:
    relay = MqttProxy(mosquitto.port, corrupt=(MARKER, BROKEN))
    yield relay
    relay.close()


@pytest.fixture
def gateway(proxy: MqttProxy, tmp_path: Path) -> Iterator[Gateway]:
    settings = Settings(
        mqtt=MqttSettings(port=proxy.port),
        store=StoreSettings(kind="sqlite", sqlite_path=tmp_path / "readings.sqlite3"),
        gateway=GatewaySettings(
            client_id="gw-mqtt-source",
            spool_path=tmp_path / "spool.sqlite3",
            metrics_port=None,
            spool_fsync=False,
        ),
    )
    gw = Gateway(settings)
    gw.start()
    assert gw.mqtt is not None and gw.mqtt.subscribed.wait(10)
    yield gw
    gw.stop()


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


def test_a_topic_that_is_not_utf8_is_quarantined_and_the_gateway_goes_on(
    gateway: Gateway, mosquitto: Mosquitto, proxy: MqttProxy
) -> None:
    batches = _batches("van1", 3)
    probe = connect("127.0.0.1", mosquitto.port, "mqtt-source-probe")
    probe.publish(f"cc/v1/dev/{MARKER.decode()}/up/readings", batches[0], qos=1)
    probe.publish("cc/v1/dev/van1/up/readings", batches[1], qos=1).wait_for_publish(10)
    wait_until(lambda: _received(gateway) >= 2, 20, "both messages processed")
    assert gateway.intake.flush(10)
    (kept,) = gateway.spool.quarantine()
    assert (kept.source, kept.topic, kept.reason, kept.detail) == (
        "mqtt",
        "cc/v1/dev/bad\ufffdtopic/up/readings",
        "invalid_topic",
        "topic is not UTF-8",
    )
    assert kept.payload == batches[0]
    wait_until(lambda: len(proxy.acked(1)) == 2, 10, "both acknowledged")
    assert gateway.mqtt is not None and gateway.mqtt.connected.is_set()

    proxy.cut()
    wait_until(
        lambda: proxy.links == 2 and gateway.mqtt is not None and gateway.mqtt.subscribed.is_set(),
        20,
        "reconnected through the relay",
    )
    probe.publish("cc/v1/dev/van1/up/readings", batches[2], qos=1).wait_for_publish(10)
    wait_until(lambda: _received(gateway) >= 3, 20, "the message after the cut processed")
    assert gateway.intake.flush(10)
    assert _received(gateway) == 3  # both were acknowledged before the cut: none came again
    assert len(gateway.spool.quarantine()) == 1
    probe.disconnect()
    probe.loop_stop()
