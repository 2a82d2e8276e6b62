"""The API's refusals in the caller's language (the pages' choice, else Accept-Language, server/
core/languages.py): the error code and status
stay, the message and its reason (a `detail` message of the `api` catalogue, server/core/
errors.py `Phrase`) are Dutch for a Dutch caller, French for a French one, English for an
English one — a delivery rule, a corrective action refused by the alert's state or by its
lots, a producer's extract that needs the producer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from server.core.models import User
from tests.records.support import frais_alert, store_alert
from tests.server.world import PASSWORD, As, World, run_delivery_a

LANGS = ("fr", "nl", "en")


def said(by: As, method: str, url: str, body: Any = None) -> dict[str, dict[str, Any]]:
    """The error body of the same request asked in each language."""
    answers = {}
    for lang in LANGS:
        headers = {"Accept-Language": lang}
        if method == "GET":
            response = by.get(url, headers=headers)
        else:
            response = by.post(url, body, headers=headers)
        answers[lang] = {"status": response.status_code, **response.json()["error"]}
    return answers


def messages(answers: dict[str, dict[str, Any]], status: int, code: str) -> dict[str, str]:
    assert {(a["status"], a["code"]) for a in answers.values()} == {(status, code)}, answers
    return {lang: answer["message"] for lang, answer in answers.items()}


def action(lot_decisions: list[dict[str, Any]], core: float | None = None) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "immediate_action": "Lots isolés",
        "action_at": now,
        "product_assessment": "Contrôle sensoriel",
        "core_temperature_c": core,
        "core_measured_at": now if core is not None else None,
        "thermometer": "TH-07" if core is not None else None,
        "lot_decisions": lot_decisions,
        "root_cause": "Porte mal fermée",
        "preventive_action": "Contrôle de la porte",
        "afsca_notified": False,
        "afsca_reason": "Pas de danger",
    }


def test_refusals_speak_the_callers_language(app: FastAPI, world: World) -> None:
    ids = world.ids
    # A delivery rule: the driver named is not one of the cooperative's drivers.
    planned = {
        "cooperative_id": ids["A"],
        "van_id": ids["VA"],
        "driver_id": world.user_ids["hygiene_a"],
        "day": "2026-03-12",
    }
    got = messages(
        said(world["admin_a"], "POST", "/api/v1/deliveries", planned), 422, "validation_error"
    )
    assert got == {
        "fr": "Données invalides : driver_id : pas un chauffeur de la coopérative",
        "nl": "Ongeldige gegevens: driver_id: geen chauffeur van de coöperatie",
        "en": "Invalid data: driver_id: not a driver of the cooperative",
    }

    # Corrective actions: an alert already closed (409), an open one whose lot is not
    # decided (422), a critical one whose lot may not be released at 15 °C at the core.
    with app.state.sessionmaker() as session:
        closed = frais_alert(ids, "closed-1")
        store_alert(session, ids, closed)
        undecided = frais_alert(ids, "open-1", state="open", engine_status="closed")
        store_alert(session, ids, undecided, [("L1", "P1")])
        critical = frais_alert(
            ids, "open-2", state="open", engine_status="closed", severity="critical"
        )
        store_alert(session, ids, critical, [("L1", "P1")])
        session.commit()
        alert_ids = closed.id, undecided.id, critical.id
    officer = world["hygiene_a"]
    url = "/api/v1/alerts/{}/corrective-action"
    got = messages(said(officer, "POST", url.format(alert_ids[0]), action([])), 409, "alert_state")
    # The state by its name, as the pages name it (not its code « closed »).
    assert (
        got["fr"] == "L'alerte est « clôturée » : impossible de enregistrer une action corrective."
    )
    assert (
        got["nl"]
        == "Het alarm is „afgesloten”: een corrigerende maatregel registreren is onmogelijk."
    )
    assert got["en"] == "The alert is 'closed': cannot record a corrective action."
    got = messages(
        said(officer, "POST", url.format(alert_ids[1]), action([])), 422, "lot_decisions_invalid"
    )
    lot = ids["L1"]
    assert got["fr"] == f"Décisions par lot invalides : décision manquante : [{lot}]"
    assert got["nl"] == f"Ongeldige beslissingen per lot: ontbrekende beslissing: [{lot}]"
    assert got["en"].endswith(f"decision missing: [{lot}]")
    release = [{"load_id": lot, "decision": "release", "justification": "Contrôlé"}]
    got = messages(
        said(officer, "POST", url.format(alert_ids[2]), action(release, 15.0)),
        422,
        "release_core_beyond",
    )
    assert "lot LOT-L1 : 15,0 °C à cœur pour une limite de" in got["fr"]
    assert "lot LOT-L1: kerntemperatuur 15,0 °C voor een grenswaarde van" in got["nl"]
    assert "lot LOT-L1: 15.0 °C core for a limit of" in got["en"]

    # A producer's extract of a record carrying two producers' lots: the staff name one.
    run_delivery_a(world)
    record = officer.ok("GET", f"/api/v1/records/deliveries/{ids['DA']}")[0]
    extract = f"/api/v1/records/{record['id']}/producer-extract"
    got = messages(said(officer, "GET", extract), 422, "validation_error")
    assert got == {
        "fr": "Données invalides : ce registre porte les lots de plusieurs producteurs : "
        "précisez producer_id",
        "nl": "Ongeldige gegevens: dit register bevat loten van meerdere producenten: "
        "geef producer_id op",
        "en": "Invalid data: this record carries several producers' lots: give producer_id",
    }

    # A role the organisation's kind does not have: both named, not given by their code.
    driver_at_producer = {
        "email": "wrong-role@example.be",
        "full_name": "Wrong Role",
        "password": PASSWORD,
        "memberships": [{"organisation_id": ids["P1"], "role": "driver"}],
    }
    got = messages(
        said(world["root"], "POST", "/api/v1/users", driver_at_producer), 422, "validation_error"
    )
    assert got["fr"].endswith(
        "le rôle « chauffeur » n'existe pas dans une organisation de type « producteur »"
    )
    assert got["nl"].endswith(
        "de rol „chauffeur” bestaat niet in een organisatie van het type „producent”"
    )
    assert got["en"].endswith(
        "the role 'driver' does not exist in an organisation of kind 'producer'"
    )

    # A user who chose Dutch (User.language), signed in with the pages' session cookie, from
    # a French browser: the API answers in Dutch (the offline queue's calls); the pages'
    # cookie and ?lang= come first.
    with app.state.sessionmaker() as session:
        session.get_one(User, world.user_ids["hygiene_a"]).language = "nl"
        session.commit()
    client = world.client
    signed_in = client.post(
        "/api/v1/auth/login", json={"email": "hygiene_a@example.be", "password": PASSWORD}
    )
    assert signed_in.status_code == 200 and "coldchain_session" in client.cookies
    try:
        french_browser = {"Accept-Language": "fr"}
        answer = client.get(extract, headers=french_browser).json()["error"]
        assert answer["code"] == "validation_error"
        assert answer["message"].startswith("Ongeldige gegevens: dit register bevat loten")
        client.cookies.set("coldchain_lang", "en")
        english = client.get(extract, headers=french_browser).json()["error"]["message"]
        assert english.startswith("Invalid data: this record carries")
        asked = client.get(extract, params={"lang": "fr"}, headers=french_browser).json()
        assert asked["error"]["message"].startswith("Données invalides : ce registre porte")
    finally:
        client.cookies.clear()  # the world's other requests use their bearer tokens

    # The same user's API client with a bearer token: the stored choice before Accept-Language.
    from_client = world["hygiene_a"].get(extract, headers=french_browser).json()["error"]
    assert from_client["message"].startswith("Ongeldige gegevens: dit register bevat loten")
    asked = world["hygiene_a"].get(
        extract, headers={"Accept-Language": "fr"}, params={"lang": "en"}
    )
    assert asked.json()["error"]["message"].startswith("Invalid data: this record carries")
