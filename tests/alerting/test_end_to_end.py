"""Readings published by a simulated probe -> alert in the database -> `down/alarm` on the
probe's topic -> SSE event on the driver's stream (not on another cooperative's) -> e-mail
received by a real SMTP server. Real Mosquitto, real SQLite through the app factory."""

from __future__ import annotations

import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from server.core.models.alerts import NotificationAttempt
from tests.alerting.support import (
    HttpServer,
    Inbox,
    Probe,
    Site,
    SseReader,
    build_site,
    readings,
    running_worker,
    settings_for,
    wait_for,
)
from tests.harness.servers import Mosquitto


def token(site: Site, user: str) -> str:
    return site.world[user].headers["Authorization"].removeprefix("Bearer ")


def test_reading_to_alert_alarm_sse_and_email(
    site: Site, mosquitto: Mosquitto, smtp: tuple[int, Inbox]
) -> None:
    _, inbox = smtp
    http = HttpServer(site.app)
    driver_stream = SseReader(http.url, token(site, "driver_a"))
    other_coop_stream = SseReader(http.url, token(site, "hygiene_b"))
    try:
        with closing(Probe(mosquitto.port)) as probe, running_worker(site) as worker:
            now = datetime.now(UTC)
            # 12 °C against the lot's label 6 °C: beyond the hard margin, critical at once.
            probe.send(readings(now - timedelta(minutes=3), [12.0, 12.2, 12.4, 12.1]))

            hygiene = site.world["hygiene_a"]
            listed = wait_for(lambda: hygiene.ok("GET", "/api/v1/alerts")["data"])
            assert len(listed) == 1
            alert = hygiene.ok("GET", f"/api/v1/alerts/{listed[0]['id']}")
            assert alert["kind"] == "temperature_excursion"
            assert alert["severity"] == "critical"
            assert alert["state"] == "open"
            assert alert["delivery_id"] == site.delivery_id
            assert alert["detected_late"] is False
            assert [lot["load_id"] for lot in alert["lots"]] == [site.load_id]
            assert alert["lots"][0]["consignor_id"] == site.ids["P1"]
            assert alert["lots"][0]["consignor_name"] == "Chèvrerie du Val"
            assert "°C" in alert["text_fr"]

            alarm = wait_for(lambda: [a for a in probe.alarms if a["on"]])[0]
            assert alarm["alert"] == alert["uid"]
            assert alarm["text"].startswith("ALERTE frais")
            assert len(alarm["text"]) <= 64

            opened = wait_for(lambda: [e for e in driver_stream.events if e["kind"] == "opened"])
            assert opened[0]["alert"]["id"] == alert["id"]
            mails = wait_for(lambda: inbox.messages if len(inbox.messages) >= 2 else None)
            recipients = {r for rcpts, _ in mails for r in rcpts}
            # the driver, and the producer whose goods were on board (not only the cooperative)
            assert {"driver_a@example.be", "producer1@example.be"} <= recipients
            assert "Subject: [Coldchain] Nouvelle alerte (critique)" in mails[0][1]

            # The driver acknowledges: the in-van alarm is silenced.
            site.world["driver_a"].ok("POST", f"/api/v1/alerts/{alert['id']}/acknowledge", {})
            wait_for(lambda: [a for a in probe.alarms if not a["on"]])
            wait_for(lambda: [e for e in driver_stream.events if e["kind"] == "acknowledged"])

            time.sleep(2 * site.settings.alerting.sse_poll_s + 0.5)
            assert not [e for e in other_coop_stream.events if e["alert"]["id"] == alert["id"]]
            with site.app.state.sessionmaker() as session:
                attempts = list(session.scalars(select(NotificationAttempt)))
                assert attempts and all(a.ok for a in attempts)
            assert worker.counters["rejected"] == 0
    finally:
        http.stop()


def test_worker_in_the_server_process_applies_the_calibration(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """`alerting.in_server`: the server's lifespan runs the worker. The probe reads 2 °C too
    warm (calibration -2 °C): raw 7.9 °C for 20 min is 5.9 °C, under the lot's label 6 °C,
    no alert (uncalibrated it would be critical); raw 9.5 °C is 7.5 °C: critical."""
    settings = settings_for(tmp_path, mosquitto.port, None, in_server=True)
    site_gen = build_site(settings)
    site = next(site_gen)
    probe = Probe(mosquitto.port)
    try:
        worker = site.app.state.alert_worker
        wait_for(worker.mqtt.subscribed.is_set)
        now = datetime.now(UTC)
        calibration = {
            "channel": "air",
            "offset": -2.0,
            "calibrated_at": (now - timedelta(days=1)).isoformat(),
            "reference_instrument": "Testo 104 n° 7",
            "performed_by": "Labo",
        }
        url = f"/api/v1/probes/{site.ids['probe_VA']}/calibrations"
        site.world["admin_a"].ok("POST", url, calibration, 201)
        time.sleep(2 * site.settings.alerting.refresh_s)  # the worker reads it again
        probe.send(readings(now - timedelta(minutes=40), [7.9] * 20))
        time.sleep(1.0)
        assert site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["count"] == 0
        # 20 minutes at raw 9.5 °C = 7.5 °C calibrated: beyond the label's 6 °C for 15 min.
        probe.send(readings(now - timedelta(minutes=20), [9.5] * 20, seq0=21))
        listed = wait_for(lambda: site.world["hygiene_a"].ok("GET", "/api/v1/alerts")["data"])
        assert listed[0]["peak"] == 7.5
    finally:
        probe.close()
        site_gen.close()
