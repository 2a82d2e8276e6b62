"""Readings from a probe id nobody registered, through the real broker and worker: judged
nowhere, noted for the admin (server/domain/unknown_probes.py: first and last heard, how
many readings, the topic), forgotten once the probe is registered; a registered probe that
is installed nowhere is not « unknown »; a malformed id is rejected as before; a flood of
made-up ids keeps the table at its cap and counts the ids it dropped."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from coldchain.protocol import Kind, Reading, ReadingsBatch, encode_readings, topic
from server.alerting.worker import AlertWorker
from server.core.models import UnknownProbe
from server.core.models.alerts import RejectedMessage
from server.domain import unknown_probes
from tests.alerting.support import Probe, Site, wait_for
from tests.harness.servers import Mosquitto


def batch(probe_id: str, start: datetime, n: int, seq0: int = 1) -> list[Reading]:
    return [
        Reading(
            probe_id, "air", int((start + timedelta(minutes=i)).timestamp() * 1000), seq0 + i, 3.0
        )
        for i in range(n)
    ]


def rows(site: Site) -> dict[str, UnknownProbe]:
    with site.app.state.sessionmaker() as session:
        return {row.probe_id: row for row in session.scalars(select(UnknownProbe))}


def test_an_unregistered_probe_is_noted_and_forgotten_once_registered(
    site: Site, mosquitto: Mosquitto
) -> None:
    admin = site.world["admin_a"]
    owner = site.ids["A"]
    admin.ok("POST", "/api/v1/probes", {"probe_id": "nulle-part", "owner_id": owner}, 201)
    stranger, idle = Probe(mosquitto.port, "inconnue-7"), Probe(mosquitto.port, "nulle-part")
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        now = datetime.now(UTC)
        stranger.send(batch("inconnue-7", now - timedelta(minutes=10), 3))
        stranger.send(batch("inconnue-7", now - timedelta(minutes=5), 3, 10))
        idle.send(batch("nulle-part", now - timedelta(minutes=5), 2))  # registered, not installed
        malformed = {"v": 1, "id": "Sonde_7", "fw": "1.0.0", "r": []}
        stranger.raw(json.dumps(malformed).encode(), topic("Sonde_7", Kind.READINGS))

        wait_for(lambda: getattr(rows(site).get("inconnue-7"), "readings", 0) == 6)
        wait_for(lambda: worker.counters["rejected"] >= 1 and worker.counters["messages"] >= 3)
        noted = rows(site)["inconnue-7"]
        assert (
            noted.last_topic
            == topic("inconnue-7", Kind.READINGS)
            == "cc/v1/dev/inconnue-7/up/readings"
        )
        assert noted.first_seen <= noted.last_seen <= datetime.now(UTC)
        assert set(rows(site)) == {"inconnue-7"}  # neither the idle probe nor the malformed id
        assert worker.counters["not_installed"] == 8  # as before: stored, judged nowhere
        assert site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["count"] == 0

        def reasons() -> set[str]:  # the rejected row is committed after the counter moves
            with site.app.state.sessionmaker() as session:
                return set(session.scalars(select(RejectedMessage.reason)))

        wait_for(lambda: reasons() == {"invalid_probe_id"})
        assert reasons() == {"invalid_probe_id"}

        admin.ok("POST", "/api/v1/probes", {"probe_id": "inconnue-7", "owner_id": owner}, 201)
        assert rows(site) == {}
        # Heard again, whether or not the worker has read the registry since: not unknown.
        stranger.send(batch("inconnue-7", now - timedelta(minutes=1), 1, 20))
        wait_for(lambda: worker.counters["messages"] >= 4)
        assert rows(site) == {}
    finally:
        worker.stop()
        stranger.close()
        idle.close()


def test_a_flood_of_made_up_ids_keeps_the_table_at_its_cap(
    site: Site, mosquitto: Mosquitto
) -> None:
    worker = AlertWorker(site.settings)
    worker.start()
    flood = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="flood")
    flood.connect("127.0.0.1", mosquitto.port)
    flood.loop_start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        sent = None
        for n in range(2000):
            probe_id = f"x{secrets.token_hex(6)}-{n}"
            reading = Reading(probe_id, "air", now_ms, 1, 3.0)
            payload = encode_readings(ReadingsBatch(probe_id, "1.0.0", (reading,)))
            sent = flood.publish(topic(probe_id, Kind.READINGS), payload, qos=1)
        assert sent is not None
        sent.wait_for_publish(10)
        wait_for(lambda: worker.counters["messages"] >= 2000, timeout=60)

        def noted() -> unknown_probes.Unknown:
            with site.app.state.sessionmaker() as session:
                return unknown_probes.listing(session)

        # The worker counts a message when it handles it and commits its batch after: the
        # last batch's notes reach the database a moment later.
        wait_for(lambda: noted().dropped >= 1500, timeout=30)
        with site.app.state.sessionmaker() as session:
            count = session.scalar(select(func.count()).select_from(UnknownProbe))
            listed = unknown_probes.listing(session)
        assert count == unknown_probes.CAP == 500
        assert listed.dropped == 1500 == worker.counters["unknown_probe_dropped"]
        assert len(listed.probes) == 500
        assert listed.probes[0].probe_id.endswith("-1999")  # the most recently heard kept
    finally:
        flood.loop_stop()
        flood.disconnect()
        worker.stop()
