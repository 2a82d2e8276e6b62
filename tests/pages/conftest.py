"""The pages' world: the real app (server/app.py) on SQLite with the server tests' two
cooperatives and today's delivery on the road (tests/alerting/support.py), readings in
the real reading store, served by uvicorn on a free port, and one headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select

from coldchain.protocol import Reading
from server.core.models import Stop
from server.domain.place_readings import to_ms
from tests.alerting.support import HttpServer, Site, build_site, settings_for
from tests.harness import browser as chromium
from tests.harness.app import fresh_database
from tests.harness.servers import free_port
from tests.server.world import D1, PASSWORD, brussels, drive_delivery_a


@dataclass
class Pages:
    site: Site
    url: str
    browser: webdriver.Chrome
    shots: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def open(self, path: str) -> None:
        self.browser.get(self.url + path)

    def text(self) -> str:
        return str(self.browser.find_element(By.TAG_NAME, "body").text)

    def login(self, user: str) -> None:
        self.browser.delete_all_cookies()
        self.open("/login")
        self.browser.find_element(By.ID, "email").send_keys(f"{user}@example.be")
        self.browser.find_element(By.ID, "password").send_keys(PASSWORD)
        self.browser.find_element(By.ID, "login").click()
        try:
            # 30 s: the login's password hash beside the other worker's suite (a 10 s wait
            # once ran out in CI, the page's own words unknown).
            self.wait_for(lambda: "/login" not in self.browser.current_url, timeout=30)
        except TimeoutException:
            raise AssertionError(f"{user} still on the login page:\n{self.text()[:1500]}") from None

    def wait_for(self, condition: object, timeout: float = 10) -> None:
        WebDriverWait(self.browser, timeout).until(lambda _b: condition())  # type: ignore[operator]

    def click_and_wait(self, element_id: str, seen: str, where: str = "body") -> None:
        """Click a submit button, then wait for the next page to show `seen` in `where`."""
        old_page = self.browser.find_element(By.TAG_NAME, "html")
        self.browser.find_element(By.ID, element_id).click()

        def left() -> bool:
            try:
                old_page.is_enabled()
                return False
            except StaleElementReferenceException:
                return True
            except WebDriverException as exc:
                # ChromeDriver, asked mid-navigation, may answer "unhandled inspector error:
                # Node with given id does not belong to the document": the old page is gone.
                if "does not belong to the document" in str(exc):
                    return True
                raise

        self.wait_for(left)

        def shown() -> bool:
            try:
                return seen in self.browser.find_element(By.CSS_SELECTOR, where).text
            except (NoSuchElementException, StaleElementReferenceException):
                return False  # the next page is still loading

        self.wait_for(shown)

    def shot(self, name: str, whole: bool = False) -> Path:
        """A screenshot of the window, or of the `whole` page (as tall as its content)."""
        path = self.shots / f"{name}.png"
        size = self.browser.get_window_size()
        if whole:  # the window as tall as the page, the same width: the layout is the phone's
            tall = self.browser.execute_script("return document.documentElement.scrollHeight")
            self.browser.set_window_size(size["width"], int(tall) + 100)
        try:
            self.browser.save_screenshot(str(path))
        finally:
            if whole:
                self.browser.set_window_size(size["width"], size["height"])
        print(f"screenshot: {path}")
        return path


CSRF_FIELD = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')


FORBIDDEN = "Cette page n'est pas pour votre rôle."


class FormBrowser:
    """One user's cookie jar, signed in through the login form, posting the page's forms
    with its anti-CSRF token, as a browser does."""

    def __init__(self, app: FastAPI, user: str) -> None:
        self.client = TestClient(app)
        assert page_login(self.client, user).status_code == 303
        self.token = csrf_of(self.client.get("/admin").text)

    def get(self, path: str, follow_redirects: bool = True) -> Any:
        return self.client.get(path, follow_redirects=follow_redirects)

    def post(self, path: str, data: dict[str, str] | None = None) -> Any:
        sent = {**(data or {}), "csrf": self.token}
        return self.client.post(path, data=sent, follow_redirects=False)


def form_browsers(app: FastAPI, *users: str) -> Iterator[dict[str, FormBrowser]]:
    """For a fixture (`yield from`): a FormBrowser per user, signed in; closed after."""
    browsers = {user: FormBrowser(app, user) for user in users}
    yield browsers
    for browser in browsers.values():
        browser.client.close()


def signed_in(app: FastAPI, *users: str) -> Iterator[dict[str, TestClient]]:
    """For a fixture (`yield from`): one cookie jar per user, signed in through the pages'
    login form; closed after."""
    clients: dict[str, TestClient] = {}
    for user in users:
        client = TestClient(app)
        assert page_login(client, user).status_code == 303
        clients[user] = client
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite for every page test: the API routes the pages call, and the queries behind
    them, run on PostgreSQL too in tests/server, tests/alerting and tests/records."""
    yield from fresh_database(request, tmp_path, "sqlite")


def csrf_of(html: str) -> str:
    """The anti-CSRF token of a page's forms (server/pages/web.py)."""
    found = CSRF_FIELD.search(html)
    assert found is not None, "no csrf field in the page"
    return found.group(1)


def page_login(client: httpx.Client, user: str, password: str = PASSWORD) -> httpx.Response:
    """Sign in through the pages' login form as a browser does: show it, post it."""
    token = csrf_of(client.get("/login").text)
    form = {"email": f"{user}@example.be", "password": password, "csrf": token}
    return client.post("/login", data=form, follow_redirects=False)


def seed_readings(site: Site) -> None:
    """The van's probe: 4.2 °C in the last minutes; the producer's room: a week, hourly."""
    now = datetime.now(UTC)
    store = site.app.state.reading_store
    van = [
        Reading(
            "van-a-1", "air", int((now - timedelta(minutes=m)).timestamp() * 1000), 9000 - m, 4.2
        )
        for m in range(10, 0, -1)
    ]
    room = [
        Reading(
            "cr1",
            "air",
            int((now - timedelta(hours=h)).timestamp() * 1000),
            900 - h,
            2.5 + (h % 6) * 0.4,
        )
        for h in range(7 * 24, 0, -1)
    ]
    recent = Reading("cr1", "air", int((now - timedelta(minutes=2)).timestamp() * 1000), 1000, 3.1)
    store.write([*van, *room, recent])


def close_and_seal_march_delivery(site: Site) -> None:
    """Delivery DA (tests/server/world.py) driven and closed through the API as
    `run_delivery_a` does (its stop ids are looked up: build_site reused the names),
    then sealed by the hygiene officer (server/records/)."""
    ids, driver = site.ids, site.world["driver_a"]
    with site.app.state.sessionmaker() as session:
        stops = session.scalars(
            select(Stop.id).where(Stop.delivery_id == ids["DA"]).order_by(Stop.sequence)
        ).all()
    # Its van readings (a delivery with none at all makes the records PDF fail: see report).
    site.app.state.reading_store.write(
        Reading("van-a-1", "air", to_ms(brussels(D1, 6, 45) + timedelta(minutes=m)), 20000 + m, 3.5)
        for m in range(0, 230, 5)
    )
    pickup, drop = stops
    drive_delivery_a(driver, ids, (pickup, drop))
    seal = f"/api/v1/records/deliveries/{ids['DA']}/seal"
    sealed = site.world["hygiene_a"].post(seal)  # 200 if closing sealed it already
    assert sealed.status_code in (200, 201), sealed.text


@pytest.fixture(scope="session")
def shared_chromium() -> Iterator[chromium.SharedChromium]:
    """One headless Chromium for the session: each module's `pages` gets it as a new profile
    would be (tests/harness/browser.py `SharedChromium`)."""
    # Not a skip: a missing browser must not pass silently in CI.
    assert chromium.available(), "run scripts/install-system-packages (chromium, chromium-driver)"
    shared = chromium.SharedChromium()
    try:
        yield shared
    finally:
        shared.close()


@contextmanager
def served(
    tmp_path_factory: pytest.TempPathFactory,
    shared: chromium.SharedChromium,
    seed: bool = True,
    **site: Any,
) -> Iterator[Pages]:
    """The world of `build_site(settings, **site)` served over HTTP to the shared browser;
    with `seed`, the readings and the sealed March delivery of `pages`."""
    tmp = tmp_path_factory.mktemp("pages")
    shots = tmp / "screenshots"
    shots.mkdir()
    settings = settings_for(tmp, free_port(), None)
    sites = build_site(settings, **site)
    found = next(sites)
    if seed:
        seed_readings(found)
        close_and_seal_march_delivery(found)
    server = HttpServer(found.app)
    clients: list[httpx.Client] = []
    try:
        browser = shared.clean()
        yield Pages(found, server.url, browser, shots, clients)
    finally:
        try:
            shared.release([server.url])
        finally:
            for client in clients:
                client.close()
            server.stop()
            sites.close()


@pytest.fixture(scope="module")
def pages(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> Iterator[Pages]:
    with served(tmp_path_factory, shared_chromium) as opened:
        yield opened
