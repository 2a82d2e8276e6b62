"""The alert worker's subscriber on a real Mosquitto, through a relay that corrupts a topic and
cuts the link (tests/harness/mqtt_proxy.py): a topic that is not UTF-8 is kept as a rejected
message and acknowledged, the connection comes back after a cut, and readings are judged
after both. Before the worker used the shared subscriber (coldchain/mqtt/subscriber.py), such
a topic raised in paho's network thread and the worker never received another message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from coldchain.settings import MqttSettings
from server.alerting.worker import AlertWorker
from server.core.models.alerts import RejectedMessage
from tests.alerting.support import PROBE, Probe, Site, readings, wait_for
from tests.harness.mqtt_proxy import MqttProxy
from tests.harness.servers import Mosquitto

# The relay rewrites this probe id, byte for byte, into a topic that is not UTF-8.
MARKER, BROKEN = b"bad-topic", b"bad\xfftopic"


@pytest.fixture
def proxy(mosquitto: Mosquitto) -> Iterator[MqttProxy]:
    relay = MqttProxy(mosquitto.port, corrupt=(MARKER, BROKEN))
    yield relay
    relay.close()


def test_worker_keeps_a_topic_that_is_not_utf8_and_survives_a_reconnect(
    site: Site, mosquitto: Mosquitto, proxy: MqttProxy
) -> None:
    settings = site.settings.model_copy(
        update={"mqtt": MqttSettings(port=proxy.port, managed=False)}
    )
    probe = Probe(mosquitto.port)  # publishes to the broker directly
    worker = AlertWorker(settings)
    worker.start()
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    payload = {
        "v": 1,
        "id": PROBE,
        "fw": "1.0.0",
        "r": [{"c": "air", "t": now_ms, "s": 1, "v": 3.0}],
    }
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        probe.raw(json.dumps(payload).encode(), f"cc/v1/dev/{MARKER.decode()}/up/readings")
        wait_for(lambda: worker.counters["rejected_invalid_topic"] == 1)
        with site.app.state.sessionmaker() as session:
            (kept,) = session.scalars(select(RejectedMessage))
        assert (kept.topic, kept.reason, kept.detail) == (
            "cc/v1/dev/bad\ufffdtopic/up/readings",
            "invalid_topic",
            "topic is not UTF-8",
        )
        assert kept.payload == json.dumps(payload).encode()
        wait_for(lambda: proxy.acked(1))  # acknowledged once the engine state was saved

        proxy.cut()
        wait_for(lambda: proxy.links == 2 and worker.mqtt.subscribed.is_set())
        now = datetime.now(UTC)
        probe.send(readings(now - timedelta(minutes=3), [12.0] * 4))
        wait_for(lambda: site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["count"] == 1)
        # The rejected message was acknowledged before the cut: not delivered a second time.
        assert worker.counters["rejected"] == 1
        assert worker.counters["internal_error"] == 0
    finally:
        worker.stop()
        probe.close()
