"""The driver's pages with no signal (server/pages/static/sw.js, offline.js; server/core/
idempotency.py), in a real Chromium whose network is switched off and back on through
DevTools (CDP Network.emulateNetworkConditions), as a driver on a rural round loses it.

The world of `served` without its seeding: delivery DA (planned, van VA) still to check at
departure, and today's delivery DT on the road with its drop stop still to hand over."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import websocket
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import func, select

from server.core.models import DepartureCheck, Handover
from server.core.models.alerts import Alert
from server.core.models.idempotency import FormSubmission
from tests.harness import browser as chromium
from tests.pages.conftest import FormBrowser, Pages, served
from tests.server.world import PASSWORD, iso
from tests.support.alerts import raise_alert


@pytest.fixture(scope="module")
def offline(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> Iterator[Pages]:
    with served(tmp_path_factory, shared_chromium, seed=False) as pages:
        yield pages


class Signal:
    """The phone's signal, switched as DevTools' « Offline » does: the network conditions of
    the page and of the service worker (a worker's own fetches follow its own DevTools
    session: DevTools' frontend attaches to both). The worker's session is opened on the
    browser's DevTools endpoint (loopback) and kept open: closing it ends the emulation."""

    def __init__(self, browser: webdriver.Chrome) -> None:
        self.browser = browser
        address = browser.capabilities["goog:chromeOptions"]["debuggerAddress"]
        targets = httpx.get(f"http://{address}/json/list").json()
        [worker] = [t for t in targets if t["type"] == "service_worker"]
        self.worker = websocket.create_connection(
            worker["webSocketDebuggerUrl"], timeout=5, suppress_origin=True
        )
        self.sent = 0

    def switch(self, online: bool) -> None:
        conditions = {
            "offline": not online,
            "latency": 0,
            "downloadThroughput": -1,
            "uploadThroughput": -1,
        }
        for method, params in (
            ("Network.enable", {}),
            ("Network.emulateNetworkConditions", conditions),
        ):
            self.browser.execute_cdp_cmd(method, params)
            self.sent += 1
            self.worker.send(json.dumps({"id": self.sent, "method": method, "params": params}))
            while (answer := json.loads(self.worker.recv())).get("id") != self.sent:
                continue  # an event of the worker's session
            assert "error" not in answer, answer

    def __enter__(self) -> Signal:
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.switch(online=True)
        finally:
            self.worker.close()


def box(pages: Pages) -> str:
    return str(pages.browser.find_element(By.ID, "offline").text)


def count(pages: Pages, model: type, **where: int) -> int:
    with pages.site.app.state.sessionmaker() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(session.scalar(query) or 0)


def kept_offline(pages: Pages, path: str) -> Signal:
    """Open `path` once the service worker controls the page, so that it keeps a copy; the
    signal switch of the page and its worker."""
    pages.open(path)
    ready = "arguments[0]; navigator.serviceWorker.ready.then(() => arguments[1](true));"
    pages.browser.execute_async_script(ready, None)
    pages.open(path)  # through the worker now (the page that registered it was not)
    pages.wait_for(
        lambda: pages.browser.execute_script("return !!navigator.serviceWorker.controller")
    )
    script = (
        "const done = arguments[arguments.length - 1];"
        "caches.open('coldchain-pages-v1').then(c => c.match(location.href)).then(r => done(!!r));"
    )
    pages.wait_for(lambda: pages.browser.execute_async_script(script))
    return Signal(pages.browser)


def test_a_departure_checked_with_no_signal_is_sent_once_when_it_returns(
    offline: Pages,
) -> None:
    pages, ids = offline, offline.site.ids
    page = f"/deliveries/{ids['DA']}"
    pages.login("driver_a")
    with kept_offline(pages, page) as signal:
        signal.switch(online=False)
        pages.browser.refresh()  # the phone's copy, with its age
        pages.wait_for(lambda: "Hors ligne : dernière mise à jour il y a 0 min." in box(pages))
        assert pages.browser.find_element(By.ID, "departure-form").is_displayed()
        pages.browser.find_element(By.ID, f"temperature_{ids['VA_frais']}").send_keys("3,5")
        pages.browser.find_element(By.ID, "depart").click()
        pages.wait_for(lambda: "1 en attente d'envoi" in box(pages))
        assert "Contrôle au départ" in box(pages)
        pages.browser.execute_script("window.scrollTo(0, 0)")
        pages.shot("offline-waiting")
        assert count(pages, DepartureCheck, delivery_id=ids["DA"]) == 0

        signal.switch(online=True)  # the `online` event: sent, then the page as it is now
        pages.wait_for(lambda: count(pages, DepartureCheck, delivery_id=ids["DA"]) == 1)
        pages.wait_for(lambda: not pages.browser.find_elements(By.ID, "departure-form"))
        assert "en attente d'envoi" not in box(pages)

        # The same key sent again (a retry whose first answer was lost) records nothing.
        with pages.site.app.state.sessionmaker() as session:
            [key] = session.scalars(select(FormSubmission.key)).all()
        driver = FormBrowser(pages.site.app, "driver_a")
        again = driver.post(
            f"{page}/departure", {f"temperature_{ids['VA_frais']}": "3,5", "idempotency_key": key}
        )
        assert (again.status_code, again.headers["location"]) == (303, page)
        assert again.headers["X-Replayed"] == "1"
        assert count(pages, DepartureCheck, delivery_id=ids["DA"]) == 1
        nonsense = driver.post(f"{page}/departure", {"idempotency_key": "x';--"})
        assert nonsense.status_code == 400
        assert "clé d'envoi invalide" in nonsense.text.replace("&#39;", "'")
        driver.client.close()


def test_a_handover_someone_else_recorded_meanwhile_is_shown_not_lost(offline: Pages) -> None:
    pages, ids, site = offline, offline.site.ids, offline.site
    page = f"/deliveries/{site.delivery_id}"
    pages.login("driver_a")
    with kept_offline(pages, page) as signal:
        signal.switch(online=False)
        pages.browser.refresh()
        pages.wait_for(lambda: "Hors ligne" in box(pages))
        pages.browser.find_element(By.ID, f"accept-{ids['LT']}").click()
        pages.browser.find_element(By.ID, "hand-over").click()
        pages.wait_for(lambda: "1 en attente d'envoi" in box(pages))

        # Meanwhile the cooperative's office records the handover at that stop.
        handover = {
            "at": iso(datetime.now(UTC)),
            "decisions": [{"load_id": ids["LT"], "accepted": True}],
        }
        url = f"/api/v1/deliveries/{site.delivery_id}/stops/{ids['A_drop']}/handover"
        site.world["admin_a"].ok("POST", url, handover, 201)

        signal.switch(online=True)
        refused = "Non enregistré : Remise à l'arrêt — ⚠"
        pages.wait_for(lambda: refused in box(pages))
        pages.browser.execute_script("window.scrollTo(0, 0)")
        pages.shot("offline-refused")
        assert count(pages, Handover, stop_id=ids["A_drop"]) == 1
        assert "en attente d'envoi" not in box(pages)
        pages.browser.refresh()  # kept on the phone until the driver has seen it
        pages.wait_for(lambda: refused in box(pages))
        pages.browser.find_element(By.CSS_SELECTOR, "#offline-list button").click()
        pages.wait_for(lambda: refused not in box(pages))


def test_an_acknowledgement_queued_offline_after_someone_else_acknowledged_is_shown(
    offline: Pages,
) -> None:
    pages, site = offline, offline.site
    # 12 °C for 5 minutes in zone « frais » of today's van: a critical excursion, open.
    alert_id = raise_alert(site, [12.0] * 5 + [2.0] * 12, 20)
    pages.login("driver_a")
    with kept_offline(pages, f"/alerts/{alert_id}") as signal:
        signal.switch(online=False)
        pages.browser.refresh()
        pages.wait_for(lambda: "Hors ligne" in box(pages))
        pages.browser.find_element(By.NAME, "note").send_keys("Je m'arrête et je vérifie")
        pages.browser.find_element(By.ID, "acknowledge").click()
        pages.wait_for(lambda: "1 en attente d'envoi" in box(pages))
        assert "Accusé de réception de l'alerte" in box(pages)

        # Meanwhile the cooperative's admin takes it in hand.
        url = f"/api/v1/alerts/{alert_id}/acknowledge"
        site.world["admin_a"].ok("POST", url, {"note": "Je l'appelle"})

        signal.switch(online=True)
        refused = "Non enregistré : Accusé de réception de l'alerte — ⚠"
        pages.wait_for(lambda: refused in box(pages))
    with site.app.state.sessionmaker() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert alert.acknowledged_by_id == site.world.user_ids["admin_a"]


def test_signed_out_a_kept_page_leads_to_a_login_form_that_works(offline: Pages) -> None:
    """The service worker opens the driver's page itself (network first, sw.js). Signed out
    meanwhile, that page is the login page, reached through the worker's fetch: it is still a
    person's navigation (server/pages/web.py `fetched_by_script`), so the login form gets its
    pre-session cookie and signs in at the first try."""
    pages = offline
    pages.login("driver_a")
    with kept_offline(pages, "/driver"):
        pages.browser.delete_all_cookies()
        pages.open("/driver")
        pages.wait_for(lambda: pages.browser.current_url.endswith("/login"))
        names = {cookie["name"] for cookie in pages.browser.get_cookies()}
        assert "coldchain_csrf" in names, names
        pages.browser.find_element(By.ID, "email").send_keys("driver_a@example.be")
        pages.browser.find_element(By.ID, "password").send_keys(PASSWORD)
        pages.browser.find_element(By.ID, "login").click()
        pages.wait_for(lambda: pages.browser.current_url.endswith("/driver"), timeout=30)
