"""The producer's « Mes lots » page (server/pages/lot_pages.py) on the pages' world
(tests/pages/conftest.py): delivery DA of 10 March, closed and sealed, carried LOT-L1 of
producer P1 and LOT-L2 of producer P2 (3,5 °C all along: conforme); today's delivery DT
is on the road with LOT-LT of P1 on board (the van reads 4,2 °C)."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
from pypdf import PdfReader
from selenium.webdriver.common.by import By

from coldchain.protocol import Reading
from server.core.models.records import SealedRecord
from tests.pages.conftest import Pages, page_login


def signed_in(pages: Pages, user: str, **options: object) -> httpx.Client:
    client = httpx.Client(base_url=pages.url, timeout=30, **options)  # type: ignore[arg-type]
    pages.clients.append(client)
    assert page_login(client, user).status_code == 303
    return client


def row(html: str, lot: str) -> str:
    found = re.search(rf'<tr data-lot="{lot}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row for {lot}"
    return re.sub(r"\s+", " ", found.group(1))


def test_producer_sees_own_lots_sealed_and_in_progress(pages: Pages) -> None:
    # Before LOT-LT's pickup (30 min ago) the van is not the producer's: never shown.
    before = datetime.now(UTC) - timedelta(minutes=33)
    pages.site.app.state.reading_store.write(
        [Reading("van-a-1", "air", int(before.timestamp() * 1000), 7000, 9.9)]
    )
    producer = signed_in(pages, "producer1")
    assert 'href="/lots"' in producer.get("/producer").text  # linked from the home page
    page = producer.get("/lots")
    assert page.status_code == 200 and "<h1>Mes lots</h1>" in page.text
    html = page.text
    # Newest first: today's delivery before 10 March.
    assert html.index('data-lot="LOT-LT"') < html.index('data-lot="LOT-L1"')
    sealed = row(html, "LOT-L1")
    assert "Conforme" in sealed and "✓" in sealed and 'data-verdict="conforme"' in sealed
    assert "3,5 °C / 3,5 °C / 3,5 °C" in sealed and "0 min" in sealed and "≤ 6,0 °C" in sealed
    assert "07:05 – 10:05" in sealed  # the handovers, in Brussels time (stored UTC)
    live = row(html, "LOT-LT")
    assert "En cours" in live and "à bord depuis" in live
    assert "4,2 °C / 4,2 °C / 4,2 °C" in live and "9,9" not in live
    assert "Registre scellé, version 1" in html and "livraison pas encore clôturée" in html
    record = pages.site.world["hygiene_a"].ok(
        "GET", f"/api/v1/records/deliveries/{pages.site.ids['DA']}"
    )[-1]
    pdf_url = (
        f"/api/v1/records/{record['id']}/producer-extract.pdf?producer_id={pages.site.ids['P1']}"
    )
    assert pdf_url.replace("&", "&amp;") in html or pdf_url in html
    # The verdict's rule: in French as sealed, word for word.
    with pages.site.app.state.sessionmaker() as session:
        document = json.loads(session.get_one(SealedRecord, record["id"]).document)
    sealed_rule = next(
        load["verdict"]["rule_fr"]
        for load in document["loads"]
        if load["lot_reference"] == "LOT-L1"
    )
    assert sealed_rule in unescape(sealed)
    # Nothing of producer P2's lot on the same delivery.
    assert "LOT-L2" not in html and "Boucherie Dupont" not in html


def test_other_producer_and_other_roles(pages: Pages) -> None:
    other = signed_in(pages, "producer2").get("/lots").text
    assert 'data-lot="LOT-L2"' in other
    assert "LOT-L1" not in other and "LOT-LT" not in other
    planned = signed_in(pages, "producer3").get("/lots").text
    assert "pas encore chargé" in row(planned, "LOT-L3")  # delivery DB: planned only
    driver = signed_in(pages, "driver_a").get("/lots")
    assert driver.status_code == 403 and "pas pour votre rôle" in driver.text
    anonymous = httpx.get(pages.url + "/lots", follow_redirects=False, timeout=30)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    producer = signed_in(pages, "producer1")
    odd = producer.get("/lots", params={"page": "abc"})
    assert odd.status_code == 200 and 'data-lot="LOT-L1"' in odd.text  # the first page
    empty = producer.get("/lots", params={"page": "2"})
    assert empty.status_code == 200 and "data-lot" not in empty.text
    assert 'id="lots-newer"' in empty.text
    english = signed_in(pages, "producer1", headers={"Accept-Language": "en"}).get("/lots")
    assert "<h1>My lots</h1>" in english.text and "Compliant" in english.text
    assert "every reading" in row(english.text, "LOT-L1")  # the rule in the page's language
    assert "toutes les mesures" not in english.text


def test_producer_opens_my_lots_and_downloads_the_extract(pages: Pages) -> None:
    pages.login("producer1")
    pages.browser.find_element(By.ID, "my-lots-link").click()
    pages.wait_for(lambda: pages.browser.find_elements(By.CSS_SELECTOR, "table.lots"))
    text = pages.text()
    assert "Mes lots" in text and "LOT-L1" in text and "Conforme" in text
    assert "En cours" in text and "LOT-L2" not in text
    pages.shot("producer-lots")
    link = pages.browser.find_element(By.CSS_SELECTOR, "a.extract-pdf")
    cookie = pages.browser.get_cookie("coldchain_session")
    assert cookie is not None
    answer = httpx.get(
        str(link.get_attribute("href")), cookies={cookie["name"]: cookie["value"]}, timeout=30
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(answer.content))
    flat = re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in reader.pages))
    assert "Extrait producteur" in flat and "LOT-L1" in flat and "CONFORME" in flat
    assert "LOT-L2" not in flat and "Boucherie Dupont" not in flat
