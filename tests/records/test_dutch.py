"""Dutch end to end: a user chooses Dutch with the pages' switch and keeps it at their next
login; their pages, an alert's text (made from the stored engine event) and the documents
exported for an FAVV inspector read in Dutch (server/locale/nl, docs/translating.md)."""

from __future__ import annotations

import csv
import io
import zipfile

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from server.core.models import User
from tests.pages.conftest import page_login
from tests.records.support import cold_room_day, frais_alert, sealed_delivery
from tests.records.test_inspection import PERIOD
from tests.support.dutch import DUTCH_TEXT, EVENT


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_dutch_user_reads_pages_alerts_and_documents_in_dutch(world, app, reading_store) -> None:
    ids = world.ids
    with app.state.sessionmaker() as session:
        alert = frais_alert(ids, "exc-nl-1")
        alert.record = EVENT
        session.add(alert)
        session.commit()
        alert_id = alert.id
    record = sealed_delivery(world, reading_store)
    cold_room_day(reading_store, usual=4.0, warm=9.0)

    # The switch: the choice is stored with the user, and their next login brings it back.
    with TestClient(app) as first:
        assert page_login(first, "hygiene_a").status_code == 303
        assert first.get("/lang/nl", follow_redirects=False).status_code == 303
    with app.state.sessionmaker() as session:
        chosen = session.scalar(select(User.language).where(User.email == "hygiene_a@example.be"))
    assert chosen == "nl"
    with TestClient(app) as browser:
        assert page_login(browser, "hygiene_a").status_code == 303
        assert browser.cookies.get("coldchain_lang") == "nl"
        form = browser.get("/inspection").text
        assert '<html lang="nl">' in form and "<strong>NL</strong>" in form
        assert "Export voor inspectie (FAVV)" in form and "Taal van de documenten" in form
        assert '<option value="nl" selected>Nederlands</option>' in form
        page = browser.get(f"/alerts/{alert_id}").text
        assert DUTCH_TEXT in page and "✓ Overschrijding beëindigd op 10/03/2026 08:10" in page
        # The pages' link to the sealed record: the PDF in the page's language.
        linked = pdf_text(browser.get(f"/api/v1/records/{record['id']}/pdf").content)
        assert "HACCP-registratie — levering nr." in linked
        browser.cookies.set("coldchain_lang", "fr")  # the stored French text is unchanged
        assert "Zone frais : 6,5 °C pendant 10 min" in browser.get(f"/alerts/{alert_id}").text

    # A sealed record's PDF, asked in Dutch.
    officer = world["hygiene_a"]
    answer = officer.get(f"/api/v1/records/{record['id']}/pdf?lang=nl")
    assert answer.status_code == 200
    delivery = pdf_text(answer.content)
    assert "HACCP-registratie — levering nr." in delivery
    assert "Temperaturen en oordeel per lot" in delivery and "Vertrekcontrole" in delivery

    # The inspection export for an FAVV inspector: its documents and CSV values in Dutch.
    body = {**PERIOD, "van_ids": [ids["VA"]], "cold_room_ids": [ids["CR1"]], "lang": "nl"}
    response = officer.client.post(
        "/api/v1/records/inspection-export", json=body, headers=officer.headers
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    readme = archive.read("LISEZMOI.txt").decode()
    assert "FAVV-inspectie-export" in readme and "alle waarden zijn in het Nederlands" in readme
    alerts = list(
        csv.reader(
            io.StringIO(archive.read("alertes_et_actions_correctives.csv").decode("utf-8-sig")),
            delimiter=";",
        )
    )
    row = next(r for r in alerts[1:] if "Zone frais" in r[9])
    assert row[3:6] == ["temperatuuroverschrijding", "waarschuwing", "afgesloten"]
    assert row[7] == "lucht"
    plan = pdf_text(archive.read("plan_haccp.pdf"))
    assert "HACCP-plan — gekoeld vervoer en gekoelde opslag" in plan and "Gehakt vlees" in plan
    room = pdf_text(archive.read(f"emplacements/chambre-froide-{ids['CR1']}/resume.pdf"))
    assert "Temperatuurmetingen — Koelcel" in room and "9,0 °C" in room
    sealed = pdf_text(archive.read(f"enregistrements/livraison-{ids['DA']}-v1.pdf"))
    assert "Alarmen en corrigerende maatregelen" in sealed
    assert "Diepvriesproducten" in plan and "Gecontroleerd op" in plan  # names, register columns
    assert "Diepvriesproducten" in sealed and "Openbare controle, zonder aanmelding" in sealed
    # The documents' own words are Dutch; only what the data and the legal sources say stays
    # as written (a room named « Chambre froide chèvrerie », a French legal citation).
    for french in ("Denrées surgelées", "Vérifiée le", "Chargements", "Vérification publique"):
        assert french not in plan + room + sealed, french
