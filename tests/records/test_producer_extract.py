"""A producer's extract of a sealed delivery record: their lots only, how they were kept,
nothing of the other producers' lots; who may fetch it; the French PDF.

The delivery (tests/records/support.py): LOT-L1 of producer P1 (chèvrerie) and LOT-L2,
LOT-HACHE, LOT-GLACE of producer P2 (Boucherie Dupont, consignee « Cantine de Virton »)."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from pypdf import PdfReader

from server.records.producer_extract import Seal, extract
from tests.records.support import sealed_delivery
from tests.server.world import D1, brussels

# What producer P1 must never see: P2's lots, its name, its consignee, its descriptions.
OTHERS = ("LOT-L2", "LOT-HACHE", "LOT-GLACE", "Boucherie Dupont", "Cantine de Virton")
OTHERS_TEXT = ("Haché de bœuf", "Glace vanille", "viande trop chaude", "surgelé")


def url(record: dict[str, Any], suffix: str = "") -> str:
    return f"/api/v1/records/{record['id']}/producer-extract{suffix}"


def ms(hour: int, minute: int) -> int:
    return int(brussels(D1, hour, minute).timestamp() * 1000)


def test_extract_has_the_producers_lot_and_nothing_of_the_others(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    got = world["producer1"].ok("GET", url(record))
    text = json.dumps(got, ensure_ascii=False)
    for other in (*OTHERS, *OTHERS_TEXT):
        assert other not in text, other
    assert got["record"] == {
        "id": record["id"],
        "delivery_id": world.ids["DA"],
        "version": 1,
        "sequence": 1,
        "sealed_at": got["record"]["sealed_at"],
        "record_hash": record["record_hash"],
        "previous_hash": record["previous_hash"],
    }
    assert got["consignor"] == "Chèvrerie du Val"
    assert got["delivery"]["van"] == {"name": "Fourgon 1", "plate": "1-ABC-123"}
    (load,) = got["loads"]
    assert (load["lot_reference"], load["quantity"], load["unit"]) == ("LOT-L1", "12.500", "kg")
    assert load["limit"]["max_c"] == 6.0 and "étiquette" in load["limit"]["source_fr"]
    assert (load["stats"]["min"], load["stats"]["max"]) == (3.0, 6.5)
    assert load["stats"]["minutes_above"] == 10.0
    assert load["verdict"]["label_fr"] == "écart toléré" and load["verdict"]["rule_fr"]
    # Readings: only the judged channel, only while the lot was on board (07:05 – 10:05).
    assert load["readings"] and all(ms(7, 5) <= t < ms(10, 5) for t, _ in load["readings"])
    assert len(load["gaps"]) == 1  # the 40-minute silence at 09:00 happened while on board
    pickup, drop = got["stops"]
    assert [d["lot_reference"] for d in pickup["handover"]["decisions"]] == ["LOT-L1"]
    assert drop["handover"]["receiver_name"] == "Mme Collard"
    assert drop["handover"]["decisions"] == [
        {"lot_reference": "LOT-L1", "accepted": True, "reason": None}
    ]
    assert {t["zone"] for s in got["stops"] for t in s["handover"]["zone_temperatures"]} <= {
        "frais"
    }
    assert (
        str(record["id"]) in got["verification_fr"]
        and "coldchain records verify" in (got["verification_fr"])
    )


def test_the_other_producer_gets_its_own_three_lots(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    got = world["producer2"].ok("GET", url(record))
    verdicts = {load["lot_reference"]: load["verdict"]["code"] for load in got["loads"]}
    assert verdicts == {
        "LOT-L2": "ecart_tolere",
        "LOT-HACHE": "non_conforme",
        "LOT-GLACE": "conforme",
    }
    assert "LOT-L1" not in json.dumps(got) and "Chèvrerie" not in json.dumps(got)
    refused = [d for s in got["stops"] for d in s["handover"]["decisions"] if not d["accepted"]]
    assert refused == [
        {"lot_reference": "LOT-HACHE", "accepted": False, "reason": "viande trop chaude"}
    ]


def test_alerts_only_those_about_the_producers_lots_and_only_their_lots_named(
    world, reading_store
) -> None:
    record = sealed_delivery(world, reading_store)
    sealed = world["hygiene_a"].ok("GET", f"/api/v1/records/{record['id']}/json")
    doc = json.loads(sealed["document"])
    zone = {z["name"]: z["id"] for z in doc["zones"]}

    def alert(zone_name: str, lots: list[str], start: int, end: int) -> dict[str, Any]:
        action = {
            "recorded_by": "Hygiène A",
            "recorded_at": "2026-03-10T09:00:00Z",
            "immediate_action": "porte refermée",
            "action_at": "2026-03-10T08:15:00Z",
            "core_temperature_c": 7.9,
            "thermometer": "T-1",
            "product_assessment": "produit contrôlé",
            "root_cause": "porte mal fermée",
            "preventive_action": "rappel au chauffeur",
            "preventive_due": None,
            "afsca_notified": False,
            "afsca_reason": "écart toléré",
            "lot_decisions": [
                {"lot_reference": ref, "decision": "release", "justification": "ok"} for ref in lots
            ],
        }
        return {
            "uid": f"a-{start}",
            "kind": "temperature",
            "severity": "warning",
            "state": "closed",
            "zone_id": zone[zone_name],
            "cold_room_id": None,
            "probe": "van-a-1",
            "channel": "air",
            "start_at": _iso(start),
            "end_at": _iso(end),
            "peak": 6.5,
            "detected_late": False,
            "text_fr": f"{zone_name} : 6,5 °C",
            "lots": lots,
            "corrective_action": action,
        }

    doc["alerts"] = [
        alert("frais", ["LOT-HACHE", "LOT-L1", "LOT-L2"], ms(8, 0), ms(8, 10)),
        alert("surgelé", ["LOT-GLACE"], ms(8, 0), ms(8, 10)),
        alert("frais", [], ms(6, 30), ms(7, 30)),  # began before LOT-L1 was loaded
    ]
    consignors = {load["id"]: world.ids["P2"] for load in doc["loads"]}
    consignors[world.ids["L1"]] = world.ids["P1"]
    seal = Seal(record["id"], record["record_hash"], record["previous_hash"])
    got = extract(doc, seal, world.ids["P1"], consignors)
    inside, before = got["alerts"]
    assert inside["lots"] == ["LOT-L1"] and inside["text_fr"] == "frais : 6,5 °C"
    assert inside["corrective_action"]["lot_decisions"] == [
        {"lot_reference": "LOT-L1", "decision": "release", "justification": "ok"}
    ]
    assert "core_temperature_c" not in inside["corrective_action"]
    # Before the pickup the van's temperatures are not the producer's: no text, no peak.
    assert (before["lots"], before["peak"], before["text_fr"]) == ([], None, None)
    for other in OTHERS:
        assert other not in json.dumps(got, ensure_ascii=False)


def _iso(time_ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_who_may_fetch_an_extract(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    ids = world.ids
    assert world["producer3"].get(url(record)).status_code == 404  # no lot of theirs
    assert world["hygiene_b"].get(url(record)).status_code == 404  # another cooperative
    assert world["driver_a"].get(url(record)).status_code == 403  # sees the record, not theirs
    refused = world["producer1"].get(url(record), params={"producer_id": ids["P2"]})
    assert refused.status_code == 403
    assert world["producer1"].get(url(record), params={"producer_id": 999}).status_code == 404
    assert world["producer1"].get("/api/v1/records/99999/producer-extract").status_code == 404
    # The cooperative's staff choose the producer; without one, a French message says so.
    ambiguous = world["hygiene_a"].get(url(record))
    assert ambiguous.status_code == 422
    assert "précisez producer_id" in ambiguous.json()["error"]["message"]
    staff = world["hygiene_a"].ok("GET", url(record), params={"producer_id": ids["P1"]})
    assert [load["lot_reference"] for load in staff["loads"]] == ["LOT-L1"]
    assert world["producer1"].get(url(record), params={"format": "xml"}).status_code == 422


def test_extract_pdf_in_french_without_the_other_lots(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    for response in (
        world["producer1"].get(url(record, ".pdf")),
        world["producer1"].get(url(record), params={"format": "pdf"}),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(response.content))
        text = re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in reader.pages))
        for expected in (
            "Extrait producteur — livraison",
            "Chèvrerie du Val",
            "LOT-L1",
            "max 6,0 °C",
            "3,0 °C / 6,5 °C",
            "ÉCART TOLÉRÉ",
            "Mme Collard",
            "coldchain records verify",
        ):
            assert expected in text, expected
        assert record["record_hash"] in text.replace(" ", "")
        for other in (*OTHERS, *OTHERS_TEXT):
            assert other not in text, other
