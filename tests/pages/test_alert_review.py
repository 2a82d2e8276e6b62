"""The hygiene officer's alert page after a critical excursion of minced meat (limit 2 °C):
the link to the delivery and to its sealed record, a chart of the excursion with the limit in
force, the lots on board with their own limits; the decision per lot is not chosen beforehand,
« release » needs a core-temperature check within the lot's limit (the same rule for the API:
server/alerting/actions.py), and the choice ends up in the sealed record.

HTTP for each refusal, then the officer in a real Chromium on a phone-sized window."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from server.core.models.alerts import Alert
from server.core.models.records import SealedRecord
from tests.harness import browser as chromium
from tests.pages.conftest import FormBrowser, Pages, served
from tests.pages.live_support import MIN, Shifted, Van
from tests.server.world import iso


@pytest.fixture(scope="module")
def review(
    tmp_path_factory: pytest.TempPathFactory, shared_chromium: chromium.SharedChromium
) -> Iterator[tuple[Pages, int]]:
    """Lot LT (chilled, label 6 °C) and LOT-LX0 (minced meat, 2 °C) on board for 90 minutes;
    the zone at 3.4 °C for 20 minutes (critical after 15), back at 1 °C for 20; the delivery
    closed and sealed. Yields the pages and the alert's id."""
    monkeypatch = pytest.MonkeyPatch()
    site_options = {
        "pickup_ago": timedelta(minutes=90),
        "cargo": (("minced_meat", None),),
        "departure_c": 1.0,
    }
    with served(tmp_path_factory, shared_chromium, seed=False, **site_options) as pages:
        van = Van(pages.site, Shifted(monkeypatch))
        t0 = datetime.now(UTC).replace(microsecond=0)
        van.send(t0 - 60 * MIN, [1.0] * 20 + [3.4] * 20 + [1.0] * 20)
        [alert] = [a for a in van.alerts() if a.kind == "temperature_excursion"]
        assert (alert.severity, alert.engine_status) == ("critical", "closed")
        site, driver = pages.site, pages.site.world["driver_a"]
        url = f"/api/v1/deliveries/{site.delivery_id}"
        loads = [site.ids["LT"], site.ids["LX0"]]
        handover = {
            "at": iso(t0 - timedelta(seconds=30)),
            "decisions": [{"load_id": load, "accepted": True} for load in loads],
        }
        driver.ok("POST", f"{url}/stops/{site.ids['A_drop']}/handover", handover, 201)
        driver.ok("POST", f"{url}/close", {"closed_at": iso(t0)})  # and sealed, version 1
        try:
            yield pages, alert.id
        finally:
            monkeypatch.undo()


def action_form(pages: Pages, decisions: dict[str, str], **extra: str) -> dict[str, str]:
    ids = pages.site.ids
    form = {
        "immediate_action": "Lots isolés dans la chambre froide de l'épicerie",
        "action_at": (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "product_assessment": "Contrôle sensoriel, étiquettes vérifiées",
        "root_cause": "Groupe froid arrêté à l'arrêt",
        "preventive_action": "Contrôle du groupe à chaque arrêt",
        "afsca_reason": "Pas de mise sur le marché du lot hors limite",
        **extra,
    }
    for lot, decision in decisions.items():
        form[f"decision_{ids[lot]}"] = decision
        form[f"justification_{ids[lot]}"] = "Selon le contrôle"
    return form


def test_the_page_links_charts_and_lists_the_lots(review: tuple[Pages, int]) -> None:
    pages, alert_id = review
    officer = FormBrowser(pages.site.app, "hygiene_a")
    html = officer.get(f"/alerts/{alert_id}").text
    site = pages.site
    assert f'href="/deliveries/{site.delivery_id}"' in html
    with site.app.state.sessionmaker() as session:
        record = session.scalars(select(SealedRecord)).one()
    assert f'href="/api/v1/records/{record.id}/pdf"' in html and "version 1" in html
    chart = re.search(r'<svg class="chart".*?</svg>', html, re.S)
    assert chart is not None
    assert 'class="limit"' in chart.group(0) and "2,0 °C" in chart.group(0)  # minced meat's
    assert 'class="excursion"' in chart.group(0) and "polyline" in chart.group(0)
    lots = re.search(r'<ul class="lots-on-board" id="alert-lots">.*?</ul>', html, re.S)
    assert lots is not None
    assert "LOT-LX0" in lots.group(0) and "≤ 2,0 °C" in lots.group(0)
    assert "LOT-LT" in lots.group(0) and "≤ 6,0 °C" in lots.group(0)  # its label
    assert lots.group(0).count("à décider") == 2
    # No decision chosen beforehand: the empty choice is the selected one, for each lot.
    selects = re.findall(r'<select name="decision_\d+".*?</select>', html, re.S)
    assert len(selects) == 2
    for chosen in selects:
        assert re.findall(r"<option[^>]*selected", chosen) == ['<option value="" selected']
        assert "Refuser : renvoyer au producteur" in chosen and "Déclasser" in chosen
        assert '<option value="return_to_producer">Retour au producteur</option>' in chosen
    # A producer sees the alert of their lot, not the delivery nor its record.
    producer = FormBrowser(site.app, "producer1").get(f"/alerts/{alert_id}").text
    assert "/deliveries/" not in producer and "/api/v1/records/" not in producer


def test_release_needs_a_core_check_within_the_lot_limit(review: tuple[Pages, int]) -> None:
    pages, alert_id = review
    officer = FormBrowser(pages.site.app, "hygiene_a")
    url = f"/alerts/{alert_id}/corrective-action"

    nothing = officer.post(url, action_form(pages, {"LT": "", "LX0": ""}))
    assert nothing.status_code == 422
    assert "Lot LOT-LX0 : choisissez une décision." in nothing.text
    assert "Lot LOT-LT : choisissez une décision." in nothing.text

    released = {"LT": "release", "LX0": "release"}
    no_core = officer.post(url, action_form(pages, released))
    assert no_core.status_code == 422 and "thermomètre utilisé" in no_core.text
    assert 'value="release" selected' in no_core.text  # what was chosen is kept

    core = {"core_temperature_c": "5,4", "thermometer": "TH-13485-07"}
    too_warm = officer.post(url, action_form(pages, released, **core))
    assert too_warm.status_code == 422
    assert "lot LOT-LX0 : 5,4 °C à cœur pour une limite de 2,0 °C" in too_warm.text
    assert "LOT-LT :" not in too_warm.text.split("Libération refusée")[1][:200]  # 5,4 ≤ 6

    # The API refuses the same, with the same words.
    body = {
        "immediate_action": "x",
        "action_at": datetime.now(UTC).isoformat(),
        "product_assessment": "x",
        "lot_decisions": [
            {"load_id": pages.site.ids[lot], "decision": "release", "justification": "x"}
            for lot in ("LT", "LX0")
        ],
        "root_cause": "x",
        "preventive_action": "x",
        "afsca_notified": False,
        "afsca_reason": "x",
    }
    api = pages.site.world["hygiene_a"].post(f"/api/v1/alerts/{alert_id}/corrective-action", body)
    assert api.status_code == 422 and api.json()["error"]["code"] == "release_needs_core_check"
    with pages.site.app.state.sessionmaker() as session:
        unchanged = session.get(Alert, alert_id)
        assert unchanged is not None and unchanged.state == "open"  # nothing recorded


def test_the_officer_decides_and_the_decision_is_sealed(review: tuple[Pages, int]) -> None:
    pages, alert_id = review
    site = pages.site
    pages.login("hygiene_a")
    pages.browser.set_window_size(390, 844)  # a phone
    try:
        pages.browser.find_element(By.CSS_SELECTOR, f'li[data-alert-id="{alert_id}"] a').click()
        pages.wait_for(lambda: pages.browser.find_elements(By.ID, "action-form"))
        assert "✓ Excursion terminée le" in pages.browser.find_element(By.ID, "alert-course").text
        assert pages.browser.find_element(By.CSS_SELECTOR, "svg.chart line.limit")
        form = pages.browser.find_element(By.ID, "action-form")
        for name, value in action_form(pages, {}).items():
            if name != "action_at":
                form.find_element(By.NAME, name).send_keys(value)
        form.find_element(By.NAME, "core_temperature_c").send_keys("5,4")
        form.find_element(By.NAME, "thermometer").send_keys("TH-13485-07")
        for lot, decision, why in (
            ("LX0", "return_to_producer", "Viande hachée 20 min à 3,4 °C pour 2 °C"),
            ("LT", "release", "5,4 °C à cœur, sous les 6 °C de l'étiquette"),
        ):
            load = site.ids[lot]
            choice = Select(form.find_element(By.ID, f"decision-{load}"))
            assert choice.first_selected_option.get_attribute("value") == ""  # none beforehand
            choice.select_by_value(decision)
            form.find_element(By.NAME, f"justification_{load}").send_keys(why)
        pages.click_and_wait("record-action", "action enregistrée", "#alert-state")
        lots = pages.browser.find_element(By.ID, "alert-lots").text
        assert "Retour au producteur" in lots
        assert "Libérer, après contrôle de la température à cœur" in lots
        assert "5,4 °C" in pages.browser.find_element(By.ID, "core-check").text
        assert "n'y est pas encore" in pages.browser.find_element(By.ID, "record-action").text

        # The next sealing (the sealing timer, or the officer through the API) holds it.
        sealed = site.world["hygiene_a"].post(f"/api/v1/records/deliveries/{site.delivery_id}/seal")
        assert sealed.status_code == 201 and sealed.json()["version"] == 2
        pages.open(f"/alerts/{alert_id}")
        record = pages.browser.find_element(By.ID, "alert-record").text
        assert "version 2" in record and "y sont consignées" in record
        pages.shot("officer-alert-page-phone", whole=True)
        with site.app.state.sessionmaker() as session:
            alert = session.get(Alert, alert_id)
            assert alert is not None
            newest = session.scalars(
                select(SealedRecord).order_by(SealedRecord.version.desc())
            ).first()
            assert newest is not None
            document = json.loads(newest.document)
        [entry] = [a for a in document["alerts"] if a["uid"] == alert.uid]
        action = entry["corrective_action"]
        assert action["core_temperature_c"] == 5.4 and action["thermometer"] == "TH-13485-07"
        assert [(d["lot_reference"], d["decision"]) for d in action["lot_decisions"]] == [
            ("LOT-LT", "release"),
            ("LOT-LX0", "return_to_producer"),
        ]
        pdf = site.world["hygiene_a"].get(f"/api/v1/records/{newest.id}/pdf")
        text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        flat = re.sub(r"\s+", " ", text)
        assert "LOT-LX0 : retour au producteur (Viande hachée" in flat
        assert "LOT-LT : libéré (5,4 °C à cœur" in flat and "return_to_producer" not in flat
        pages.browser.find_element(By.ID, "delivery-link").click()
        pages.wait_for(lambda: f"/deliveries/{site.delivery_id}" in pages.browser.current_url)
        assert "Livraison" in pages.browser.find_element(By.TAG_NAME, "h1").text
    finally:
        pages.browser.set_window_size(1280, 900)
