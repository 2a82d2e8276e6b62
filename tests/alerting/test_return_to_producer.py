"""« Retour au producteur »: after a critical excursion the officer sends a lot back to its
producer through the API; the decision is stored, shown in words and printed in the sealed
delivery record (PDF read back with pypdf), never as its code."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.alerting.support import Inbox, Site, build_site, settings_for
from tests.harness.servers import free_port
from tests.server.world import iso
from tests.support.alerts import raise_alert


@pytest.fixture
def offline_site(tmp_path: Path, smtp: tuple[int, Inbox]) -> Iterator[Site]:
    """No broker needed: the alert is raised by the worker's judging path directly."""
    yield from build_site(settings_for(tmp_path, free_port(), smtp[0]))


def test_the_officer_returns_a_lot_to_its_producer_and_the_record_says_so(
    offline_site: Site,
) -> None:
    site, w = offline_site, offline_site.world
    alert_id = raise_alert(site, [12.0] * 5 + [2.0] * 12, 20)  # critical, over
    action = {
        "immediate_action": "Lot isolé dans la camionnette",
        "action_at": datetime.now(UTC).isoformat(),
        "product_assessment": "Emballage tiède, étiquette vérifiée",
        "lot_decisions": [
            {
                "load_id": site.load_id,
                "decision": "return_to_producer",
                "justification": "Repris par la chèvrerie pour contrôle",
            }
        ],
        "root_cause": "Groupe froid arrêté pendant l'arrêt",
        "preventive_action": "Contrôle du groupe à chaque arrêt",
        "afsca_notified": False,
        "afsca_reason": "Lot non mis sur le marché",
    }
    url = f"/api/v1/alerts/{alert_id}"
    recorded = w["hygiene_a"].ok("POST", f"{url}/corrective-action", action, 201)
    [decision] = recorded["corrective_action"]["lot_decisions"]
    assert (decision["load_id"], decision["decision"]) == (site.load_id, "return_to_producer")
    assert w["hygiene_a"].ok("GET", url)["corrective_action"]["lot_decisions"] == [decision]

    # The lot is handed over at the drop, the delivery closed: its record is sealed.
    now = datetime.now(UTC)
    delivery = f"/api/v1/deliveries/{site.delivery_id}"
    handover = {
        "at": iso(now - timedelta(seconds=30)),
        "decisions": [{"load_id": site.load_id, "accepted": True}],
    }
    w["driver_a"].ok("POST", f"{delivery}/stops/{site.ids['A_drop']}/handover", handover, 201)
    w["driver_a"].ok("POST", f"{delivery}/close", {"closed_at": iso(now)})
    [record] = w["hygiene_a"].ok("GET", f"/api/v1/records/deliveries/{site.delivery_id}")
    pdf = w["hygiene_a"].get(f"/api/v1/records/{record['id']}/pdf")
    assert pdf.status_code == 200
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert "LOT-LT : retour au producteur (Repris par la chèvrerie pour contrôle)" in flat
    assert "return_to_producer" not in flat
