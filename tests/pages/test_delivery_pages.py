"""The driver's delivery page (server/pages/delivery_pages.py): stops, loads, the departure
check, the handover at each stop, closing.

Over HTTP (TestClient, the world of tests/server/world.py, readings in the real reading
store): delivery DA of cooperative A (day D1, lots L1 and L2 in zone « frais », label
≤ 6 °C) driven through the forms by driver_a. In a real Chromium on a phone-sized window
(module `pages` fixture): a delivery of today checked at departure and handed over."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from sqlalchemy import select

from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.core.models import Delivery, DepartureCheck, Stop
from server.domain.place_readings import to_ms
from tests.pages.conftest import Pages, csrf_of, signed_in
from tests.server.world import BRUSSELS, World, plan_delivery


@pytest.fixture
def browsers(app: FastAPI, world: World) -> Iterator[dict[str, TestClient]]:
    """One cookie jar per user, signed in through the pages' login form."""
    assert "driver_a" in world.user_ids
    yield from signed_in(app, "driver_a", "driver_a2", "driver_b", "producer1", "admin_a")


def van_reading(store: SqliteReadingStore, value: float, seq: int) -> None:
    """The van's probe (zone « frais ») measured `value` half a minute ago."""
    at = datetime.now(UTC) - timedelta(seconds=30)
    store.write([Reading("van-a-1", "air", to_ms(at), seq, value)])


def post(client: TestClient, url: str, page: str, data: dict[str, str]) -> Any:
    """Post a form as the browser does: with the CSRF token of the page it is on."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf": token}, follow_redirects=False)


def status_of(app: FastAPI, delivery_id: int) -> str:
    with app.state.sessionmaker() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        return str(delivery.status)


def seen(response: Any) -> str:
    """The page as read (the templates escape apostrophes)."""
    return html.unescape(response.text)


def field_error(html: str, key: str) -> str:
    found = re.search(rf'id="error-{key}"[^>]*>([^<]*)<', html)
    assert found is not None, f"no error next to {key}"
    return found.group(1)


def depart(client: TestClient, world: World, temperature: str = "3,5") -> None:
    page = f"/deliveries/{world.ids['DA']}"
    zone = f"temperature_{world.ids['VA_frais']}"
    answer = post(client, f"{page}/departure", page, {zone: temperature})
    assert answer.status_code == 303, answer.text


def test_departure_accepted_from_the_readings(
    app: FastAPI, world: World, browsers: dict[str, TestClient], reading_store: SqliteReadingStore
) -> None:
    driver, ids = browsers["driver_a"], world.ids
    page = f"/deliveries/{ids['DA']}"
    van_reading(reading_store, 3.8, 1)
    shown = driver.get(page)
    assert shown.status_code == 200
    text = shown.text
    assert "◷ Planifiée" in text and "Contrôle au départ" in text
    assert "Relevé des sondes : <strong>3,8 °C</strong>" in text  # the default, and said so
    assert "LOT-L1" in text and "12,5 kg" in text and "Chèvrerie du Val" in text
    assert "Épicerie du coin" in text and "Pas encore remis" in text
    zone = f"temperature_{ids['VA_frais']}"
    answer = post(driver, f"{page}/departure", page, {zone: ""})  # empty: the readings
    assert answer.status_code == 303 and answer.headers["location"] == page
    after = driver.get(page).text
    assert "➜ En route" in after and "Résultat du contrôle au départ" in after
    assert "3,8 °C" in after and "relevé des sondes" in after
    assert 'id="departure-form"' not in after  # done once
    assert 'id="handover-form"' in after and "➜ Prochain arrêt" in after
    with app.state.sessionmaker() as session:
        check = session.scalar(
            select(DepartureCheck).where(DepartureCheck.delivery_id == ids["DA"])
        )
        assert check is not None and check.source == "readings" and check.temperature_c == 3.8
    english = driver.get(page, headers={"Accept-Language": "en"}).text
    assert "➜ On the road" in english and "Departure check result" in english
    again = post(driver, f"{page}/departure", page, {zone: ""})  # a second tap
    assert again.status_code == 409
    assert "La livraison est en route : elle ne peut plus être modifiée ainsi." in seen(again)


def test_driver_page_links_to_the_deliveries_of_today(
    world: World, browsers: dict[str, TestClient]
) -> None:
    today = datetime.now(UTC).astimezone(BRUSSELS).date()
    delivery = plan_delivery(world, "admin_a", "A", "driver_a", today, "CR1", [("LT", "P1")])
    driver = browsers["driver_a"]
    home = driver.get("/driver").text
    assert f'href="/deliveries/{delivery}"' in home and 'href="/deliveries"' in home
    listed = seen(driver.get("/deliveries"))
    assert "Mes livraisons du jour" in listed and today.strftime("%d/%m/%Y") in listed
    assert f'href="/deliveries/{delivery}"' in listed and "◷ Planifiée" in listed
    assert f'href="/deliveries/{world.ids["DA"]}"' not in listed  # day D1, not today
    other = seen(browsers["driver_b"].get("/deliveries"))
    assert f'href="/deliveries/{delivery}"' not in other and "Aucune livraison" in other
    assert browsers["producer1"].get("/deliveries").status_code == 403
    # The time the page was read, for live.js's « no connection » notice: it read « date
    # de . » on the delivery page when only the live views gave it.
    page = driver.get(f"/deliveries/{delivery}").text
    assert re.search(r'id="live-offline"[^>]* data-at="\d\d:\d\d"', page), page[:3000]


def test_departure_refused_above_the_limit_says_both_numbers(
    app: FastAPI, world: World, browsers: dict[str, TestClient], reading_store: SqliteReadingStore
) -> None:
    driver, ids = browsers["driver_a"], world.ids
    page = f"/deliveries/{ids['DA']}"
    zone = f"temperature_{ids['VA_frais']}"
    van_reading(reading_store, 9.5, 1)
    answer = post(driver, f"{page}/departure", page, {zone: ""})
    assert answer.status_code == 422
    assert field_error(answer.text, zone) == (
        "⚠ ✖ Départ refusé : 9,5 °C pour une limite de 6,0 °C. Pré-refroidissez la zone."
    )
    typed = post(driver, f"{page}/departure", page, {zone: "8,5"})  # measured by hand
    assert typed.status_code == 422
    assert "8,5 °C pour une limite de 6,0 °C" in field_error(typed.text, zone)
    assert f'name="{zone}" inputmode="decimal" maxlength="20" value="8,5"' in typed.text
    nonsense = post(driver, f"{page}/departure", page, {zone: "froid"})
    assert nonsense.status_code == 422
    assert field_error(nonsense.text, zone) == "⚠ doit être un nombre"
    assert status_of(app, ids["DA"]) == "planned"


def test_handover_refusal_needs_a_reason_and_close_only_after_the_last_stop(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    driver, ids = browsers["driver_a"], world.ids
    page = f"/deliveries/{ids['DA']}"
    depart(driver, world)
    pickup = f"{page}/stops/{ids['A_pickup']}/handover"
    choices = {"decision_" + str(ids["L1"]): "accept", "decision_" + str(ids["L2"]): "refuse"}
    no_reason = post(driver, pickup, page, {"receiver_name": "Marie Lejeune", **choices})
    assert no_reason.status_code == 422
    assert field_error(no_reason.text, f"reason_{ids['L2']}") == "⚠ Un refus doit être motivé."
    assert 'value="Marie Lejeune"' in no_reason.text  # what was typed is kept
    assert 'value="refuse" id="refuse-{}" checked'.format(ids["L2"]) in no_reason.text
    undecided = post(driver, pickup, page, {"decision_" + str(ids["L1"]): "accept"})
    assert undecided.status_code == 422
    assert "Choisissez : accepter ou refuser." in field_error(
        undecided.text, f"decision_{ids['L2']}"
    )

    hostile = post(driver, pickup, page, {"decision_abc": "accept", "core_temperature_c": "x"})
    assert hostile.status_code == 422  # said at the top (no such field), and by the field
    assert "decision_abc : doit être un nombre entier" in seen(hostile)
    assert field_error(hostile.text, "core_temperature_c") == "⚠ doit être un nombre"

    close = post(driver, f"{page}/close", page, {})  # the drop is still ahead
    assert close.status_code == 409
    assert "Des arrêts n'ont pas encore été remis : 1, 2." in seen(close)
    assert status_of(app, ids["DA"]) == "departed"

    reason = {f"reason_{ids['L2']}": "Emballage déchiré", "core_temperature_c": "4,1"}
    done = post(driver, pickup, page, {"receiver_name": "Marie Lejeune", **choices, **reason})
    assert done.status_code == 303, done.text
    text = seen(driver.get(page))
    assert "✔ Remis à" in text and "Marie Lejeune" in text and "4,1 °C" in text
    assert "✖ refusé (Emballage déchiré)" in text
    assert "refusé à l'enlèvement : pas à bord" in text  # L2 at the drop's form
    assert 'id="close-form"' not in text
    still = post(driver, f"{page}/close", page, {})
    assert "Des arrêts n'ont pas encore été remis : 2." in seen(still)

    drop = f"{page}/stops/{ids['A_drop']}/handover"
    assert post(driver, drop, page, {"decision_" + str(ids["L1"]): "accept"}).status_code == 303
    assert 'id="close-form"' in driver.get(page).text
    closed = post(driver, f"{page}/close", page, {})
    assert closed.status_code == 303
    assert "✔ Clôturée" in driver.get(page).text
    assert status_of(app, ids["DA"]) == "closed"


def test_stops_are_handed_over_in_order_the_page_and_the_api_refuse_alike(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    """The form is only drawn at the next stop, and the rule is the domain's: a handover
    posted at a later stop is refused by the page and by the API with the same words."""
    driver, ids = browsers["driver_a"], world.ids
    page = f"/deliveries/{ids['DA']}"
    depart(driver, world)
    drop = f"{page}/stops/{ids['A_drop']}/handover"
    expected = "Les arrêts se remettent dans l'ordre : remettez d'abord l'arrêt 1 (Chambre froide)."
    by_page = post(driver, drop, page, {"decision_" + str(ids["L1"]): "accept"})
    assert by_page.status_code == 409
    assert expected in seen(by_page)
    decisions = [{"load_id": ids["L1"], "accepted": True}, {"load_id": ids["L2"], "accepted": True}]
    by_api = world["driver_a"].post(f"/api/v1{drop}", {"decisions": decisions})
    assert by_api.status_code == 409
    assert by_api.json()["error"]["code"] == "handover_out_of_order"
    assert by_api.json()["error"]["message"] == expected
    english = world["driver_a"].post(
        f"/api/v1{drop}", {"decisions": decisions}, headers={"Accept-Language": "en"}
    )
    assert english.json()["error"]["message"] == (
        "Stops are handed over in their order: hand over stop 1 (Chambre froide) first."
    )
    with app.state.sessionmaker() as session:  # nothing recorded at the drop
        stop = session.get(Stop, ids["A_drop"])
        assert stop is not None and stop.actual_at is None
    # In order, both stops are handed over.
    pickup = f"{page}/stops/{ids['A_pickup']}/handover"
    choices = {"decision_" + str(ids["L1"]): "accept", "decision_" + str(ids["L2"]): "accept"}
    assert post(driver, pickup, page, choices).status_code == 303
    assert post(driver, drop, page, choices).status_code == 303
    assert 'id="close-form"' in driver.get(page).text


def test_other_drivers_and_producers_cannot_open_or_change_it(
    app: FastAPI, world: World, browsers: dict[str, TestClient]
) -> None:
    ids = world.ids
    page = f"/deliveries/{ids['DA']}"
    zone = f"temperature_{ids['VA_frais']}"
    for user in ("driver_b", "driver_a2"):  # another cooperative's driver; not their delivery
        other = browsers[user]
        shown = other.get(page)
        assert shown.status_code == 404 and "Page introuvable." in shown.text
        assert "LOT-L1" not in shown.text
        answer = post(other, f"{page}/departure", "/deliveries", {zone: "3"})
        assert answer.status_code == 404
    producer = browsers["producer1"]  # the consignor of L1: not a delivery page for them
    shown = producer.get(page)
    assert shown.status_code == 403 and "Cette page n'est pas pour votre rôle." in seen(shown)
    assert "LOT-L1" not in shown.text
    answer = post(producer, f"{page}/departure", page, {zone: "3"})
    assert answer.status_code == 403
    forged = browsers["driver_a"].post(f"{page}/departure", data={zone: "3"})  # no CSRF token
    assert forged.status_code == 403
    assert status_of(app, ids["DA"]) == "planned"
    assert browsers["admin_a"].get(page).status_code == 200  # the cooperative's staff


def test_driver_checks_departure_and_hands_over_on_a_phone(pages: Pages) -> None:
    site = pages.site
    today = datetime.now(UTC).astimezone(BRUSSELS).date()
    delivery = plan_delivery(site.world, "admin_a", "A", "driver_a", today, "CR1", [("LP", "P1")])
    pickup, load = site.ids["A_pickup"], site.ids["LP"]
    now = datetime.now(UTC)
    site.app.state.reading_store.write(
        [Reading("van-a-1", "air", to_ms(now - timedelta(seconds=20)), 70000, 3.9)]
    )
    pages.login("driver_a")
    pages.browser.set_window_size(390, 844)  # a phone
    try:
        pages.open("/driver")
        pages.browser.find_element(By.ID, f"open-delivery-{delivery}").click()
        pages.wait_for(lambda: "Contrôle au départ" in pages.text())
        form = pages.browser.find_element(By.ID, "departure-form")
        assert "Relevé des sondes : 3,9 °C" in form.text
        pages.browser.execute_script("arguments[0].scrollIntoView()", form)
        pages.shot("delivery-departure-check-phone")
        pages.click_and_wait("depart", "En route", "#delivery-status")
        assert "3,9 °C" in pages.browser.find_element(By.ID, "departure-result").text
        pages.browser.find_element(By.ID, "receiver_name").send_keys("Jean Dubois")
        pages.browser.find_element(By.ID, f"accept-{load}").click()
        pages.click_and_wait("hand-over", "Remis à", f"#stop-{pickup}")
        stop = pages.browser.find_element(By.ID, f"stop-{pickup}")
        assert "✔ Remis à" in stop.text and "Jean Dubois" in stop.text
        assert "3,9 °C" in stop.text  # the zone's temperature taken from the readings
        pages.browser.execute_script("arguments[0].scrollIntoView()", stop)
        pages.shot("delivery-handed-over-phone")
        width = pages.browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone
    finally:
        pages.browser.set_window_size(1280, 900)
    with site.app.state.sessionmaker() as session:
        stop_row = session.get(Stop, pickup)
        assert stop_row is not None and stop_row.actual_at is not None
