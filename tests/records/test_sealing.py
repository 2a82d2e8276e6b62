"""Sealing a closed delivery: content, verdicts, the PDF an inspector reads."""

from __future__ import annotations

import io
import json
import re

from pypdf import PdfReader

from server.records import canonical
from tests.records.support import prepare, run, sealed_delivery, write_readings


def test_sealed_document_content(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    assert (record["version"], record["sequence"]) == (1, 1)
    assert record["previous_hash"] == canonical.GENESIS
    sealed = world["hygiene_a"].ok("GET", f"/api/v1/records/{record['id']}/json")
    assert (
        canonical.record_hash(sealed["previous_hash"], sealed["document"]) == record["record_hash"]
    )
    doc = json.loads(sealed["document"])
    assert canonical.dumps(doc) == sealed["document"]  # stored in canonical form
    loads = {load["lot_reference"]: load for load in doc["loads"]}
    assert {ref: load["verdict"]["code"] for ref, load in loads.items()} == {
        "LOT-L1": "ecart_tolere",
        "LOT-L2": "ecart_tolere",
        "LOT-HACHE": "non_conforme",
        "LOT-GLACE": "conforme",
    }
    l1 = loads["LOT-L1"]
    assert l1["limit"]["max_c"] == 6.0 and l1["limit"]["max_basis"] == "label"
    assert (l1["stats"]["min"], l1["stats"]["max"]) == (3.0, 6.5)  # calibrated (raw - 0.2)
    assert l1["stats"]["minutes_above"] == 10.0
    assert loads["LOT-HACHE"]["limit"]["max_c"] == 2.0
    assert "853/2004" in loads["LOT-HACHE"]["verdict"]["rule_fr"]
    # The minced meat was refused at the drop: it stayed on board until closing.
    assert loads["LOT-HACHE"]["on_board_until"] == doc["delivery"]["closed_at"]
    frais = next(z for z in doc["zones"] if z["name"] == "frais")
    first = dict(zip(frais["reading_columns"], frais["readings"][0], strict=True))
    assert (first["raw"], first["value"], first["probe"]) == (3.2, 3.0, "van-a-1")
    assert first["calibration_id"] is not None
    offline = [g for g in frais["quality"]["gaps"] if g["offline"]]
    assert len(offline) == 1 and 40 <= offline[0]["minutes"] <= 41
    refused = [
        d
        for s in doc["stops"]
        if s["handover"]
        for d in s["handover"]["decisions"]
        if not d["accepted"]
    ]
    assert refused == [
        {"lot_reference": "LOT-HACHE", "accepted": False, "reason": "viande trop chaude"}
    ]


def test_record_pdf_reads_right(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    response = world["hygiene_a"].get(f"/api/v1/records/{record['id']}/pdf")
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    for expected in (
        "Enregistrement HACCP — livraison",
        "Coopérative de Liège",
        "LOT-L1",
        "LOT-L2",
        "LOT-HACHE",
        "LOT-GLACE",
        "max 6,0 °C",
        "max 2,0 °C",
        "max -18,0 °C",
        "3,0 °C / 6,5 °C",  # min / max of the chilled lots
        "ÉCART TOLÉRÉ",
        "NON CONFORME",
        "CONFORME",
        "REFUSÉ (viande trop chaude)",
        "Mme Collard",
        "10/03/2026 07:05",  # the pickup, Brussels time (06:05 UTC)
        "hors ligne",
        "Zone frais",
        "Zone surgelé",
    ):
        assert expected in flat, expected
    assert record["record_hash"] in text.replace("\n", "")
    # The charts: one path per zone and channel with a vertex per reading (vector graphics):
    # runs of 40+ consecutive line-to operators, which tables never draw. The line of zone
    # frais breaks at its 40-minute silence (a gap is shown as a gap).
    streams = [page.get_contents() for page in reader.pages]
    content = b"".join(stream.get_data() for stream in streams if stream is not None)
    runs = re.findall(rb"(?:[-\d.]+ [-\d.]+ l\s+){40,}", content)
    # zone frais: 180 readings before the silence, 50 after; zone surgelé: 270 readings
    assert sorted(run.count(b" l") for run in runs) == [49, 179, 269]


def test_markup_in_user_text_is_printed_not_interpreted(world, reading_store) -> None:
    hostile = "<b>Mme</b> & </para><font name='nope'>Ω"
    prepare(world)
    write_readings(reading_store)
    run(world, receiver=hostile)
    hygiene = world["hygiene_a"]
    record = hygiene.ok("POST", f"/api/v1/records/deliveries/{world.ids['DA']}/seal", status=200)
    response = hygiene.get(f"/api/v1/records/{record['id']}/pdf")
    assert response.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "<b>Mme</b> & </para><font name='nope'>" in re.sub(r"\s+", " ", text)


def test_closing_a_delivery_seals_its_record(world, reading_store) -> None:
    prepare(world)
    write_readings(reading_store)
    hygiene = world["hygiene_a"]
    assert hygiene.ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}") == []
    run(world)  # ends with the driver closing the delivery
    versions = hygiene.ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    assert [v["version"] for v in versions] == [1]
    report = hygiene.ok("GET", "/api/v1/records/verify", params={"cooperative_id": world.ids["A"]})
    assert report["ok"] is True and report["checked"] == 1


def test_a_delivery_without_any_reading_still_gives_a_record_and_its_pdf(world) -> None:
    """A van whose probe never reached the server: the record says so, and still exports."""
    prepare(world)
    run(world)  # no readings written at all
    hygiene = world["hygiene_a"]
    versions = hygiene.ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    response = hygiene.get(f"/api/v1/records/{versions[0]['id']}/pdf")
    assert response.status_code == 200, response.text
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "LOT-HACHE" in flat and "Aucune mesure." in flat
    # No reading cannot prove the cold chain was kept: the verdict says so.
    assert "conformité non démontrable" in flat
