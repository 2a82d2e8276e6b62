"""The « Alertes en cours » list follows the alert stream without a reload (static/live.js
asks the server for the page's live parts, server/pages/live_pages.py): a new alert's row
appears, its severity rises on escalation, it says when the excursion is over, its state
changes when it is acknowledged and acted on, and once closed it leaves the list. Real
Chromium, real rules engine and recording (as tests/support/alerts.py's `raise_alert`),
lifecycle through the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from sqlalchemy import select

from alerts.engine import Engine
from server.alerting.event_writer import record_events
from server.alerting.places import Places
from server.core.models import utcnow
from server.core.models.alerts import Alert
from tests.alerting.support import Site, readings
from tests.pages.conftest import Pages
from tests.server.world import BRUSSELS


class Judge:
    """One rules engine kept across batches, so a later batch can escalate an alert."""

    def __init__(self, site: Site) -> None:
        self.site = site
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        with site.app.state.sessionmaker() as session:
            self.places = Places.load(session, "ambient", now_ms)
        self.engine = Engine()
        for key, config in self.places.configs.items():
            self.engine.configure(config, now_ms, self.places.lots.get(key, []))

    def feed(self, start: datetime, values: list[float], seq0: int) -> int:
        placed = [p for p in map(self.places.place, readings(start, values, seq0)) if p]
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        result = self.engine.ingest(placed[0].location_key, [p.reading for p in placed], now_ms)
        assert not result.errors and result.events
        with self.site.app.state.sessionmaker() as session:
            record_events(session, result.events, self.site.settings.alerting, utcnow())
            session.commit()
            return int(session.scalar(select(Alert.id).order_by(Alert.id.desc())) or 0)


def row_text(pages: Pages, alert_id: int) -> str:
    try:
        row: WebElement = pages.browser.find_element(
            By.CSS_SELECTOR, f'.alert-list li[data-alert-id="{alert_id}"]'
        )
        return str(row.text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""


def test_the_list_follows_the_alert_without_reload(pages: Pages) -> None:
    site = pages.site
    pages.login("driver_a")
    pages.open("/driver")
    empty = pages.browser.find_element(By.CSS_SELECTOR, ".alert-list .no-alert")
    assert empty.is_displayed() and "Aucune alerte." in empty.text
    pages.browser.execute_script("window.notReloaded = true")
    judge = Judge(site)

    # 8 °C over a 7 °C limit for 12 minutes: a warning, still going on (the lot on board
    # since 30 minutes sets the limit: tests/alerting/support.py `build_site`).
    start = datetime.now(UTC) - timedelta(minutes=28)
    alert_id = judge.feed(start, [8.0] * 12, 1)
    pages.wait_for(lambda: "avertissement" in row_text(pages, alert_id))
    text = row_text(pages, alert_id)
    shown_start = start.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M")
    assert "▲ avertissement" in text and "État : ouverte" in text and "Pic 8,0 °C" in text
    assert f"Début {shown_start}" in text and "Voir et agir" in text
    assert "● Excursion en cours" in text  # still going on: in words
    no_alert = pages.browser.find_element(By.CSS_SELECTOR, ".alert-list .no-alert")
    assert not no_alert.is_displayed()  # « Aucune alerte. » gone with the first row
    link = pages.browser.find_element(By.CSS_SELECTOR, f'li[data-alert-id="{alert_id}"] a')
    assert str(link.get_attribute("href")).endswith(f"/alerts/{alert_id}")

    # Four more minutes beyond the limit: 15 minutes, critical (the engine's escalation).
    assert judge.feed(start + timedelta(minutes=12), [8.5] * 4, 13) == alert_id
    pages.wait_for(lambda: "critique" in row_text(pages, alert_id))
    row = pages.browser.find_element(By.CSS_SELECTOR, f'li[data-alert-id="{alert_id}"]')
    assert "✖ critique" in row.text and "Pic 8,5 °C" in row.text  # icon and word, not colour
    assert "sev-critical" in str(row.get_attribute("class"))
    assert len(pages.browser.find_elements(By.CSS_SELECTOR, ".alert-list li")) == 1
    pages.shot("live-list-escalated")

    driver, officer = site.world["driver_a"], site.world["hygiene_a"]
    url = f"/api/v1/alerts/{alert_id}"
    driver.ok("POST", f"{url}/acknowledge", {"note": "je m'arrête"})
    pages.wait_for(lambda: "État : prise en charge" in row_text(pages, alert_id))
    action = {
        "immediate_action": "Groupe froid redémarré",
        "action_at": datetime.now(UTC).isoformat(),
        "product_assessment": "Contrôle sensoriel conforme",
        "lot_decisions": [
            {"load_id": site.load_id, "decision": "shorten_shelf_life", "justification": "8,5 °C"}
        ],
        "root_cause": "Porte mal fermée",
        "preventive_action": "Contrôle de la porte à chaque arrêt",
        "afsca_notified": False,
        "afsca_reason": "Pas de risque",
    }
    driver.ok("POST", f"{url}/corrective-action", action, 201)
    pages.wait_for(lambda: "État : action enregistrée" in row_text(pages, alert_id))
    judge.feed(start + timedelta(minutes=16), [3.0] * 12, 17)  # back under the limit: over
    pages.wait_for(lambda: "✓ Excursion terminée le" in row_text(pages, alert_id))
    officer.ok("POST", f"{url}/close", {"review_note": "Revu"})
    # Reviewed and closed: no longer « en cours », it leaves the list as a reload would show.
    pages.wait_for(lambda: row_text(pages, alert_id) == "")
    assert "Aucune alerte." in pages.browser.find_element(By.CSS_SELECTOR, ".alert-list").text
    assert pages.browser.execute_script("return window.notReloaded") is True
    pages.shot("live-list-closed")
