"""The HACCP plan an AFSCA inspector reads (plan_haccp.pdf of the inspection export,
server/records/haccp_plan.py): the cooperative's real configuration, each category in use
with its legal source or « choix HACCP de la coopérative » and the reason, monitoring,
corrective actions, verification, the retention applied, the open points; and none of the
maintainers' working notes."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import timedelta

import pytest
from pypdf import PdfReader

from alerts.profiles import load_profiles
from server.records import haccp_plan
from tests.records.support import sealed_delivery
from tests.server.world import D1, brussels, iso
from tests.support.documents import WORKING_NOTES

# What a working note looks like; none may reach a document an inspector reads.
OWN_CHOICE = "Choix HACCP de la coopérative"
LEGAL = "Source légale"


def _text(pdf: bytes) -> str:
    """The PDF's text on one line (words cut at a line end are joined by a space)."""
    raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"\s+", " ", raw)


def _no_working_notes(text: str) -> None:
    for marker in WORKING_NOTES:
        assert not re.search(marker, text, re.IGNORECASE), f"working note {marker!r} in the plan"


def _row(text: str, name: str) -> str:
    """The plan's text from a category's name in the limits table to the next 600 chars."""
    table = text[text.index("4. Limites critiques") :]
    start = table.index(name)
    return table[start : start + 600]


def test_the_export_plan_is_the_cooperatives_own(world, reading_store) -> None:
    ids = world.ids
    sealed_delivery(world, reading_store)
    body = {
        "start": iso(brussels(D1, 0)),
        "end": iso(brussels(D1, 0) + timedelta(days=1)),
        "van_ids": [ids["VA"]],
        "cold_room_ids": [ids["CRA"], ids["CR1"]],
    }
    response = world["hygiene_a"].client.post(
        "/api/v1/records/inspection-export", json=body, headers=world["hygiene_a"].headers
    )
    assert response.status_code == 200, response.text
    text = _text(zipfile.ZipFile(io.BytesIO(response.content)).read("plan_haccp.pdf"))
    _no_working_notes(text)
    profiles = load_profiles()
    # Its configuration: the van and its zones, both cold rooms, the probes installed there.
    for seen in ("Coopérative", "frais", "surgelé", "Chambre froide chèvrerie", "van-a-1"):
        assert seen in text, seen
    assert "van-a-2" in text and "cr1" in text
    # Every category in use (the rooms' and the lots'), each with where its limit comes from.
    for code in ("chilled_retail", "minced_meat", "quick_frozen"):
        row = _row(text, profiles[code].name_fr)
        assert LEGAL in row, code
        assert profiles[code].source.regulation in row, code
    assert OWN_CHOICE in _row(text, profiles["quick_frozen"].name_fr)  # the tolerance's length
    assert "Application" in _row(text, profiles["chilled_retail"].name_fr)
    assert profiles["fresh_fishery"].name_fr not in text  # not in use here: not in the plan
    # Hazards, control points, monitoring, corrective actions, verification, retention.
    for part in (
        "2. Dangers",
        "CCP 1 — Transport",
        "CCP 2 — Entreposage",
        "5. Surveillance",
        "6. Actions correctives",
        "EN 13485",
        "7. Vérification",
        "EN 13486",
        "tous les 12 mois",
        "Testo 104",  # the calibration register of the probes
        "1095 jours",  # records.retention_days of the settings
        "9. Points ouverts",
        "Durée de conservation belge",
        "valeur sûre",
    ):
        assert part in text, part
    # Three probes; van-a-1's air channel verified (whether it is overdue depends on today),
    # the two others never.
    assert "Sondes de cet export : 3" in text
    assert "Sondes sans vérification enregistrée : 2" in text


@pytest.mark.parametrize("code", sorted(load_profiles()))
def test_every_category_says_where_its_limit_comes_from(code: str) -> None:
    profiles = load_profiles()
    plan = haccp_plan.Plan("mars 2026", categories=(code,), profiles=profiles, retention_days=730)
    text = _text(haccp_plan.render(plan))
    _no_working_notes(text)
    profile = profiles[code]
    row = _row(text, profile.name_fr)
    if not profile.temperature_controlled:
        assert "non soumise à une maîtrise de température" in row
    elif profile.own_choice:
        assert OWN_CHOICE in row and profile.own_choice_reason[:40] in row
    else:
        assert LEGAL in row and OWN_CHOICE not in row
    assert "730 jours" in text


def test_fresh_poultry_cites_the_fresh_poultry_texts_not_the_frozen_article() -> None:
    profiles = load_profiles()
    fresh = profiles["poultry_meat"].source.cite()
    assert "1308/2013 annexe VII, partie V, point II 2)" in fresh  # -2..+4 °C: fresh poultrymeat
    assert "853/2004 annexe III, section II, chapitre V, point 1 b)" in fresh  # 4 °C
    assert "543/2008" not in fresh  # its article 6 is about frozen poultrymeat
    assert "543/2008 art. 6" in profiles["frozen_poultry"].source.cite()
