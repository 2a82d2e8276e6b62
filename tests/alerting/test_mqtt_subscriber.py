"""The alert worker's use of the shared subscriber on a real Mosquitto, through a relay that
corrupts a topic (tests/harness/mqtt_proxy.py): a topic that is not UTF-8 is kept as a
rejected message and acknowledged, and readings are judged after it. Before the worker used
the shared subscriber (coldchain/mqtt/subscriber.py), such a topic raised in paho's network
thread and the worker never received another message. The subscriber's own behaviour
(reconnecting after a cut, no acknowledged message delivered again) is tested once, in
tests/coldchain/test_mqtt_subscriber.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from coldchain.settings import MqttSettings
from server.alerting.worker import AlertWorker
from server.core.models.alerts import RejectedMessage
from tests.alerting.support import PROBE, Probe, Site, readings, wait_for
from tests.harness.mqtt_proxy import MARKER, MqttProxy
from tests.harness.servers import Mosquitto


def test_worker_keeps_a_topic_that_is_not_utf8_and_judges_on(
    site: Site, mosquitto: Mosquitto, mqtt_proxy: MqttProxy
) -> None:
    settings = site.settings.model_copy(
        update={"mqtt": MqttSettings(port=mqtt_proxy.port, managed=False)}
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

        def rejected() -> list[RejectedMessage]:
            with site.app.state.sessionmaker() as session:
                return list(session.scalars(select(RejectedMessage)))

        # Counted while judging, stored when the worker's batch commits: wait for the row.
        (kept,) = wait_for(rejected)
        assert (kept.topic, kept.reason, kept.detail) == (
            "cc/v1/dev/bad\ufffdtopic/up/readings",
            "invalid_topic",
            "topic is not UTF-8",
        )
        assert kept.payload == json.dumps(payload).encode()
        wait_for(lambda: mqtt_proxy.acked(1))  # acknowledged once the engine state was saved

        now = datetime.now(UTC)
        probe.send(readings(now - timedelta(minutes=3), [12.0] * 4))
        wait_for(lambda: site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["count"] == 1)
        assert worker.counters["rejected"] == 1  # kept once, not judged again
        assert worker.counters["internal_error"] == 0
    finally:
        worker.stop()
        probe.close()
