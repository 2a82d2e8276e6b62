"""Each role's pages in a real headless Chromium against the real app over HTTP.

The tests run in file order on one browser and one database (module fixture): the
alert raised for the driver is then reviewed by the hygiene officer."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from coldchain import clock
from server.core.models.alerts import Alert
from tests.pages.conftest import Pages, csrf_of, page_login
from tests.support.alerts import raise_alert


def test_login_is_french_by_default_and_says_what_is_wrong(pages: Pages) -> None:
    pages.browser.delete_all_cookies()
    pages.open("/driver")
    assert pages.browser.current_url.endswith("/login")  # not signed in: to the login page
    assert pages.browser.find_element(By.TAG_NAME, "h1").text == "Connexion"
    pages.browser.find_element(By.ID, "email").send_keys("driver_a@example.be")
    pages.browser.find_element(By.ID, "password").send_keys("not the password")
    pages.click_and_wait("login", "Adresse e-mail ou mot de passe incorrect.", "#login-error")


def test_a_page_left_open_signed_out_says_so_and_does_not_spoil_the_next_login(
    pages: Pages,
) -> None:
    """In Chromium: the driver's page stays open after its cookies are gone (signed out, or
    another person's turn); its live.js asks for its parts and gets the login page. The page
    says the person is signed out (not a network problem). That answer sets no pre-session
    cookie, so the login form drawn meanwhile stays valid (it was replaced, and the login
    refused as forged: a CI run of test_admin_setup.py)."""
    pages.login("driver_a")
    pages.open("/driver")
    pages.wait_for(lambda: pages.browser.execute_script("return !!window.coldchainLive"))
    signed_in = pages.browser.get_cookies()
    pages.browser.delete_all_cookies()
    before = pages.browser.execute_script(
        "return document.getElementById('live').getAttribute('data-live-refreshed')"
    )
    pages.browser.execute_script("window.coldchainLive.refresh()")
    # Its answer (the login page) is read: the page says the person is signed out, with the
    # way back; not « connexion ? », which sent people looking for a network problem.
    signed_out = pages.browser.find_element(By.ID, "live-signed-out")
    pages.wait_for(signed_out.is_displayed)
    assert signed_out.text == (
        "⚠ Vous n'êtes plus connecté·e : ce qui est affiché n'est plus mis à jour. Se reconnecter"
    )
    assert str(signed_out.find_element(By.TAG_NAME, "a").get_attribute("href")).endswith("/login")
    assert not pages.browser.find_element(By.ID, "live-offline").is_displayed()
    names = {cookie["name"] for cookie in pages.browser.get_cookies()}
    assert "coldchain_csrf" not in names, names
    assert before == pages.browser.execute_script(
        "return document.getElementById('live').getAttribute('data-live-refreshed')"
    )
    for cookie in signed_in:  # signed in again (another tab): the next refresh says nothing
        pages.browser.add_cookie(cookie)
    pages.browser.execute_script("window.coldchainLive.refresh()")
    pages.wait_for(lambda: not signed_out.is_displayed())
    pages.login("driver_a")  # its form and cookie agree
    assert pages.browser.current_url.endswith("/driver")


def test_driver_sees_the_truck_now_on_a_phone(pages: Pages) -> None:
    pages.login("driver_a")
    assert pages.browser.current_url.endswith("/driver")
    pages.browser.set_window_size(390, 844)  # a phone
    try:
        pages.open("/driver")
        text = pages.text()
        assert "Mon camion maintenant" in text and "Fourgon 1" in text
        zone = pages.browser.find_element(By.CSS_SELECTOR, ".zone")
        assert "4,2 °C" in zone.text  # the seeded reading, French decimal comma and unit
        assert "Conforme" in zone.text and "✓" in zone.text  # status as text and icon
        assert "Limite : ≤" in zone.text  # the chilled lot on board sets the limit
        assert "Camion Lux" not in text  # cooperative B's van
        pages.shot("driver-phone")
        width = pages.browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone
    finally:
        pages.browser.set_window_size(1280, 900)


def test_driver_cannot_open_the_other_roles_pages(pages: Pages) -> None:
    pages.login("driver_a")
    for path in ("/admin", "/hygiene", "/producer"):
        pages.open(path)
        assert "Cette page n'est pas pour votre rôle." in pages.text(), path


def test_live_alert_acknowledge_and_corrective_action(pages: Pages) -> None:
    pages.login("driver_a")
    pages.open("/driver")
    pages.browser.execute_script("window.notReloaded = true")
    # 12 °C for 5 minutes then back to 2 °C: a critical excursion, over by now.
    alert_id = raise_alert(pages.site, [12.0] * 5 + [2.0] * 12, 20)
    selector = f'.alert-list li[data-alert-id="{alert_id}"]'
    pages.wait_for(lambda: pages.browser.find_elements(By.CSS_SELECTOR, selector))
    assert pages.browser.execute_script("return window.notReloaded") is True
    row = pages.browser.find_element(By.CSS_SELECTOR, selector)
    assert "✖ critique" in row.text and "✓ Excursion terminée le" in row.text
    # Over already: it is to be acted on (the list), not an alarm going on (the banner).
    assert not pages.browser.find_elements(By.CSS_SELECTOR, f'[data-live-alert="{alert_id}"]')
    pages.shot("driver-live-alert")

    pages.open("/driver")  # rendered by the server too
    assert not pages.browser.find_elements(By.CSS_SELECTOR, "#live-alerts .banner")
    pages.browser.find_element(By.CSS_SELECTOR, f"{selector} a").click()
    pages.click_and_wait("acknowledge", "prise en charge", "#alert-state")
    lots = pages.browser.find_element(By.ID, "alert-lots").text
    assert "(12,5 kg)" in lots and "Chèvrerie du Val" in lots  # the lot, French number
    # Judged 20 minutes after its readings (raise_alert): revealed late, and the page says so.
    late = pages.browser.find_element(By.ID, "detected-late").text
    assert "relevés sont arrivés après coup" in late
    pages.shot("alert-acknowledged")

    form = pages.browser.find_element(By.ID, "action-form")
    for name, value in (
        ("immediate_action", "Lots isolés, groupe froid redémarré"),
        ("product_assessment", "Contrôle sensoriel conforme"),
        ("core_temperature_c", "chaud"),  # not a number: the page must say so in French
        ("root_cause", "Porte mal fermée"),
        ("preventive_action", "Contrôle de la porte à chaque arrêt"),
        ("afsca_reason", "Température à cœur sous la limite"),
    ):
        form.find_element(By.NAME, name).send_keys(value)
    for field in form.find_elements(By.CSS_SELECTOR, "input[name^=justification_]"):
        field.send_keys("Contrôle à cœur conforme")
    for choice in form.find_elements(By.CSS_SELECTOR, "select[name^=decision_]"):
        assert choice.get_attribute("value") == ""  # a critical excursion: nothing chosen
        Select(choice).select_by_value("release")
    pages.click_and_wait("record-action", "doit être un nombre", "#form-errors")
    core = pages.browser.find_element(By.NAME, "core_temperature_c")
    core.clear()
    core.send_keys("5,4")
    # Released after a critical excursion: the core check needs its thermometer too.
    pages.click_and_wait("record-action", "thermomètre utilisé", "#form-errors")
    chosen = pages.browser.find_element(By.CSS_SELECTOR, "select[name^=decision_]")
    assert chosen.get_attribute("value") == "release"  # what was chosen is kept
    pages.browser.find_element(By.NAME, "thermometer").send_keys("TH-13485-07")
    pages.click_and_wait("record-action", "action enregistrée", "#alert-state")
    assert "Lots isolés" in pages.browser.find_element(By.ID, "action-recorded").text
    assert "5,4 °C" in pages.browser.find_element(By.ID, "core-check").text
    with pages.site.app.state.sessionmaker() as session:
        from server.core.models.alerts import Alert, CorrectiveAction

        alert = session.get(Alert, alert_id)
        assert alert is not None and alert.state == "action_recorded"
        action = session.query(CorrectiveAction).filter_by(alert_id=alert_id).one()
        assert action.core_temperature_c == 5.4 and action.thermometer == "TH-13485-07"


def test_hygiene_officer_reviews_and_closes(pages: Pages) -> None:
    pages.login("hygiene_a")
    assert pages.browser.current_url.endswith("/hygiene")
    text = pages.text()
    assert "Alertes à revoir" in text and "action enregistrée" in text
    assert "Fourgon 1" in pages.browser.find_element(By.ID, "deliveries").text
    pdf_link = pages.browser.find_element(By.PARTIAL_LINK_TEXT, "PDF (v1)")
    href = str(pdf_link.get_attribute("href"))
    session = pages.browser.get_cookie("coldchain_session")
    assert session is not None
    pdf = httpx.get(href, cookies={session["name"]: session["value"]})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    pages.browser.find_element(By.CSS_SELECTOR, ".alerts a.button").click()
    pages.browser.find_element(By.NAME, "review_note").send_keys("Revu : action suffisante")
    pages.click_and_wait("close", "clôturée", "#alert-state")
    # Cooperative B's hygiene officer sees nothing of it.
    pages.login("hygiene_b")
    assert "Aucune alerte." in pages.text()
    deliveries = pages.browser.find_element(By.ID, "deliveries").text
    assert "Driver B" in deliveries and "Driver A" not in deliveries  # A's deliveries


def test_producer_sees_own_rooms_with_charts_only(pages: Pages) -> None:
    pages.login("producer1")
    assert pages.browser.current_url.endswith("/producer")
    text = pages.text()
    assert "Chambre froide chèvrerie" in text
    assert "Chambre froide ferme" not in text  # producer 3's room
    room = pages.browser.find_element(By.CSS_SELECTOR, ".room").text
    assert "3,1 °C" in room and "Conforme" in room and "Limite : ≤ 7,0 °C" in room
    charts = pages.browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 2  # 24 h and 7 days
    assert charts[1].find_elements(By.CSS_SELECTOR, "polyline.series")
    assert charts[1].find_elements(By.CSS_SELECTOR, "line.limit")
    pages.shot("producer")
    pages.open("/driver")
    assert "Cette page n'est pas pour votre rôle." in pages.text()


def test_admin_lists_only_own_cooperative(pages: Pages) -> None:
    pages.login("admin_a")
    assert pages.browser.current_url.endswith("/admin")
    vans = pages.browser.find_element(By.ID, "vans").text
    assert "Fourgon 1" in vans and "frais" in vans and "Camion Lux" not in vans
    assert "van-a-1" in pages.browser.find_element(By.ID, "probes").text
    users = pages.browser.find_element(By.ID, "users").text
    assert "hygiene_a@example.be" in users and "hygiene_b@example.be" not in users


def test_english_on_switch_and_by_accept_language(pages: Pages) -> None:
    pages.login("driver_a")
    pages.browser.find_element(By.ID, "lang-en").click()
    pages.wait_for(lambda: "My truck now" in pages.text())
    assert "Within limit" in pages.text() and "4.2 °C" in pages.text()
    pages.browser.find_element(By.ID, "lang-fr").click()
    pages.wait_for(lambda: "Mon camion maintenant" in pages.text())
    page = httpx.get(f"{pages.url}/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "<h1>Log in</h1>" in page.text and 'lang="en"' in page.text


def test_logout_ends_the_session(pages: Pages) -> None:
    pages.login("driver_a")
    pages.browser.find_element(By.ID, "logout").click()
    pages.wait_for(lambda: pages.browser.current_url.endswith("/login"))
    pages.open("/driver")
    assert pages.browser.current_url.endswith("/login")


def signed_in(pages: Pages, user: str) -> httpx.Client:
    """An HTTP client with the session cookie of the pages' own login form."""
    client = httpx.Client(base_url=pages.url, timeout=10)
    pages.clients.append(client)  # closed with the module's fixture
    assert page_login(client, user).status_code == 303
    return client


def latest_alert(pages: Pages) -> int:
    with pages.site.app.state.sessionmaker() as session:
        return int(session.scalar(select(func.max(Alert.id))) or 0)


def test_hostile_and_foreign_requests_get_clear_french_pages(pages: Pages) -> None:
    anonymous = httpx.Client(base_url=pages.url, timeout=10)
    pages.clients.append(anonymous)
    token = csrf_of(anonymous.get("/login").text)
    huge = {"email": "x" * 100_000 + "@example.be", "password": "y", "csrf": token}
    refused = anonymous.post("/login", data=huge)
    assert refused.status_code == 422 and "Adresse e-mail" in refused.text
    assert "<h1>Connexion</h1>" in refused.text
    empty = anonymous.post("/login", data={"csrf": token})
    assert empty.status_code == 422 and "Mot de passe" in empty.text
    assert httpx.get(f"{pages.url}/hygiene").headers["location"] == "/login"

    alert_id = latest_alert(pages)
    other_coop = signed_in(pages, "driver_b")
    page = other_coop.get(f"/alerts/{alert_id}")
    assert page.status_code == 404 and "Page introuvable." in page.text  # like missing
    assert other_coop.get("/alerts/999999").status_code == 404
    token_b = csrf_of(other_coop.get("/driver").text)
    ack = other_coop.post(f"/alerts/{alert_id}/acknowledge", data={"note": "x", "csrf": token_b})
    assert ack.status_code == 404
    assert "Aucune livraison à conduire" in other_coop.get("/driver").text
    back = other_coop.get("/lang/en", headers={"referer": "https://evil.example/"})
    assert back.headers["location"] == "/"  # never sent off-site
    driver = signed_in(pages, "driver_a")
    token_a = csrf_of(driver.get("/driver").text)
    closing = driver.post(f"/alerts/{alert_id}/close", data={"review_note": "vu", "csrf": token_a})
    assert closing.status_code in (403, 409) and "Le formulaire contient des erreurs" in (
        closing.text
    )
    long_note = driver.post(
        f"/alerts/{alert_id}/acknowledge", data={"note": "n" * 4500, "csrf": token_a}
    )
    assert long_note.status_code == 422 and "trop long" in long_note.text


def test_too_many_attempts_message(pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    """Last: it uses up failures of this client address (the server's rate limit)."""
    now = clock.now_s()
    monkeypatch.setattr(clock, "now_s", lambda: now)  # the 1 s wait cannot pass meanwhile
    pages.browser.delete_all_cookies()
    pages.open("/login")
    for attempt in range(6):  # after 5 failures the account waits 1 s
        pages.browser.find_element(By.ID, "email").clear()
        pages.browser.find_element(By.ID, "email").send_keys("nobody@example.be")
        pages.browser.find_element(By.ID, "password").send_keys("wrong")
        expected = "Réessayez dans 1 s" if attempt == 5 else "incorrect"
        pages.click_and_wait("login", expected, "#login-error")
