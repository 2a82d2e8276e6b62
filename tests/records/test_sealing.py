"""Sealing a closed delivery: content, verdicts, the PDF an inspector reads."""

from __future__ import annotations

import io
import json

from pypdf import PdfReader

from tests.records.support import sealed_delivery


def test_seal_and_pdf(world, reading_store, tmp_path) -> None:
    record = sealed_delivery(world, reading_store)
    assert record["version"] == 1 and record["sequence"] == 1
    hygiene = world["hygiene_a"]
    doc = json.loads(hygiene.ok("GET", f"/api/v1/records/{record['id']}/json")["document"])
    verdicts = {load["lot_reference"]: load["verdict"]["code"] for load in doc["loads"]}
    assert verdicts == {
        "LOT-L1": "ecart_tolere",
        "LOT-L2": "ecart_tolere",
        "LOT-HACHE": "non_conforme",
        "LOT-GLACE": "conforme",
    }
    response = hygiene.get(f"/api/v1/records/{record['id']}/pdf")
    assert response.status_code == 200
    (tmp_path / "record.pdf").write_bytes(response.content)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    print(text)
