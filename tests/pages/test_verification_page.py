"""The public verification page (server/pages/verification_pages.py) in a real Chromium,
signed in as nobody, on the pages' world (tests/pages/conftest.py): delivery DA of 10 March
is closed and sealed (version 1; LOT-L1 and LOT-L2 at 3,5 °C: conforme).

In this order (the module shares one site): the genuine record by its QR address and by
the typed code; late readings seal version 2, and version 1 says it is superseded and links
to version 2; one byte of version 2's stored document changed in the database, and the page
says the record was altered; an unknown code, malformed or not, gets one and the same page;
then the per-address limit answers 429 with a French message."""

from __future__ import annotations

from datetime import timedelta

import httpx
from selenium.webdriver.common.by import By
from sqlalchemy import delete, select, update

from coldchain.protocol import Reading
from server.core.models import FailedLogin
from server.core.models.records import SealedRecord
from server.domain.place_readings import to_ms
from server.domain.sessions import RECORD_CHECK
from server.records import verification
from tests.pages.conftest import Pages
from tests.server.world import D1, brussels

INTACT = "Enregistrement authentique : il est intact et c'est la dernière version."
SUPERSEDED = "Enregistrement authentique, mais remplacé"
ALTERED = "Enregistrement modifié : son contenu ne correspond plus à son empreinte scellée."
UNKNOWN = "Aucun enregistrement ne correspond à ce code."
LIMITED = "Trop de vérifications depuis votre adresse. Réessayez dans quelques minutes."


def versions(pages: Pages) -> list[SealedRecord]:
    with pages.site.app.state.sessionmaker() as session:
        found = session.scalars(
            select(SealedRecord)
            .where(SealedRecord.delivery_id == pages.site.ids["DA"])
            .order_by(SealedRecord.version)
        ).all()
        session.expunge_all()
        return list(found)


def anonymous(pages: Pages) -> httpx.Client:
    client = httpx.Client(base_url=pages.url, timeout=30)
    pages.clients.append(client)
    return client


def forget_checks(pages: Pages) -> None:
    """Start the rate limit's window afresh for this address."""
    with pages.site.app.state.sessionmaker() as session:
        session.execute(delete(FailedLogin).where(FailedLogin.email == RECORD_CHECK))
        session.commit()


def test_a_genuine_record_by_its_qr_code_and_by_its_typed_code(pages: Pages) -> None:
    forget_checks(pages)
    (first,) = versions(pages)
    code = verification.short_code(first.record_hash)
    pages.browser.delete_all_cookies()  # nobody signed in
    pages.open(f"/v/{code}")
    pages.wait_for(lambda: INTACT in pages.text())
    text = pages.text()
    assert "Coopérative de Liège" in text and "10/03/2026" in text
    assert first.record_hash in text and verification.grouped(code) in text
    rows = pages.browser.find_elements(By.CSS_SELECTOR, "#check-lots tbody tr")
    lots = {r.get_attribute("data-lot"): r.text for r in rows}
    assert set(lots) == {"LOT-L1", "LOT-L2"} and all("Conforme" in t for t in lots.values())
    # Nothing private: no temperature, no person, no customer.
    assert "°C" not in text and "Chauffeur" not in text and "Mme" not in text
    assert pages.browser.find_element(By.ID, "check-state").get_attribute("class") == (
        "status status-ok"
    )
    pages.shot("verification-genuine")
    # Typed by hand on the form, in lower case with spaces.
    pages.open("/verification")
    field = pages.browser.find_element(By.ID, "check-code-input")
    field.send_keys(verification.grouped(code).lower().replace("-", " "))
    pages.click_and_wait("check-submit", INTACT)
    response = anonymous(pages).get(f"/v/{code}")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "noindex" in response.headers["x-robots-tag"]


def test_a_superseded_version_says_so_and_leads_to_the_newest(pages: Pages) -> None:
    site = pages.site
    # Readings of the delivery that arrive late (between the ones sealed): version 2.
    late = brussels(D1, 6, 47)
    site.app.state.reading_store.write(
        Reading("van-a-1", "air", to_ms(late + timedelta(minutes=m)), 40_000 + m, 3.6)
        for m in range(0, 200, 5)
    )
    sealed = site.world["hygiene_a"].post(f"/api/v1/records/deliveries/{site.ids['DA']}/seal")
    assert sealed.status_code == 201, sealed.text
    first, second = versions(pages)
    pages.open(f"/v/{verification.short_code(first.record_hash)}")
    pages.wait_for(lambda: SUPERSEDED in pages.text())
    assert "version 2" in pages.text()
    assert pages.browser.find_element(By.ID, "check-version").text == "1"
    pages.shot("verification-superseded")
    pages.click_and_wait("check-newer", INTACT)
    assert pages.browser.find_element(By.ID, "check-version").text == "2"
    assert second.record_hash in pages.text()


def test_a_tampered_record_says_it_was_altered(pages: Pages) -> None:
    newest = versions(pages)[-1]
    document = newest.document
    at = document.index('"LOT-L1"') + 5  # one byte: LOT-L1 becomes LOT-M1
    tampered = document[:at] + chr(ord(document[at]) + 1) + document[at + 1 :]
    assert len(tampered) == len(document) and tampered != document
    with pages.site.app.state.sessionmaker() as session:  # straight SQL, past the ORM's guard
        session.execute(
            update(SealedRecord).where(SealedRecord.id == newest.id).values(document=tampered)
        )
        session.commit()
    pages.open(f"/v/{verification.short_code(newest.record_hash)}")
    pages.wait_for(lambda: ALTERED in pages.text())
    text = pages.text()
    assert "LOT-M1" not in text and "LOT-L1" not in text  # nothing of it is shown
    assert newest.record_hash in text
    assert pages.browser.find_element(By.ID, "check-state").get_attribute("class") == (
        "status status-over"
    )
    pages.shot("verification-altered")


def test_an_unknown_code_gets_the_same_page_whatever_the_reason(pages: Pages) -> None:
    forget_checks(pages)
    real = verification.short_code(versions(pages)[0].record_hash)
    near = real[:-1] + ("A" if real[-1] != "A" else "B")  # well formed, no such record
    client = anonymous(pages)
    bodies = set()
    for code in (near, "AAAAAAAAAAAAAAAA", "not-a-code", "x" * 300, "ABCD-EFGH"):
        response = client.get(f"/v/{code}")
        assert response.status_code == 404
        bodies.add(response.text)
        typed = client.get("/verification", params={"code": code})
        assert typed.status_code == 404
        bodies.add(typed.text)
    assert len(bodies) == 1  # nothing tells a malformed code from a missing record
    pages.open(f"/v/{near}")
    pages.wait_for(lambda: UNKNOWN in pages.text())
    pages.shot("verification-unknown")


def test_too_many_checks_from_one_address_get_429_in_french(pages: Pages) -> None:
    settings = pages.site.app.state.settings.server
    allowed = 4
    settings.record_checks_per_ip = allowed  # the live server reads its settings per request
    try:
        forget_checks(pages)
        code = verification.short_code(versions(pages)[0].record_hash)
        for _ in range(allowed):
            pages.open(f"/v/{code}")
            pages.wait_for(lambda: SUPERSEDED in pages.text())
        pages.open(f"/v/{code}")
        pages.wait_for(lambda: LIMITED in pages.text())
        assert pages.browser.find_elements(By.ID, "check-result") == []  # nothing else said
        pages.shot("verification-limited")
        response = anonymous(pages).get(f"/v/{code}")
        assert response.status_code == 429 and LIMITED in response.text
        # The login's own allowance is untouched by the checks (one limiter, two counts).
        wrong = {"email": "hygiene_a@example.be", "password": "not the password"}
        assert anonymous(pages).post("/api/v1/auth/login", json=wrong).status_code == 401
    finally:
        settings.record_checks_per_ip = 30
        forget_checks(pages)
