"""A cold room's label temperature reaches the one judging rule through the alert worker
(server/alerting/places.py passes it to alerts/limits.py like a lot's label): 5 °C in cold
room CR1, of the 7 °C chilled-retail category, is within the category's limit, but with the
room's 4 °C label it is beyond the limit in force and opens a warning. Real Mosquitto, real
worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.judgement import Level, judge
from alerts.limits import limit_for_category
from coldchain.protocol import Reading
from server.alerting.places import cold_room_key
from server.alerting.worker import AlertWorker
from server.domain.categories import profiles
from tests.alerting.support import Probe, Site, wait_for
from tests.harness.servers import Mosquitto

REASON = "étiquette du fromage au lait cru : ≤ 4 °C"


def room_readings(start: datetime, values: list[float], seq0: int) -> list[Reading]:
    return [
        Reading("cr1", "air", int((start + timedelta(minutes=i)).timestamp() * 1000), seq0 + i, v)
        for i, v in enumerate(values)
    ]


def test_five_degrees_is_a_warning_in_a_room_with_a_four_degree_label(
    site: Site, mosquitto: Mosquitto
) -> None:
    room = site.ids["CR1"]
    producer = site.world["producer1"]
    label = {"label_max_c": 4.0, "label_reason": REASON}
    producer.ok("PUT", f"/api/v1/cold-rooms/{room}/label", label)
    probe = Probe(mosquitto.port, "cr1")
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        key = cold_room_key(room)
        assert worker.places.configs[key].label_max_c == 4.0
        now = datetime.now(UTC)
        # The category alone (7 °C) finds 5 °C within it: no alert without the label.
        category = limit_for_category(profiles(), "chilled_retail")
        assert judge(5.0, category, in_transport=False).level is Level.WITHIN
        probe.send(room_readings(now - timedelta(minutes=3), [5.0, 5.1, 5.0], 1))

        def room_alerts() -> list[dict[str, object]]:
            listed = producer.ok("GET", "/api/v1/alerts")["data"]
            return [
                a
                for a in listed
                if a["cold_room_id"] == room and a["kind"] == "temperature_excursion"
            ]

        opened = wait_for(room_alerts)
        assert len(opened) == 1
        alert = producer.ok("GET", f"/api/v1/alerts/{opened[0]['id']}")
        assert alert["severity"] == "warning"  # beyond 4 °C, not by the hard margin
        assert alert["probe_id"] == "cr1" and "5,1 °C" in alert["text_fr"]
        limit = worker.engine.locations[key].ctx.timeline.at(int(now.timestamp() * 1000))
        assert (limit.max_c, limit.max_basis, limit.label_applied) == (4.0, "label", True)
    finally:
        worker.stop()
        probe.close()
