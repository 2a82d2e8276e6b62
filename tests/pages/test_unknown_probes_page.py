"""« Sondes inconnues » on the admin page, end to end: a probe nobody registered publishes
through a real Mosquitto, the alert worker running in the server process notes it, and the
admin, in a real Chromium, sees it listed with its count and Brussels times, presses
« Enregistrer cette sonde », finds its id filled in the registration form, registers it, and
it leaves the list."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.protocol import Reading
from server.core.models import Probe as ProbeRow
from server.core.models import UnknownProbe
from server.pages import i18n
from tests.alerting.support import HttpServer, Probe, build_site, settings_for, wait_for
from tests.harness import browser as chromium
from tests.harness.servers import Mosquitto
from tests.pages.conftest import Pages

STRANGER = "inconnue-9"


@pytest.fixture
def live(
    tmp_path: Path, mosquitto: Mosquitto, shared_chromium: chromium.SharedChromium
) -> Iterator[Pages]:
    """The world served over HTTP with the alert worker in the server (`in_server`)."""
    settings = settings_for(tmp_path, mosquitto.port, None, in_server=True)
    sites = build_site(settings)
    site = next(sites)
    server = HttpServer(site.app)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        yield Pages(site, server.url, shared_chromium.clean(), shots)
    finally:
        try:
            shared_chromium.release([server.url])
        finally:
            server.stop()
            sites.close()


def noted(pages: Pages) -> UnknownProbe | None:
    session: Session
    with pages.site.app.state.sessionmaker() as session:
        return session.scalar(select(UnknownProbe).where(UnknownProbe.probe_id == STRANGER))


def test_the_admin_registers_an_unknown_probe_from_the_list(
    live: Pages, mosquitto: Mosquitto
) -> None:
    wait_for(live.site.app.state.alert_worker.mqtt.subscribed.is_set)
    probe = Probe(mosquitto.port, STRANGER)
    try:
        start = datetime.now(UTC) - timedelta(minutes=5)
        probe.send(
            [
                Reading(
                    STRANGER, "air", int((start + timedelta(minutes=i)).timestamp() * 1000), i, 4.0
                )
                for i in range(4)
            ]
        )
        heard = wait_for(lambda: noted(live))
    finally:
        probe.close()
    assert heard.readings == 4

    live.login("admin_a")
    live.open("/admin")
    row = live.browser.find_element(By.CSS_SELECTOR, f'#unknown-probes tr[data-probe="{STRANGER}"]')
    assert row.find_element(By.CSS_SELECTOR, ".count").text == "4"
    assert i18n.local_time(heard.first_seen, "fr") in row.text  # Brussels time, French style
    assert "cc/v1/dev/inconnue-9/up/readings" in row.text
    assert "Sondes inconnues" in live.text()
    button = row.find_element(By.ID, f"register-{STRANGER}")
    assert button.text == "Enregistrer cette sonde"
    live.browser.execute_script("arguments[0].scrollIntoView()", row)
    live.shot("admin-unknown-probes")

    button.click()
    live.wait_for(lambda: "/admin/probes/new" in live.browser.current_url)
    typed = live.browser.find_element(By.ID, "new_probe-probe_id").get_attribute("value")
    assert typed == STRANGER
    live.click_and_wait("new_probe-submit", STRANGER, "h1")
    with live.site.app.state.sessionmaker() as session:
        assert session.scalar(select(ProbeRow).where(ProbeRow.probe_id == STRANGER)) is not None
    assert noted(live) is None

    live.open("/admin")
    listed = live.browser.find_element(By.ID, "unknown-probes").text
    assert STRANGER not in listed and "Aucune sonde inconnue." in listed
