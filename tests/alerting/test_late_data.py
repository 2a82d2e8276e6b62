"""A van back in coverage sends an hour of readings at once: the excursion is judged at
its device time, flagged `detected_late`, and attributed to the delivery and the lot that
were in the zone then, although the lot has been dropped and the delivery closed since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.alerting.worker import AlertWorker
from tests.alerting.support import Probe, Site, readings, wait_for
from tests.harness.servers import Mosquitto
from tests.server.world import iso


def test_late_readings_make_a_detected_late_alert_on_the_right_delivery(
    site: Site, mosquitto: Mosquitto
) -> None:
    driver = site.world["driver_a"]
    url = f"/api/v1/deliveries/{site.delivery_id}"
    now = datetime.now(UTC)
    drop = {
        "at": iso(now - timedelta(minutes=15)),
        "decisions": [{"load_id": site.load_id, "accepted": True}],
    }
    driver.ok("POST", f"{url}/stops/{site.ids['A_drop']}/handover", drop, 201)
    driver.ok("POST", f"{url}/close", {"closed_at": iso(now - timedelta(minutes=10))})

    probe = Probe(mosquitto.port)
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        wait_for(worker.mqtt.subscribed.is_set)
        # Out of coverage 28 to 16 minutes ago: 12 °C for 4 minutes, then back to 2 °C.
        start = now - timedelta(minutes=28)
        probe.send(readings(start, [2.0, 12.0, 12.0, 12.0, 12.0] + [2.0] * 7))
        hygiene = site.world["hygiene_a"]
        listed = wait_for(lambda: hygiene.ok("GET", "/api/v1/alerts")["data"])
        alert = hygiene.ok("GET", f"/api/v1/alerts/{listed[0]['id']}")
        assert alert["detected_late"] is True
        assert alert["delivery_id"] == site.delivery_id
        assert [lot["load_id"] for lot in alert["lots"]] == [site.load_id]
        assert alert["start_at"].startswith(iso(start + timedelta(minutes=1))[:16])
        assert alert["record"]["detected_late"] is True
        # The producer of the lot sees the alert; the other cooperative does not.
        assert site.world["producer1"].ok("GET", "/api/v1/alerts")["count"] == 1
        assert site.world["hygiene_b"].ok("GET", "/api/v1/alerts")["count"] == 0
    finally:
        worker.stop()
        probe.close()
