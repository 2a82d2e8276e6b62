"""The calibration register's rule and its maintenance alert, on SQLite and PostgreSQL:
pass/fail at ±1 °C (EN 12830), hostile calibration bodies refused, an overdue verification
opens exactly one `calibration_overdue` alert seen by the place's owner only, re-checking
adds nothing, a new calibration resolves it, and the register export shows the new fields.

Most tests call the check as the worker's timer does (`check_calibrations`), without the
broker; the last one runs the real worker (real Mosquitto) with a short timer."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from coldchain import clock
from server.alerting.maintenance import KIND, check_calibrations
from server.alerting.worker import AlertWorker
from server.core.calibration import ACCEPTANCE_LIMIT_C, Result, verdict
from server.core.models import Calibration, Probe, utcnow
from server.core.models.alerts import Alert, Notification
from server.records import haccp_plan, registers
from tests.alerting.support import Inbox, Site, build_site, settings_for, wait_for
from tests.harness.servers import Mosquitto, free_port
from tests.server.world import iso


@pytest.fixture
def offline_site(tmp_path: Path, smtp: tuple[int, Inbox], database_url: str) -> Iterator[Site]:
    settings = settings_for(tmp_path, free_port(), smtp[0], database_url)
    yield from build_site(settings)


def count_open(site: Site) -> int:
    with site.app.state.sessionmaker() as session:
        query = select(func.count()).where(Alert.kind == KIND, Alert.engine_status == "open")
        return int(session.scalar(query) or 0)


def calibrate(site: Site, probe: str, next_due_days: int, **extra: Any) -> Any:
    today = datetime.now(UTC).astimezone(clock.zone()).date()
    body = {
        "channel": "air",
        "offset": -0.2,
        "calibrated_at": iso(datetime.now(UTC) - timedelta(days=400)),
        "reference_instrument": "Testo 110 n° 4711",
        "performed_by": "Marie Lambert",
        "next_due": (today + timedelta(days=next_due_days)).isoformat(),
        **extra,
    }
    owner = "producer1" if probe == "probe_CR1" else "admin_a"
    url = f"/api/v1/probes/{site.ids[probe]}/calibrations"
    return site.world[owner].ok("POST", url, body, 201)


def check(site: Site) -> list[Alert]:
    with site.app.state.sessionmaker() as session:
        touched = check_calibrations(session, site.settings.alerting, utcnow())
        session.commit()
        return touched


def titles(site: Site, user: str) -> list[str]:
    page = site.world[user].ok("GET", "/api/v1/alerts", params={"kind": KIND})
    return sorted(a["text_fr"] for a in page["data"])


def test_the_rule_is_plus_or_minus_one_degree() -> None:
    assert ACCEPTANCE_LIMIT_C == 1.0
    assert verdict(4.0, 4.0) == Result.PASS
    assert verdict(4.0, 5.0) == Result.PASS  # the limit itself passes
    assert verdict(4.0, 3.0) == Result.PASS
    assert verdict(4.0, 5.01) == Result.FAIL
    assert verdict(-18.0, -19.5) == Result.FAIL
    assert verdict(0.1, -0.9) == Result.PASS  # binary 0.99999… still on the limit


def test_hostile_calibration_bodies_are_refused(offline_site: Site) -> None:
    site = offline_site
    admin = site.world["admin_a"]
    url = f"/api/v1/probes/{site.ids['probe_VA']}/calibrations"
    good = calibrate(site, "probe_VA", 365, reference_reading_c=4.0, probe_reading_c=4.6)
    assert good["result"] == "pass"  # derived from the readings when not given
    base = {k: good[k] for k in ("channel", "offset", "reference_instrument", "performed_by")}
    base["calibrated_at"] = good["calibrated_at"]
    hostile: list[dict[str, Any]] = [
        {"reference_reading_c": "NaN", "probe_reading_c": 4.0},
        {"reference_reading_c": 4.0, "probe_reading_c": "Infinity"},
        {"reference_reading_c": 1e308, "probe_reading_c": 1e308},
        {"reference_reading_c": 4.0, "probe_reading_c": 86.0},
        {"reference_reading_c": 4.0, "probe_reading_c": 6.0, "result": "pass"},
        {"reference_reading_c": 4.0, "probe_reading_c": 4.5, "result": "fail"},
        {"reference_reading_c": 4.0},  # one reading alone proves nothing
        {"reference_reading_c": 4.0, "probe_reading_c": 4.1, "result": "maybe"},
        {"reference_certificate": "x" * 10_000},
        {"channel": "door"},  # a door switch has no offset (coldchain.protocol.CALIBRATED_CHANNELS)
        {"channel": "battery"},
        {"channel": "pressure"},
    ]
    for extra in hostile:
        response = admin.post(url, {**base, **extra})
        assert response.status_code == 422, (extra, response.text)
        assert response.json()["error"]
    contradicting = admin.post(
        url, {**base, "reference_reading_c": 4.0, "probe_reading_c": 6.0, "result": "pass"}
    )
    assert "EN 12830" in contradicting.text and "contraire" in contradicting.text
    # A raw NaN literal (not valid JSON, but Python's json writes it).
    raw = site.client.post(
        url,
        content=b'{"channel":"air","offset":NaN,"calibrated_at":"2026-01-01T00:00:00Z",'
        b'"reference_instrument":"T","performed_by":"M"}',
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert 400 <= raw.status_code < 500
    failed = calibrate(
        site, "probe_VA", 365, reference_reading_c=-18.0, probe_reading_c=-16.5, result="fail"
    )
    assert failed["result"] == "fail"
    listed = admin.ok("GET", url)["data"]
    assert len(listed) == 2  # nothing hostile was stored


def test_overdue_verification_opens_one_alert_for_the_owner_only(offline_site: Site) -> None:
    site = offline_site
    calibrate(site, "probe_VA", -3, reference_reading_c=4.0, probe_reading_c=4.2)
    calibrate(site, "probe_CR1", 200)  # up to date: no alert for it
    due = (clock.today(datetime.now(UTC)) - timedelta(days=3)).strftime("%d/%m/%Y")
    opened = check(site)
    assert len(opened) == 1
    expected = f"Sonde van-a-1 (air) : vérification d'étalonnage en retard depuis le {due}"
    # Van VA belongs to coop A and is lent to coop B (pool): maintenance is the owner's.
    assert titles(site, "admin_a") == titles(site, "hygiene_a") == [expected]
    for other in ("admin_b", "hygiene_b", "driver_b", "producer3"):
        assert titles(site, other) == []
    assert check(site) == []  # re-running opens nothing more
    assert check(site) == []
    with site.app.state.sessionmaker() as session:
        alert = session.scalars(select(Alert).where(Alert.kind == KIND)).one()
        assert (alert.severity, alert.engine_status, alert.channel) == ("warning", "open", "air")
        assert alert.van_id == site.ids["VA"] and alert.delivery_id is None
        sent = list(session.scalars(select(Notification).where(Notification.alert_id == alert.id)))
        channels = [n.channel for n in sent]
        assert "email" in channels and "probe_alarm" not in channels  # no in-van buzzer
        mail = next(n for n in sent if n.channel == "email")
        assert expected in str(mail.payload) and "faire vérifier la sonde" in str(mail.payload)
        alert_id = alert.id
    url = f"/api/v1/alerts/{alert_id}"
    hygiene = site.world["hygiene_a"]
    hygiene.ok("POST", f"{url}/acknowledge", {})
    refused = hygiene.post(f"{url}/close", {"review_note": "Vu"})
    assert refused.status_code == 409  # still overdue: nothing to close yet
    # The new verification resolves it at once; the officer then closes it after review.
    calibrate(site, "probe_VA", 365, reference_reading_c=4.0, probe_reading_c=4.3)
    assert hygiene.ok("GET", url)["engine_status"] == "closed"
    closed = hygiene.ok("POST", f"{url}/close", {"review_note": "Sonde vérifiée le jour même"})
    assert closed["state"] == "closed"  # a warning needs no corrective action
    assert check(site) == []


def test_a_probe_never_calibrated_is_overdue(offline_site: Site) -> None:
    site = offline_site
    calibrate(site, "probe_VA", 30)
    opened = check(site)
    assert [(a.probe_id, a.channel) for a in opened] == [("cr1", "*")]
    expected = ["Sonde cr1 : aucun étalonnage enregistré, vérification à faire (EN 13486)"]
    assert titles(site, "producer1") == expected  # the cold room's owner
    assert titles(site, "admin_b") == [] and titles(site, "producer3") == []
    assert check(site) == []
    calibrate(site, "probe_CR1", 30)
    assert count_open(site) == 0


def test_the_register_shows_the_new_fields(offline_site: Site) -> None:
    site = offline_site
    calibrate(
        site,
        "probe_VA",
        -1,
        reference_reading_c=-18.0,
        probe_reading_c=-16.4,
        reference_certificate="BELAC 2-123 n° 2026-0815",
    )
    with site.app.state.sessionmaker() as session:
        pairs = session.execute(
            select(Calibration, Probe).join(Probe, Probe.id == Calibration.probe_id)
        ).all()
        rows = registers.calibration_rows([(c, p) for c, p in pairs], clock.today())
    assert len(rows) == 1
    text = registers.calibration_csv(rows).decode("utf-8-sig")
    header, fields = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert header[4:9] == [
        "certificat_reference",
        "releve_reference_c",
        "releve_sonde_c",
        "ecart_applique_c",
        "resultat",
    ]
    assert fields[4:9] == ["BELAC 2-123 n° 2026-0815", "-18,00", "-16,40", "-0,20", "non conforme"]
    assert fields[-1].startswith("EN RETARD") and "remplacée" in fields[-1]
    assert registers.overdue(rows) == rows
    pdf = io.BytesIO()
    haccp_plan.render(haccp_plan.Plan("novembre 2026", rows), pdf)
    assert pdf.getvalue().startswith(b"%PDF")


@pytest.fixture
def live_site(tmp_path: Path, mosquitto: Mosquitto, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    settings = settings_for(tmp_path, mosquitto.port, smtp[0], calibration_check_s=0.3)
    yield from build_site(settings)


def test_the_worker_timer_runs_the_check(live_site: Site) -> None:
    site = live_site
    worker = AlertWorker(site.settings)
    worker.start()
    try:
        # Neither probe of the world has a calibration: one alert each.
        wait_for(lambda: count_open(site) == 2)
        time.sleep(1.5)  # several more checks run meanwhile
        assert count_open(site) == 2  # nothing doubled
        calibrate(site, "probe_VA", 30)
        assert count_open(site) == 1
    finally:
        worker.stop()
