"""A lot's decision after an excursion is printed in words in every document (the delivery
record and the producer's extract: record_pdf.corrective_action; the inspection export's
alert CSV), never as its stored code."""

from __future__ import annotations

from typing import Any

import pytest
from reportlab.platypus import Paragraph

from server.core.models.alerts import Decision
from server.records import inspection, record_pdf


def test_every_decision_has_its_words() -> None:
    assert set(record_pdf.DECISIONS) == set(Decision)
    assert record_pdf.DECISIONS[Decision.RETURN_TO_PRODUCER] == "retour au producteur"
    csv = inspection._alerts_csv([("Zone A", entry("return_to_producer"))]).decode("utf-8-sig")
    assert "LOT-1 : retour au producteur (Selon contrôle)" in csv
    for code, words in record_pdf.DECISIONS.items():
        assert words and "_" not in words, code


def entry(decision: str) -> dict[str, Any]:
    """An alert entry as server/records/alerts_log.py makes it, with one lot's decision."""
    action = {
        "recorded_by": "Anne Hygiène",
        "recorded_at": "2026-11-20T09:35:00Z",
        "action_at": "2026-11-20T09:30:00Z",
        "core_temperature_c": None,
        "core_measured_at": None,
        "thermometer": None,
        "preventive_due": None,
        "preventive_owner": None,
        "immediate_action": "Lot isolé",
        "product_assessment": "Contrôle sensoriel",
        "root_cause": "Groupe froid arrêté",
        "preventive_action": "Contrôle à chaque arrêt",
        "afsca_notified": False,
        "afsca_reason": "Pas de mise sur le marché",
        "lot_decisions": [
            {"lot_reference": "LOT-1", "decision": decision, "justification": "Selon contrôle"}
        ],
    }
    return {
        "start_at": "2026-11-20T09:00:00Z",
        "end_at": "2026-11-20T09:20:00Z",
        "kind": "temperature_excursion",
        "severity": "critical",
        "state": "action_recorded",
        "probe": "van-a-1",
        "channel": "air",
        "peak": 12.0,
        "text_fr": "Zone A : 12 °C",
        "lots": ["LOT-1"],
        "uid": "a-1",
        "zone_id": 1,
        "cold_room_id": None,
        "detected_late": False,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "closed_by": None,
        "closed_at": None,
        "review_note": None,
        "corrective_action": action,
    }


@pytest.mark.parametrize("decision", list(Decision))
def test_documents_print_the_decision_in_words(decision: Decision) -> None:
    words = record_pdf.DECISIONS[decision]
    paragraph = record_pdf.corrective_action(entry(decision.value), "Décisions")
    assert isinstance(paragraph, Paragraph)
    printed = paragraph.getPlainText()
    assert f"LOT-1 : {words} (Selon contrôle)" in printed
    csv = inspection._alerts_csv([("Zone A", entry(decision.value))]).decode("utf-8-sig")
    assert "LOT-1 : " in csv and "(Selon contrôle)" in csv
    assert decision.value not in printed and decision.value not in csv  # never the code
