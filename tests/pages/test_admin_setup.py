"""The installation superuser's /admin (server/pages/admin_organisations.py): the
organisations, the form that registers one (the API's service, the API's refusals), the
link that creates each one's first admin (the users' form), and the refusals to anyone
else. Over HTTP on the world of tests/server/world.py (its superuser is « root »), then in a
real Chromium from an empty database holding only the superuser, as `coldchain server
create-admin` leaves it."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from server.app import create_app
from server.core.models import Membership, Organisation, User
from server.domain.accounts import create_superuser
from tests.alerting.support import HttpServer, settings_for
from tests.harness import browser as chromium
from tests.harness.servers import free_port
from tests.pages.conftest import FORBIDDEN, FormBrowser, form_browsers, page_login
from tests.pages.test_admin_pages import field_error, rows, typed
from tests.server.world import PASSWORD, World


@pytest.fixture
def users(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids
    yield from form_browsers(app, "root", "admin_a", "driver_a")


def menu(page: str) -> list[str]:
    """The header's menu links (templates/base.html)."""
    nav = re.search(r"<nav>(.*?)</nav>", page, re.S)
    assert nav is not None
    return re.findall(r'<a href="(/[a-z]*)"', nav.group(1))


def test_superuser_gets_the_organisations(world: World, users: dict[str, FormBrowser]) -> None:
    root = users["root"]
    home = root.get("/", follow_redirects=False)
    assert home.headers["location"] == "/admin"
    page = root.get("/admin")
    text = html.unescape(page.text)
    assert page.status_code == 200 and FORBIDDEN not in text
    assert "/admin" in menu(page.text)  # « Administration » in the header
    for name in ("Coopérative de Liège", "Réseau Luxembourg", "Chèvrerie du Val"):
        assert name in text
    a_row = re.search(rf'<tr id="org-{world.ids["A"]}">(.*?)</tr>', text, re.S)
    assert a_row is not None and "Admin A" in a_row.group(1)  # its admin
    assert f"/admin/users/new?organisation_id={world.ids['A']}&amp;role=admin" in page.text
    assert f"/admin/users/new?organisation_id={world.ids['P1']}&amp;role=producer" in page.text
    assert 'id="new_organisation-form"' in page.text
    assert 'id="vans"' not in page.text and 'id="fleet-note"' in page.text
    assert "driver_a@example.be" in page.text  # everyone's roles
    root.client.cookies.set("coldchain_lang", "en")  # the same page in English
    english = root.get("/admin").text
    assert '<h2 id="organisations">Organisations</h2>' in english
    assert "New organisation" in english and "Create its admin" in english
    root.client.cookies.delete("coldchain_lang")
    people = root.get("/admin/users")  # the users' page: every organisation's people
    assert people.status_code == 200 and "producer3@example.be" in people.text


def test_superuser_creates_a_cooperative_and_its_admin(
    app: FastAPI, users: dict[str, FormBrowser]
) -> None:
    root = users["root"]
    sent = {"name": "Coopérative de Namur", "kind": "cooperative", "address": "Rue de Fer 1"}
    made = root.post("/admin/organisations", sent)
    assert made.status_code == 303, made.text
    namur = rows(app, select(Organisation).where(Organisation.name == "Coopérative de Namur"))[0]
    assert made.headers["location"] == f"/admin#org-{namur.id}"
    assert namur.kind == "cooperative" and namur.address == "Rue de Fer 1"

    again = root.post("/admin/organisations", {**sent, "address": "Ailleurs 2"})
    assert again.status_code == 409
    assert "nom d'organisation déjà utilisé" in field_error(again.text, "new_organisation", "name")
    assert typed(again.text, "new_organisation", "address") == "Ailleurs 2"
    empty = root.post("/admin/organisations", {"name": " ", "kind": "cooperative"})
    assert empty.status_code == 422
    assert field_error(empty.text, "new_organisation", "name") == "champ obligatoire"
    producer = root.post("/admin/organisations", {"name": "Ferme de Namur", "kind": "producer"})
    assert producer.status_code == 303

    form = root.get(f"/admin/users/new?organisation_id={namur.id}&role=admin").text
    assert f'<option value="{namur.id}" selected>Coopérative de Namur</option>' in form
    assert '<option value="admin" selected>' in form
    person = {
        "full_name": "Admin Namur",
        "email": "admin_namur@example.be",
        "password": PASSWORD,
        "organisation_id": str(namur.id),
        "role": "admin",
    }
    created = root.post("/admin/users", person)
    assert created.status_code == 303 and created.headers["location"] == "/admin#users"
    user = rows(app, select(User).where(User.email == "admin_namur@example.be"))[0]
    roles = rows(app, select(Membership.role).where(Membership.user_id == user.id))
    assert roles == ["admin"]
    listed = html.unescape(root.get("/admin").text)
    row = re.search(rf'<tr id="org-{namur.id}">(.*?)</tr>', listed, re.S)
    assert row is not None and "Admin Namur" in row.group(1)

    with TestClient(app) as newcomer:  # the new admin signs in: their admin page
        assert page_login(newcomer, "admin_namur").headers["location"] == "/"
        page = newcomer.get("/")
        assert page.status_code == 200 and str(page.url).endswith("/admin")
        assert 'id="vans"' in page.text and "organisation-list" not in page.text
        assert "/admin" in menu(page.text)


def test_only_the_superuser_creates_organisations(
    app: FastAPI, users: dict[str, FormBrowser]
) -> None:
    for who in ("admin_a", "driver_a"):
        browser = users[who]
        page = browser.get("/admin/organisations/new")
        assert page.status_code == 403 and FORBIDDEN in html.unescape(page.text), who
        sent = {"name": f"Organisation de {who}", "kind": "producer"}
        answer = browser.post("/admin/organisations", sent)
        assert answer.status_code == 403 and FORBIDDEN in html.unescape(answer.text), who
        assert not rows(app, select(Organisation).where(Organisation.name == sent["name"]))
    admin_page = users["admin_a"].get("/admin").text  # the cooperative's admin: unchanged
    assert 'id="vans"' in admin_page and "organisation-list" not in admin_page
    assert "Réseau Luxembourg" not in html.unescape(users["admin_a"].get("/admin/users/new").text)


def test_from_an_empty_database_to_a_cooperative_admin(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> None:
    """The installation's first hour in a browser: only the superuser exists; it creates
    the cooperative and its admin, who signs in and gets the admin page."""
    tmp = tmp_path_factory.mktemp("setup")
    shots = tmp / "screenshots"
    shots.mkdir()
    app = create_app(settings_for(tmp, free_port(), None))
    with TestClient(app):  # the lifespan: migrations, the app's state
        with app.state.sessionmaker() as session:
            create_superuser(
                session, app.state.password_hasher, "installer@example.be", "Installateur", PASSWORD
            )
        server = HttpServer(app)
        browser = shared_chromium.clean()
        try:

            def sign_in(email: str) -> None:
                browser.delete_all_cookies()
                browser.get(server.url + "/login")
                browser.find_element(By.ID, "email").send_keys(email)
                browser.find_element(By.ID, "password").send_keys(PASSWORD)
                browser.find_element(By.ID, "login").click()
                wait(lambda: "/login" not in browser.current_url)

            def wait(condition: Any) -> None:
                WebDriverWait(browser, 10).until(lambda _b: condition())

            def body() -> str:
                return str(browser.find_element(By.TAG_NAME, "body").text)

            sign_in("installer@example.be")
            assert browser.current_url.endswith("/admin")
            assert FORBIDDEN not in body() and "Organisations" in body()
            header = browser.find_element(By.TAG_NAME, "header").text
            assert "Administration" in header

            browser.find_element(By.ID, "new_organisation-name").send_keys("Coopérative du Condroz")
            Select(browser.find_element(By.ID, "new_organisation-kind")).select_by_value(
                "cooperative"
            )
            browser.find_element(By.ID, "new_organisation-address").send_keys("Place 1, Ciney")
            browser.find_element(By.ID, "new_organisation-submit").click()
            wait(lambda: "#org-" in browser.current_url)
            browser.save_screenshot(str(shots / "superuser-organisation-created.png"))
            org_id = browser.current_url.rsplit("#org-", 1)[1]
            assert "Coopérative du Condroz" in body()

            browser.find_element(By.ID, f"first-{org_id}").click()
            wait(lambda: "/admin/users/new" in browser.current_url)
            chosen = Select(browser.find_element(By.ID, "new_user-organisation_id"))
            assert chosen.first_selected_option.text == "Coopérative du Condroz"
            role = Select(browser.find_element(By.ID, "new_user-role"))
            assert role.first_selected_option.get_attribute("value") == "admin"
            browser.find_element(By.ID, "new_user-full_name").send_keys("Claire Condroz")
            browser.find_element(By.ID, "new_user-email").send_keys("claire@example.be")
            browser.find_element(By.ID, "new_user-password").send_keys(PASSWORD)
            browser.find_element(By.ID, "new_user-submit").click()
            wait(lambda: browser.current_url.endswith("/admin#users"))
            assert "Claire Condroz" in browser.find_element(By.ID, f"org-{org_id}").text
            browser.save_screenshot(str(shots / "superuser-first-admin-created.png"))

            sign_in("claire@example.be")
            assert browser.current_url.endswith("/admin")
            assert FORBIDDEN not in body()
            assert browser.find_element(By.ID, "add-van").is_displayed()
            assert not browser.find_elements(By.ID, "organisation-list")
            assert "Claire Condroz" in browser.find_element(By.ID, "users").text
            browser.save_screenshot(str(shots / "first-admin-page.png"))
            print(f"screenshots: {shots}")
        finally:
            try:
                shared_chromium.release([server.url])
            finally:
                server.stop()
