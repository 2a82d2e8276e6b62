"""Dutch end to end: a user chooses Dutch with the pages' switch and keeps it at their next
login; their pages, an alert's text (made from the stored engine event) and the documents
exported for an FAVV inspector read in Dutch (server/locale/nl, docs/translating.md): every
word of ours, the sentences a record seals in French included (made again from the facts
sealed with them, docs/records.md « Sealed words and their facts »)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from alerts import texts as engine_texts
from server.core import catalogue
from server.core.errors import message, phrase
from server.core.models import User
from server.core.models.alerts import CorrectiveAction
from server.core.models.records import SealedRecord
from server.domain import categories
from server.records import alerts_log, canonical, changes, verdict, vocabulary
from server.records.document import FORMAT_1, iso
from server.records.export_jobs import JobView
from server.records.sealing import chain_head
from server.records.wording import Words
from tests.pages.conftest import page_login
from tests.records.support import (
    EXCURSION,
    cold_room_day,
    frais_alert,
    sealed_delivery,
    store_action,
    store_alert,
)
from tests.records.test_inspection import PERIOD
from tests.support.dutch import DUTCH_TEXT, EVENT, french_words_in

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)
# The French the engine stores for EVENT (what the alert worker writes as its text_fr).
NAMES = {lang: categories.name("minced_meat", lang) for lang in catalogue.LANGUAGES}
FRENCH_TEXT = engine_texts.text(engine_texts.facts_of_event(EVENT, NAMES), "fr")

# What may say them, and why (removed from a text before it is searched):
PROFILES = categories.profiles().values()
ALLOWED = (
    # Data the world typed (tests/server/world.py): the names of a producer and of places.
    "Chèvrerie du Val",
    "Épicerie du coin",
    "Place du Marché",
    # The file names of the inspection ZIP, which LISEZMOI.txt lists: identifiers, stable in
    # every language like the CSV column names (docs/translating.md).
    "alertes_et_actions_correctives.csv",
    "enregistrements/",
    "livraison-",
    "LISEZMOI.txt",
    # The legal citations, as published (alerts/profiles.toml `source`): on the limits.
    *(profile.source.cite() for profile in PROFILES),
)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_a_dutch_user_reads_pages_alerts_and_documents_in_dutch(world, app, reading_store) -> None:
    ids = world.ids
    with app.state.sessionmaker() as session:
        # Stored as the alert worker stores it (its French text, its engine event), about lot
        # L2 (producer P2), with a corrective action typed in Dutch by a Dutch officer.
        alert = frais_alert(ids, "exc-nl-1", text_fr=FRENCH_TEXT)
        alert.record = EVENT
        store_alert(session, ids, alert, [("L2", "P2")])
        alert_id = alert.id
        action = CorrectiveAction(
            alert_id=alert_id,
            recorded_by_id=world.user_ids["hygiene_a"],
            immediate_action="Deur gesloten, koelgroep nagekeken",
            action_at=EXCURSION[1],
            core_temperature_c=5.8,
            thermometer="Testo 104",
            product_assessment="Product 5,8 °C in de kern",
            root_cause="Deur slecht gesloten",
            preventive_action="Chauffeurs herinnerd",
            afsca_notified=False,
            afsca_reason="Geen gezondheidsrisico",
        )
        store_action(session, ids, action, [("L2", "release", "kern 5,8 °C")])
        session.commit()
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
        assert FRENCH_TEXT in browser.get(f"/alerts/{alert_id}").text

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

    # The sealed sentences: French made again from the sealed facts is the sealed French,
    # byte for byte (so the French PDF is unchanged); in Dutch, made from the same facts.
    doc = json.loads(officer.ok("GET", f"/api/v1/records/{record['id']}/json")["document"])
    assert {load["verdict"]["code"] for load in doc["loads"]} == {
        verdict.CONFORME,
        verdict.TOLERE,
        verdict.NON_CONFORME,
    }
    for load in doc["loads"]:
        assert verdict.decide(load["stats"], load["limit"], Words()) == (
            load["verdict"]["code"],
            load["verdict"]["rule_fr"],
        )
        assert verdict.source_in(load["limit"], Words()) == load["limit"]["source_fr"]
    (sealed_alert,) = doc["alerts"]
    assert sealed_alert["text_fr"] == FRENCH_TEXT and sealed_alert["text_facts"]
    assert alerts_log.text(sealed_alert, Words("nl")) == DUTCH_TEXT
    assert doc["format"] == "coldchain-haccp-record/2" and doc["change_facts"] == []

    # Every word of ours in the Dutch documents is Dutch: the sealed record, the producer's
    # extract (P2: L2 tolerated, LOT-HACHE non conforme, the alert with its action), the
    # location summary, and every PDF, CSV and LISEZMOI.txt of the inspection ZIP.
    extract = world["producer2"].get(
        f"/api/v1/records/{record['id']}/producer-extract", params={"format": "pdf", "lang": "nl"}
    )
    assert extract.status_code == 200, extract.text
    documents = {"record": delivery, "extract": pdf_text(extract.content)}
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".pdf"):
            documents[name] = pdf_text(data)
        elif name.endswith(".csv"):  # its first row: the column names, identifiers
            documents[name] = "\n".join(data.decode("utf-8-sig").splitlines()[1:])
        elif name.endswith(".txt"):
            documents[name] = data.decode()
    said = {name: re.sub(r"\s+", " ", text) for name, text in documents.items()}
    assert DUTCH_TEXT in said["extract"] and DUTCH_TEXT in said["record"]
    assert "onder de kritieke termijn van 15 min" in said["record"]  # L1, L2: tolerated
    assert "overschreden" in said["record"]  # LOT-HACHE: the critical delay exceeded
    assert "Ter controle vraagt de inspecteur" in said["extract"]
    found = {name: french_words(text) for name, text in documents.items()}
    assert not any(found.values()), {name: words for name, words in found.items() if words}


def french_words(text: str) -> list[str]:
    return french_words_in(text, ALLOWED)


def test_a_record_sealed_before_the_facts_verifies_and_reads_in_dutch_with_a_note(
    world, app, reading_store
) -> None:
    """A record of the first format (no alert facts, no change facts) is never rewritten:
    it verifies, reads in Dutch with its sealed French alert text and changes marked as
    sealed, and sealing again does not give a new version for the new keys alone."""
    ids = world.ids
    with app.state.sessionmaker() as session:
        alert = frais_alert(ids, "exc-old-1", text_fr=FRENCH_TEXT)
        alert.record = EVENT
        session.add(alert)
        session.commit()
    record = sealed_delivery(world, reading_store)
    with app.state.sessionmaker() as session:
        first = session.get(SealedRecord, record["id"])
        assert first is not None
        doc = json.loads(first.document)
        # Its content as the code before the facts sealed it, as a version 2.
        sealed_at = first.sealed_at + timedelta(minutes=1)
        sequence, previous = chain_head(session, ids["A"])
        old = {key: value for key, value in doc.items() if key != "change_facts"}
        old |= {
            "format": FORMAT_1,
            "alerts": [{k: v for k, v in a.items() if k != "text_facts"} for a in doc["alerts"]],
            "version": 2,
            "sequence": sequence + 1,
            "sealed_at": iso(sealed_at),
            "changes": ["Contenu modifié."],
            "supersedes": first.record_hash,
        }
        text = canonical.dumps(old)
        session.add(
            SealedRecord(
                cooperative_id=ids["A"],
                sequence=sequence + 1,
                delivery_id=ids["DA"],
                version=2,
                sealed_at=sealed_at,
                previous_hash=previous,
                record_hash=canonical.record_hash(previous, text),
                document=text,
            )
        )
        session.commit()
    officer = world["hygiene_a"]
    report = officer.ok("GET", "/api/v1/records/verify", params={"cooperative_id": ids["A"]})
    assert report["ok"] is True and report["checked"] == 2
    # Nothing changed but the format: no version 3.
    again = officer.ok("POST", f"/api/v1/records/deliveries/{ids['DA']}/seal", status=200)
    assert again["version"] == 2
    old_id = again["id"]
    note = Words("nl")("pdf_sealed_wording")
    dutch = pdf_text(officer.get(f"/api/v1/records/{old_id}/pdf?lang=nl").content)
    flat = re.sub(r"\s+", " ", dutch)
    assert f"{FRENCH_TEXT} {note}" in flat, flat
    assert f"Contenu modifié. {note}" in flat
    assert "onder de kritieke termijn van 15 min" in flat  # the verdicts: from the figures
    french = pdf_text(officer.get(f"/api/v1/records/{old_id}/pdf?lang=fr").content)
    assert note not in french and "texte tel que" not in french
    assert french_words(french)  # the detector finds the French of a French document
    assert changes.in_language(old, Words("nl")) == [f"Contenu modifié. {note}"]


def test_a_failed_exports_reason_reads_in_dutch() -> None:
    """A job stores its reason in every language; one that failed before migration 0011 has
    French and English, and a Dutch reader still gets our sentences in Dutch
    (server/records/export_jobs.py `JobView.reason`)."""
    said = {lang: vocabulary.words(lang)["job_interrupted"] for lang in catalogue.LANGUAGES}
    older = {"fr": said["fr"], "en": said["en"]}
    job = JobView(1, 1, "x.zip", "failed", 0.5, older, NOW, NOW, None, None)
    assert [job.reason(lang) for lang in catalogue.LANGUAGES] == list(said.values())
    assert said["nl"] != said["fr"]
    # A refusal with parameters: stored in every language, read in each.
    refused = {lang: message("validation_error", lang, {"detail": phrase("period_too_long_days",
               days=31)}) for lang in catalogue.LANGUAGES}  # fmt: skip
    job = JobView(1, 1, "x.zip", "failed", 0.5, refused, NOW, NOW, None, None)
    assert "31" in job.reason("nl") and job.reason("nl") != job.reason("fr")
