"""The admin's users' page (/admin/users, server/pages/admin_pages.py) over HTTP on the real
app, in the world of tests/server/world.py: status in words, « Désactiver » then
« Réactiver » through the forms (with the page's anti-CSRF token), a role removed and one
granted, the API's refusals shown in the user's row in French, and the page refused to a
driver. Then, in a real Chromium (module `pages` fixture), an admin deactivates and
reactivates a driver by clicking the buttons on a phone-sized window. The API's rules
themselves are tested in tests/server/test_users_lifecycle.py."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from sqlalchemy import select

from server.core.models import Membership, User
from tests.pages.conftest import FORBIDDEN, FormBrowser, Pages, form_browsers, page_login
from tests.server.world import World


@pytest.fixture
def browsers(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids  # the world's users exist before they sign in
    yield from form_browsers(app, "admin_a", "driver_a", "driver_a2")


def row(page: str, user_id: int) -> str:
    """The user's section of the page, as text."""
    found = re.search(rf'<section class="card" id="user-{user_id}">(.*?)</section>', page, re.S)
    assert found is not None, f"no row for user {user_id}"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))))


def active(app: FastAPI, user_id: int) -> bool:
    with app.state.sessionmaker() as session:
        user = session.get(User, user_id)
        assert user is not None
        return bool(user.is_active)


def test_deactivate_and_reactivate_through_the_form(
    app: FastAPI, world: World, browsers: dict[str, FormBrowser]
) -> None:
    admin, driver = browsers["admin_a"], browsers["driver_a"]
    driver_id = world.user_ids["driver_a"]
    listed = admin.get("/admin")
    assert 'href="/admin/users"' in listed.text and "Gérer les utilisateurs" in listed.text
    page = admin.get("/admin/users")
    assert page.status_code == 200
    assert "Statut : ✓ actif" in row(page.text, driver_id)
    assert f'id="deactivate-{driver_id}"' in page.text
    assert f'id="deactivate-{world.user_ids["admin_a"]}"' not in page.text  # not oneself
    assert driver.get("/driver").status_code == 200

    done = admin.post(f"/admin/users/{driver_id}/deactivate")
    assert done.status_code == 303 and done.headers["location"] == f"/admin/users#user-{driver_id}"
    assert not active(app, driver_id)
    after = admin.get("/admin/users").text
    assert "désactivé — ne peut plus se connecter" in row(after, driver_id)  # words, not colour
    assert f'id="reactivate-{driver_id}"' in after
    assert "(désactivé" in html.unescape(admin.get("/admin").text)
    # The driver's open page session ends at once, and signing in again is refused.
    assert driver.get("/driver", follow_redirects=False).headers["location"] == "/login"
    with TestClient(app) as again:
        refused = page_login(again, "driver_a")
        assert refused.status_code != 303
        assert "Adresse e-mail ou mot de passe incorrect." in html.unescape(refused.text)

    back = admin.post(f"/admin/users/{driver_id}/reactivate")
    assert back.status_code == 303 and active(app, driver_id)
    assert "✓ actif" in row(admin.get("/admin/users").text, driver_id)
    with TestClient(app) as again:
        assert page_login(again, "driver_a").status_code == 303

    admin.client.cookies.set("coldchain_lang", "en")  # the same page in English
    english = admin.get("/admin/users").text
    assert "Status: ✓ active" in row(english, driver_id) and "Deactivate" in english


def test_refusals_are_shown_in_the_users_row(
    app: FastAPI, world: World, browsers: dict[str, FormBrowser]
) -> None:
    admin = browsers["admin_a"]
    me = world.user_ids["admin_a"]
    own = admin.post(f"/admin/users/{me}/deactivate")  # no button, but the API says why
    assert own.status_code == 409
    assert "vous ne pouvez pas désactiver votre propre compte" in row(own.text, me)
    assert 'role="alert"' in own.text and active(app, me)
    last = admin.post(
        f"/admin/users/{me}/memberships/revoke",
        {"organisation_id": str(world.ids["A"]), "role": "admin"},
    )
    assert last.status_code == 409 and "dernier administrateur actif" in row(last.text, me)
    foreign = admin.post(f"/admin/users/{world.user_ids['driver_b']}/deactivate")
    assert foreign.status_code == 404 and active(app, world.user_ids["driver_b"])


def test_grant_then_remove_a_role_through_the_forms(
    app: FastAPI, world: World, browsers: dict[str, FormBrowser]
) -> None:
    admin, driver2 = browsers["admin_a"], browsers["driver_a2"]
    user_id = world.user_ids["driver_a2"]
    role = {"organisation_id": str(world.ids["A"]), "role": "hygiene_officer"}
    assert driver2.get("/hygiene").status_code == 403
    made = admin.post(f"/admin/users/{user_id}/memberships", role)
    assert made.status_code == 303, made.text
    assert "responsable hygiène · Coopérative de Liège" in row(
        admin.get("/admin/users").text, user_id
    )
    assert driver2.get("/hygiene").status_code == 200  # the same session, at once
    wrong = admin.post(
        f"/admin/users/{user_id}/memberships",
        {"organisation_id": str(world.ids["P1"]), "role": "driver"},
    )
    assert wrong.status_code == 422 and "n'existe pas" in row(wrong.text, user_id)
    unchosen = admin.post(f"/admin/users/{user_id}/memberships", {**role, "role": ""})
    assert unchosen.status_code == 422 and "⚠" in row(unchosen.text, user_id)
    gone = admin.post(f"/admin/users/{user_id}/memberships/revoke", role)
    assert gone.status_code == 303
    with app.state.sessionmaker() as session:
        held = session.scalars(select(Membership.role).where(Membership.user_id == user_id))
        assert list(held) == ["driver"]
    assert driver2.get("/hygiene").status_code == 403


def test_a_driver_gets_the_refusal_page(
    app: FastAPI, world: World, browsers: dict[str, FormBrowser]
) -> None:
    driver = browsers["driver_a"]
    page = driver.get("/admin/users")
    assert page.status_code == 403 and FORBIDDEN in html.unescape(page.text)
    target = world.user_ids["driver_a2"]
    for action in ("deactivate", "reactivate"):
        answer = driver.post(f"/admin/users/{target}/{action}")
        assert answer.status_code == 403 and FORBIDDEN in html.unescape(answer.text)
    assert active(app, target)


def test_admin_deactivates_and_reactivates_in_the_browser(pages: Pages) -> None:
    user_id = pages.site.world.user_ids["driver_a2"]
    pages.login("admin_a")
    pages.browser.set_window_size(390, 844)  # on a phone
    try:
        pages.open("/admin")
        pages.browser.find_element(By.ID, "manage-users").click()
        pages.wait_for(lambda: pages.browser.current_url.endswith("/admin/users"))
        status = f"#status-{user_id}"
        assert "actif" in pages.browser.find_element(By.CSS_SELECTOR, status).text
        pages.click_and_wait(f"deactivate-{user_id}", "désactivé", status)
        assert pages.browser.current_url.endswith(f"/admin/users#user-{user_id}")
        pages.shot("admin-user-deactivated")
        width = pages.browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # the page fits the phone
        pages.click_and_wait(f"reactivate-{user_id}", "✓ actif", status)
        pages.shot("admin-user-reactivated")
    finally:
        pages.browser.set_window_size(1280, 900)
