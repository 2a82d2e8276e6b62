"""The admin's forms (server/pages/admin_pages.py, admin_probes.py) over HTTP on the real
app (the world of tests/server/world.py): each form succeeds, says in French next to the
field what is wrong while keeping what was typed, and is refused to a driver. Then, in a
real Chromium (module `pages` fixture), an admin creates a cold room and sees it listed."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from server.core.models import (
    Calibration,
    ColdRoom,
    Installation,
    Membership,
    Probe,
    User,
    Van,
    Zone,
)
from tests.pages.conftest import FORBIDDEN, FormBrowser, Pages, form_browsers, page_login
from tests.server.world import World


@pytest.fixture
def users(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids  # the world's users exist before they sign in
    yield from form_browsers(app, "admin_a", "admin_b", "driver_a")


def field_error(page: str, form: str, field: str) -> str:
    """The French message shown just below the field (templates/admin/_form.html)."""
    found = re.search(rf'id="error-{form}-{field}">⚠ ([^<]*)</p>', page)
    assert found is not None, f"no error for {field}"
    return html.unescape(found.group(1))


def typed(page: str, form: str, field: str) -> str:
    found = re.search(rf'id="{form}-{field}" name="{field}"[^>]*value="([^"]*)"', page, re.S)
    assert found is not None, f"no input {field}"
    return html.unescape(found.group(1))


def rows(app: FastAPI, query: Any) -> list[Any]:
    with app.state.sessionmaker() as session:
        return list(session.scalars(query))


def test_van_and_its_zones(app: FastAPI, world: World, users: dict[str, FormBrowser]) -> None:
    admin = users["admin_a"]
    form = admin.get("/admin/vans/new").text
    assert "Coopérative de Liège" in form and "Réseau Luxembourg" not in form  # own only
    sent = {"name": "Fourgon 2", "plate": "2-DEF-456", "owner_id": str(world.ids["A"])}
    made = admin.post("/admin/vans", sent)
    assert made.status_code == 303, made.text
    van = rows(app, select(Van).where(Van.plate == "2-DEF-456"))[0]
    assert made.headers["location"] == f"/admin/vans/{van.id}"
    added = admin.post(f"/admin/vans/{van.id}/zones", {"name": "arrière", "kind": "thermo_box"})
    assert added.status_code == 303
    page = admin.get(f"/admin/vans/{van.id}").text
    assert "arrière" in page and "caisse isotherme" in page

    again = admin.post("/admin/vans", {**sent, "name": "Fourgon 3"})  # the plate is taken
    assert again.status_code == 409
    assert "plaque déjà enregistrée" in field_error(again.text, "new_van", "plate")
    assert typed(again.text, "new_van", "name") == "Fourgon 3"  # what was typed stays
    empty = admin.post("/admin/vans", {**sent, "name": " ", "plate": "x" * 21})
    assert empty.status_code == 422
    assert field_error(empty.text, "new_van", "name") == "champ obligatoire"
    assert "trop long" in field_error(empty.text, "new_van", "plate")
    same = admin.post(f"/admin/vans/{van.id}/zones", {"name": "arrière", "kind": "compartment"})
    assert "nom de zone déjà utilisé" in field_error(same.text, "new_zone", "name")
    assert users["admin_b"].get(f"/admin/vans/{van.id}").status_code == 404  # not theirs


def test_cold_room(app: FastAPI, world: World, users: dict[str, FormBrowser]) -> None:
    admin = users["admin_a"]
    sent = {
        "name": "Chambre du quai",
        "owner_id": str(world.ids["A"]),
        "category": "chilled_retail",
        "address": "",
    }
    made = admin.post("/admin/cold-rooms", sent)
    assert made.status_code == 303 and made.headers["location"] == "/admin#rooms"
    room = rows(app, select(ColdRoom).where(ColdRoom.name == "Chambre du quai"))[0]
    assert room.owner_id == world.ids["A"] and room.address is None  # empty: not given
    listed = admin.get("/admin").text
    assert "Chambre du quai" in listed
    # The category by its name, never its code.
    assert "Denrées réfrigérées (commerce de détail, défaut belge)" in listed
    assert "chilled_retail</td>" not in listed
    wrong = admin.post("/admin/cold-rooms", {**sent, "category": "glaces", "name": "Autre"})
    assert wrong.status_code == 422
    assert "Catégorie de produit inconnue" in field_error(wrong.text, "new_room", "category")
    assert typed(wrong.text, "new_room", "name") == "Autre"
    other = admin.post("/admin/cold-rooms", {**sent, "owner_id": str(world.ids["B"])})
    assert other.status_code == 403 and "pas le droit" in other.text  # the API's rule
    assert len(rows(app, select(ColdRoom).where(ColdRoom.name == "Chambre du quai"))) == 1


def test_probe_installation_and_calibration(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    admin = users["admin_a"]
    bad = admin.post("/admin/probes", {"probe_id": "Sonde A!", "owner_id": str(world.ids["A"])})
    assert bad.status_code == 422 and "format invalide" in field_error(
        bad.text, "new_probe", "probe_id"
    )
    made = admin.post("/admin/probes", {"probe_id": "quai-1", "owner_id": str(world.ids["A"])})
    assert made.status_code == 200  # the provisioning page (tests/pages/test_probe_provisioning.py)
    probe = rows(app, select(Probe).where(Probe.probe_id == "quai-1"))[0]
    url = f"/admin/probes/{probe.id}"
    place = f"room-{world.ids['CRA']}"
    installed = admin.post(f"{url}/installations", {"place": place, "start": "2026-03-01T08:00"})
    assert installed.status_code == 303, installed.text
    page = admin.get(url).text
    assert "Chambre froide du dépôt" in page and "01/03/2026 08:00" in page  # Brussels time
    overlap = admin.post(f"{url}/installations", {"place": place, "start": "2026-03-02T08:00"})
    assert overlap.status_code == 409
    assert "déjà installée" in field_error(overlap.text, "install", "start")
    placed = rows(app, select(Installation.id).where(Installation.probe_id == probe.id))
    end_url = f"{url}/installations/{placed[0]}/end"
    blank = admin.post(end_url, {"end": ""})
    assert field_error(blank.text, "end_installation", "end") == "champ obligatoire"
    early = admin.post(end_url, {"end": "2026-02-01T08:00"})
    assert "la fin doit être après le début" in field_error(early.text, "end_installation", "end")
    assert admin.post(end_url, {"end": "2026-03-05T18:30"}).status_code == 303
    inst = rows(app, select(Installation).where(Installation.probe_id == probe.id))[0]
    assert inst.end is not None and inst.end.hour == 17  # 18:30 in Brussels (UTC+1)

    calibration = {
        "channel": "air",
        "offset": "0,3",
        "calibrated_at": "2026-03-05T10:00",
        "reference_instrument": "Testo 720",
        "performed_by": "Labo Liège",
        "next_due": "2027-03-05",
        "reference_reading_c": "4,0",
        "probe_reading_c": "4,4",
    }
    wrong = admin.post(f"{url}/calibrations", {**calibration, "offset": "un peu"})
    assert wrong.status_code == 422
    assert field_error(wrong.text, "new_calibration", "offset") == "doit être un nombre"
    assert typed(wrong.text, "new_calibration", "performed_by") == "Labo Liège"
    contrary = admin.post(f"{url}/calibrations", {**calibration, "result": "fail"})
    assert contrary.status_code == 422 and "contraire aux relevés" in contrary.text
    done = admin.post(f"{url}/calibrations", calibration)
    assert done.status_code == 303, done.text
    saved = rows(app, select(Calibration).where(Calibration.probe_id == probe.id))[0]
    assert saved.offset == pytest.approx(0.3) and saved.result == "pass"  # from the readings
    assert "✓ conforme" in admin.get(url).text

    # Its label edited (its id never changes); too long: a French error next to the field;
    # another cooperative's admin cannot.
    long = admin.post(f"{url}/label", {"label": "x" * 201})
    assert long.status_code == 422 and field_error(long.text, "probe_label", "label")
    assert admin.post(f"{url}/label", {"label": "Quai de chargement"}).status_code == 303
    assert "(Quai de chargement)" in admin.get(url).text
    assert users["admin_b"].post(f"{url}/label", {"label": "à moi"}).status_code in (403, 404)
    assert admin.post(f"{url}/label", {"label": ""}).status_code == 303
    assert rows(app, select(Probe.label).where(Probe.id == probe.id)) == [None]


def test_user_with_a_role(app: FastAPI, world: World, users: dict[str, FormBrowser]) -> None:
    admin = users["admin_a"]
    form = admin.get("/admin/users/new").text
    assert "Chèvrerie du Val" in form  # a member producer's people are the admin's too
    sent = {
        "full_name": "Chauffeur Trois",
        "email": "driver_a3@example.be",
        "password": "court",
        "organisation_id": str(world.ids["A"]),
        "role": "driver",
    }
    short = admin.post("/admin/users", sent)
    assert short.status_code == 422
    assert "au moins 10" in field_error(short.text, "new_user", "password")
    assert typed(short.text, "new_user", "email") == "driver_a3@example.be"
    assert typed(short.text, "new_user", "password") == ""  # a password is never sent back
    wrong_role = admin.post(
        "/admin/users", {**sent, "password": "assez long mdp", "role": "producer"}
    )
    assert wrong_role.status_code == 422
    assert "n'existe pas" in field_error(wrong_role.text, "new_user", "role")
    made = admin.post("/admin/users", {**sent, "password": "assez long mdp"})
    assert made.status_code == 303 and made.headers["location"] == "/admin#users"
    user = rows(app, select(User).where(User.email == "driver_a3@example.be"))[0]
    roles = rows(app, select(Membership.role).where(Membership.user_id == user.id))
    assert roles == ["driver"]
    taken = admin.post("/admin/users", {**sent, "password": "assez long mdp"})
    assert "adresse e-mail déjà enregistrée" in field_error(taken.text, "new_user", "email")
    admin.client.cookies.set("coldchain_lang", "en")  # the same form in English
    english = admin.post("/admin/users", {**sent, "password": "short"})
    assert "<h1>New user</h1>" in english.text
    assert "at least 10" in field_error(english.text, "new_user", "password")
    admin.client.cookies.delete("coldchain_lang")
    with TestClient(app) as newcomer:  # the new driver signs in
        signed = page_login(newcomer, "driver_a3", "assez long mdp")
        assert signed.headers["location"] == "/"


def test_driver_gets_the_refusal_page(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    driver = users["driver_a"]
    for path in (
        "/admin/vans/new",
        "/admin/cold-rooms/new",
        "/admin/probes/new",
        "/admin/users/new",
    ):
        page = driver.get(path)
        assert page.status_code == 403 and FORBIDDEN in html.unescape(page.text), path
    probe = world.ids["probe_VA"]
    assert FORBIDDEN in html.unescape(driver.get(f"/admin/probes/{probe}/calibrations/new").text)
    sent = {
        "name": "Chambre du chauffeur",
        "owner_id": str(world.ids["A"]),
        "category": "chilled_retail",
    }
    for path, data in (
        ("/admin/cold-rooms", sent),
        ("/admin/vans", {"name": "V", "plate": "9-ZZZ-999", "owner_id": str(world.ids["A"])}),
        ("/admin/probes", {"probe_id": "drv-1", "owner_id": str(world.ids["A"])}),
        (f"/admin/probes/{probe}/installations", {"place": f"room-{world.ids['CRA']}"}),
        ("/admin/users", {"email": "x@example.be", "role": "admin"}),
    ):
        answer = driver.post(path, data)
        assert answer.status_code == 403 and FORBIDDEN in html.unescape(answer.text), path
    assert not rows(app, select(ColdRoom).where(ColdRoom.name == "Chambre du chauffeur"))
    assert not rows(app, select(Zone).where(Zone.name == "V"))


def test_admin_creates_a_cold_room_in_the_browser(pages: Pages) -> None:
    pages.login("admin_a")
    pages.browser.set_window_size(390, 844)  # on a phone
    try:
        pages.browser.find_element(By.ID, "add-room").click()
        pages.wait_for(lambda: "/admin/cold-rooms/new" in pages.browser.current_url)
        pages.browser.find_element(By.ID, "new_room-name").send_keys("Chambre de la halle")
        Select(pages.browser.find_element(By.ID, "new_room-category")).select_by_value(
            "chilled_retail"
        )
        pages.browser.find_element(By.ID, "new_room-address").send_keys("Quai de la Batte 1, Liège")
        pages.shot("admin-new-cold-room")
        width = pages.browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # the form fits the phone
        pages.click_and_wait("new_room-submit", "Chambre de la halle", "#rooms")
        assert pages.browser.current_url.endswith("/admin#rooms")
        pages.shot("admin-cold-room-listed")
    finally:
        pages.browser.set_window_size(1280, 900)
