"""The inspection export of a cold room with a label temperature (server/records/inspection.py):
its summary states the label as the limit, with its reason, and counts the readings beyond
it (5 °C under a 4 °C label, though within the category's 7 °C) as an excursion."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

from pypdf import PdfReader

from tests.records.support import cold_room_day
from tests.server.world import D1, brussels, iso

REASON = "étiquette du fromage au lait cru : ≤ 4 °C"


def test_the_room_summary_states_the_label_and_judges_by_it(world, reading_store) -> None:
    room = world.ids["CR1"]
    label = {"label_max_c": 4.0, "label_reason": REASON}
    world["producer1"].ok("PUT", f"/api/v1/cold-rooms/{room}/label", label)
    start = brussels(D1, 0)
    cold_room_day(reading_store, usual=3.0, warm=5.0)
    body = {
        "start": iso(start),
        "end": iso(start + timedelta(days=1)),
        "cold_room_ids": [room],
    }
    officer = world["hygiene_a"]
    response = officer.client.post(
        "/api/v1/records/inspection-export", json=body, headers=officer.headers
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    pdf = archive.read(f"emplacements/chambre-froide-{room}/resume.pdf")
    text = re.sub(
        r"\s+", " ", "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    )
    assert "Limite : max 4,0 °C" in text
    assert "température de l'étiquette" in text and f"« {REASON} »" in text
    excursions = text.split("Dépassements de la limite")[1].split("Alertes et actions")[0]
    assert "5,0 °C" in excursions and "aucun" not in excursions  # 10:00-10:58, beyond 4 °C
