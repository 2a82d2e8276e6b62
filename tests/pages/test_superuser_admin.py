"""The first administrator in the browser (server/pages/admin_organisations.py, admin_pages.py):
the installation superuser acts in a cooperative and does there what its admin does (vans,
zones, cold rooms, probes, installations, calibrations, users), edits organisations and
their member producers; a cooperative's admin does the same in their own cooperative and is
refused on another's; a rename keeps history where sealed records depend on it.

Over HTTP on the world of tests/server/world.py (its superuser is « root »), then one
journey in a real Chromium from an empty database holding only the superuser."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from server.core.models import (
    Calibration,
    ColdRoom,
    CooperativeMember,
    Delivery,
    Installation,
    Organisation,
    Probe,
    Van,
    Zone,
    utcnow,
)
from server.core.models.history import FormerName
from server.core.models.records import SealedRecord
from server.domain import categories
from server.domain.accounts import create_superuser
from server.pages.admin_organisations import ACTING_COOKIE
from server.records import sealing
from tests.alerting.support import HttpServer, settings_for
from tests.harness import browser as chromium
from tests.harness.servers import free_port
from tests.pages.conftest import FORBIDDEN, FormBrowser, form_browsers
from tests.pages.test_admin_pages import field_error, rows, typed
from tests.records.support import START, sealed_delivery, write_readings
from tests.server.world import PASSWORD, World

NOT_FOUND = "Page introuvable"


@pytest.fixture
def users(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids
    yield from form_browsers(app, "root", "admin_a", "admin_b", "producer1")


def test_admin_pages_of_the_superuser_and_of_a_cooperative(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    """One world for three parts (each a world costs seconds): refusals first, while
    everything is as tests/server/world.py made it; then the superuser acting in A; then
    the edits of an organisation and its member producers."""
    an_admin_never_reaches_another_cooperative(app, world, users)
    superuser_acting_in_a_cooperative_runs_its_fleet(app, world, users)
    organisation_edits_and_member_producers(app, world, users)


def superuser_acting_in_a_cooperative_runs_its_fleet(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    root, a = users["root"], world.ids["A"]
    assert root.get("/admin/vans/new").status_code == 403  # not acting: no cooperative's admin
    acted = root.post(f"/admin/organisations/{a}/act")
    assert acted.status_code == 303 and acted.headers["location"] == "/admin"
    home = html.unescape(root.get("/admin").text)
    assert 'id="acting"' in home and "Coopérative de Liège" in home
    assert 'id="vans"' in home and "Fourgon 1" in home  # A's fleet, as its admin sees it

    form = html.unescape(root.get("/admin/vans/new").text)
    assert "Coopérative de Liège" in form and "Réseau Luxembourg" not in form  # A only
    van = root.post("/admin/vans", {"name": "Fourgon R", "plate": "9-ROO-001", "owner_id": str(a)})
    assert van.status_code == 303, van.text
    van_id = rows(app, select(Van.id).where(Van.plate == "9-ROO-001"))[0]
    zone = root.post(f"/admin/vans/{van_id}/zones", {"name": "avant", "kind": "compartment"})
    assert zone.status_code == 303
    zone_id = rows(app, select(Zone.id).where(Zone.van_id == van_id))[0]
    room = {"name": "Chambre R", "owner_id": str(a), "category": "chilled_retail"}
    assert root.post("/admin/cold-rooms", room).status_code == 303
    room_id = rows(app, select(ColdRoom.id).where(ColdRoom.name == "Chambre R"))[0]
    edited = root.post(f"/admin/cold-rooms/{room_id}", {"name": "Chambre R2", "address": "Ici"})
    assert edited.status_code == 303
    assert rows(app, select(ColdRoom.address).where(ColdRoom.id == room_id)) == ["Ici"]

    # The registration form of server/pages/admin_probes.py (its answer: the probe's page,
    # or the provisioning page shown once): the probe is A's.
    probe = root.post("/admin/probes", {"probe_id": "root-1", "owner_id": str(a)})
    assert probe.status_code in (200, 303) and FORBIDDEN not in html.unescape(probe.text)
    assert rows(app, select(Probe.owner_id).where(Probe.probe_id == "root-1")) == [a]
    probe_pk = rows(app, select(Probe.id).where(Probe.probe_id == "root-1"))[0]
    start = (utcnow() - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    placed = root.post(
        f"/admin/probes/{probe_pk}/installations", {"place": f"zone-{zone_id}", "start": start}
    )
    assert placed.status_code == 303, placed.text
    assert rows(app, select(Installation.zone_id).where(Installation.probe_id == probe_pk)) == [
        zone_id
    ]
    calibration = {
        "channel": "air",
        "offset": "-0,2",
        "calibrated_at": start,
        "reference_instrument": "Testo 104",
        "performed_by": "Root",
    }
    done = root.post(f"/admin/probes/{probe_pk}/calibrations", calibration)
    assert done.status_code == 303, done.text
    assert rows(app, select(Calibration.offset).where(Calibration.probe_id == probe_pk)) == [-0.2]

    stopped = root.post("/admin/acting/stop")
    assert stopped.status_code == 303
    assert root.get("/admin/vans/new").status_code == 403
    assert 'id="fleet-note"' in root.get("/admin").text
    assert FORBIDDEN in html.unescape(root.get("/admin/vans/new").text)


def organisation_edits_and_member_producers(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    admin, root, a = users["admin_a"], users["root"], world.ids["A"]
    home = admin.get("/admin").text
    assert f'href="/admin/organisations/{a}"' in home  # « Modifier, membres »
    page = html.unescape(admin.get(f"/admin/organisations/{a}").text)
    assert "Chèvrerie du Val" in page and "Boucherie Dupont" in page  # its members
    assert "Ferme des Ardennes" not in page  # B's producer: not offered to A's admin

    empty = admin.post(f"/admin/organisations/{a}", {"name": " ", "address": "Rue 2"})
    assert empty.status_code == 422
    assert field_error(empty.text, "edit_organisation", "name") == "champ obligatoire"
    assert typed(empty.text, "edit_organisation", "address") == "Rue 2"
    taken = admin.post(f"/admin/organisations/{a}", {"name": "Réseau Luxembourg"})
    assert taken.status_code == 409
    assert "nom d'organisation déjà utilisé" in field_error(taken.text, "edit_organisation", "name")
    renamed = admin.post(f"/admin/organisations/{a}", {"name": "Coopérative liégeoise"})
    assert renamed.status_code == 303
    assert rows(app, select(Organisation.name).where(Organisation.id == a)) == [
        "Coopérative liégeoise"
    ]
    former = rows(app, select(FormerName).where(FormerName.subject == "organisation"))
    assert [(f.subject_id, f.value) for f in former] == [(a, "Coopérative de Liège")]

    joined = admin.post(f"/admin/organisations/{a}/members/new", {"name": "Verger Lambert"})
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/admin/organisations/{a}#members"
    listed = html.unescape(admin.get(f"/admin/organisations/{a}").text)
    assert "Verger Lambert" in listed
    verger = rows(app, select(Organisation.id).where(Organisation.name == "Verger Lambert"))[0]
    assert f"/admin/users/new?organisation_id={verger}&role=producer" in listed  # its account
    account = {
        "full_name": "Paul Lambert",
        "email": "paul@example.be",
        "password": PASSWORD,
        "organisation_id": str(verger),
        "role": "producer",
    }
    assert admin.post("/admin/users", account).status_code == 303  # A's admin may create it
    twice = admin.post(f"/admin/organisations/{a}/members/new", {"name": "Verger Lambert"})
    assert twice.status_code == 409
    assert "nom d'organisation déjà utilisé" in field_error(twice.text, "new_member", "name")

    p3 = world.ids["P3"]  # the superuser sees every producer: B's joins A too
    bad = root.post(f"/admin/organisations/{a}/members", {"producer_id": "x"})
    assert bad.status_code == 422
    assert "nombre" in field_error(bad.text, "existing_member", "producer_id")
    offered = root.get(f"/admin/organisations/{a}").text
    assert f'<option value="{p3}">Ferme des Ardennes</option>' in offered
    assert root.post(f"/admin/organisations/{a}/members", {"producer_id": str(p3)}).status_code == (
        303
    )
    members = rows(
        app, select(CooperativeMember.producer_id).where(CooperativeMember.cooperative_id == a)
    )
    assert p3 in members


def an_admin_never_reaches_another_cooperative(
    app: FastAPI, world: World, users: dict[str, FormBrowser]
) -> None:
    admin_a, ids = users["admin_a"], world.ids
    b = ids["B"]
    with app.state.sessionmaker() as session:
        zone_b = session.scalar(select(Zone.id).where(Zone.van_id == ids["VB"]))
    for path in (
        f"/admin/organisations/{b}",
        f"/admin/vans/{ids['VB']}",
        f"/admin/vans/{ids['VB']}/zones/{zone_b}",
        f"/admin/cold-rooms/{ids['CR3']}",
    ):
        page = admin_a.get(path)
        assert page.status_code == 404 and NOT_FOUND in html.unescape(page.text), path
    for path, sent in (
        (f"/admin/organisations/{b}", {"name": "Pris"}),
        (f"/admin/organisations/{b}/members/new", {"name": "Ferme pirate"}),
        (f"/admin/organisations/{b}/members", {"producer_id": str(ids["P2"])}),
        (f"/admin/vans/{ids['VB']}", {"name": "Pris", "plate": "0-AAA-000"}),
        (f"/admin/vans/{ids['VB']}/zones/{zone_b}", {"name": "pris"}),
        (f"/admin/cold-rooms/{ids['CR3']}", {"name": "Prise"}),
    ):
        answer = admin_a.post(path, sent)
        assert answer.status_code == 404, path
    refused = admin_a.post(f"/admin/organisations/{b}/act")  # the superuser's only
    assert refused.status_code == 403 and FORBIDDEN in html.unescape(refused.text)
    admin_a.client.cookies.set(ACTING_COOKIE, str(b))  # a forged choice gives nothing
    assert admin_a.get(f"/admin/organisations/{b}").status_code == 404
    assert "Réseau Luxembourg" not in html.unescape(admin_a.get("/admin/vans/new").text)
    # B's admin may use A's van (pool) but not edit it, nor rename its zones.
    pooled = users["admin_b"].post(f"/admin/vans/{ids['VA']}", {"name": "X", "plate": "1-X-1"})
    assert pooled.status_code == 403
    assert 'id="edit_van-form"' not in users["admin_b"].get(f"/admin/vans/{ids['VA']}").text
    # A producer sees its cooperative (a member) but does not administer it.
    assert users["producer1"].get(f"/admin/organisations/{ids['A']}").status_code == 403
    names = rows(app, select(Organisation.name).where(Organisation.id == b))
    assert names == ["Réseau Luxembourg"]


def test_a_rename_changes_no_sealed_record_nor_its_reseal(
    app: FastAPI,
    world: World,
    reading_store: SqliteReadingStore,
    users: dict[str, FormBrowser],
) -> None:
    first = sealed_delivery(world, reading_store)  # version 1, sealed at closing
    ids, admin = world.ids, users["admin_a"]
    with app.state.sessionmaker() as session:
        sealed = session.scalars(select(SealedRecord.document)).one()
    renames = (
        (f"/admin/vans/{ids['VA']}/zones/{ids['VA_frais']}", {"name": "frais avant"}),
        (f"/admin/vans/{ids['VA']}", {"name": "Fourgon bleu", "plate": "1-ABC-124"}),
        (f"/admin/organisations/{ids['A']}", {"name": "Coopérative liégeoise"}),
    )
    for path, sent in renames:
        assert admin.post(path, sent).status_code == 303, path
    van_page = html.unescape(admin.get(f"/admin/vans/{ids['VA']}").text)
    assert "frais avant" in van_page and 'id="former"' in van_page  # the former names
    assert "Fourgon 1" in van_page and "1-ABC-123" in van_page

    # A late reading (before departure, in the delivery's window): a reseal, version 2.
    write_readings(reading_store, START - timedelta(minutes=30), START, seq0=90_000)
    with app.state.sessionmaker() as session:
        delivery = session.get(Delivery, ids["DA"])
        assert delivery is not None
        again = sealing.seal(session, reading_store, delivery, categories.profiles(), utcnow())
        assert again is not None and again.version == 2
        session.commit()
        documents = list(session.scalars(select(SealedRecord.document).order_by(SealedRecord.id)))
    assert documents[0] == sealed  # the sealed record itself: byte for byte
    for text in documents:
        doc = json.loads(text)
        assert doc["cooperative"]["name"] == "Coopérative de Liège"
        assert doc["delivery"]["van"] == {
            "id": ids["VA"],
            "name": "Fourgon 1",
            "plate": "1-ABC-123",
        }
        assert {z["name"] for z in doc["zones"]} == {"frais", "surgelé"}
        assert {load["zone"] for load in doc["loads"]} == {"frais", "surgelé"}
        checks = {check["zone"] for check in doc["departure_checks"]}
        assert checks == {"frais", "surgelé"}
    changes = json.dumps(json.loads(documents[1])["changes"], ensure_ascii=False)
    assert "frais avant" not in changes and "Fourgon bleu" not in changes
    assert first["record_hash"] == json.loads(documents[1])["supersedes"]


def test_from_an_empty_database_to_a_cooperative_run_in_the_browser(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> None:
    """The first hour, in Chromium: the superuser creates a cooperative, acts for it,
    creates its admin, a van with two zones, a cold room and a member producer; the
    cooperative's admin renames a zone, and is refused on another cooperative's page."""
    tmp = tmp_path_factory.mktemp("superuser")
    shots = tmp / "screenshots"
    shots.mkdir()
    app = create_app(settings_for(tmp, free_port(), None))
    with TestClient(app):
        with app.state.sessionmaker() as session:
            create_superuser(
                session, app.state.password_hasher, "installer@example.be", "Installateur", PASSWORD
            )
        server = HttpServer(app)
        browser = shared_chromium.clean()
        # No stream is blocked: each page's alert stream (static/live.js) is closed when the
        # page is left. Before, past six pages the next one waited for a free connection
        # (Chromium's per-host limit) and never loaded: this journey visits more than six.
        try:

            def wait(condition: Any) -> None:
                # A page being replaced: an element read a moment ago may be gone (stale) or
                # not there yet; both mean "not yet".
                WebDriverWait(
                    browser,
                    10,
                    ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
                ).until(lambda _b: condition())

            def body() -> str:
                return str(browser.find_element(By.TAG_NAME, "body").text)

            def sign_in(email: str) -> None:
                browser.delete_all_cookies()
                browser.get(server.url + "/login")
                browser.find_element(By.ID, "email").send_keys(email)
                browser.find_element(By.ID, "password").send_keys(PASSWORD)
                browser.find_element(By.ID, "login").click()
                wait(lambda: "/login" not in browser.current_url)

            def fill(form: str, **values: str) -> None:
                for name, value in values.items():
                    element = browser.find_element(By.ID, f"{form}-{name}")
                    if element.tag_name == "select":
                        Select(element).select_by_visible_text(value)
                    else:
                        element.clear()
                        element.send_keys(value)

            def submit(form: str, then: str) -> None:
                browser.find_element(By.ID, f"{form}-submit").click()
                wait(lambda: then in browser.current_url)

            def new_cooperative(name: str) -> str:
                browser.get(server.url + "/admin")
                fill("new_organisation", name=name, kind="Coopérative")
                submit("new_organisation", "#org-")
                return browser.current_url.rsplit("#org-", 1)[1]

            sign_in("installer@example.be")
            condroz = new_cooperative("Coopérative du Condroz")
            other = new_cooperative("Coopérative de Famenne")
            # The organisations' table, read in Dutch on a phone: one card per organisation,
            # nothing wider than the screen (it was cut off).
            browser.add_cookie({"name": "coldchain_lang", "value": "nl"})
            browser.set_window_size(390, 844)
            try:
                browser.get(server.url + "/admin")
                assert "Organisaties" in body()
                widths = browser.execute_script(
                    "const t = document.getElementById('organisation-list');"
                    "return [document.documentElement.scrollWidth, window.innerWidth,"
                    " t.scrollWidth, t.parentElement.clientWidth];"
                )
                assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
                browser.save_screenshot(str(shots / "superuser-organisations-phone-nl.png"))
            finally:
                browser.set_window_size(1280, 900)
                browser.add_cookie({"name": "coldchain_lang", "value": "fr"})
            browser.find_element(By.ID, f"act-{condroz}").click()
            wait(lambda: browser.find_elements(By.ID, "acting"))
            assert "Coopérative du Condroz" in browser.find_element(By.ID, "acting").text

            browser.find_element(By.ID, f"first-{condroz}").click()
            wait(lambda: "/admin/users/new" in browser.current_url)
            fill("new_user", full_name="Claire Condroz", email="claire@example.be")
            fill("new_user", password=PASSWORD)
            submit("new_user", "/admin#users")

            browser.find_element(By.ID, "add-van").click()
            wait(lambda: "/admin/vans/new" in browser.current_url)
            fill("new_van", name="Fourgon Condroz", plate="1-CON-001")
            submit("new_van", "/admin/vans/")
            # The form's own address holds "/admin/vans/" too: wait for the van's page.
            wait(
                lambda: (
                    "/new" not in browser.current_url and browser.find_elements(By.ID, "van-zones")
                )
            )
            for zone, kind in (("frais", "compartiment"), ("surgelé", "caisse isotherme")):
                fill("new_zone", name=zone, kind=kind)
                browser.find_element(By.ID, "new_zone-submit").click()
                wait(lambda zone=zone: zone in browser.find_element(By.ID, "van-zones").text)
            browser.get(server.url + "/admin")
            browser.find_element(By.ID, "add-room").click()
            wait(lambda: "/admin/cold-rooms/new" in browser.current_url)
            fill("new_room", name="Chambre de Ciney")
            Select(browser.find_element(By.ID, "new_room-category")).select_by_value(
                "chilled_retail"
            )
            submit("new_room", "/admin#rooms")
            assert "Chambre de Ciney" in browser.find_element(By.ID, "rooms").text

            browser.find_element(By.ID, f"edit-org-{condroz}").click()
            wait(lambda: f"/admin/organisations/{condroz}" in browser.current_url)
            fill("new_member", name="Ferme du Bocq")
            submit("new_member", "#members")
            assert "Ferme du Bocq" in browser.find_element(By.ID, "member-list").text
            browser.save_screenshot(str(shots / "superuser-cooperative-members.png"))

            sign_in("claire@example.be")  # the cooperative's admin renames a zone
            assert browser.current_url.endswith("/admin")
            browser.find_element(By.LINK_TEXT, "Fourgon Condroz").click()
            wait(lambda: browser.find_elements(By.ID, "van-zones"))
            browser.find_elements(By.CSS_SELECTOR, "[id^=rename-zone-]")[0].click()
            wait(lambda: "/zones/" in browser.current_url)
            fill("rename_zone", name="frais avant")
            submit("rename_zone", "/admin/vans/")
            # The zone's form address holds "/admin/vans/" too: wait for the van's page.
            wait(
                lambda: (
                    "/zones/" not in browser.current_url
                    and browser.find_elements(By.ID, "van-zones")
                )
            )
            zones = browser.find_element(By.ID, "van-zones").text
            assert "frais avant" in zones and "surgelé" in zones
            assert "frais" in browser.find_element(By.ID, "former").text
            browser.save_screenshot(str(shots / "admin-zone-renamed.png"))

            browser.get(f"{server.url}/admin/organisations/{other}")  # another cooperative
            assert NOT_FOUND in body()
            assert "Coopérative de Famenne" not in body()
            print(f"screenshots: {shots}")
        finally:
            try:
                shared_chromium.release([server.url])  # the blocked URLs too
            finally:
                server.stop()
