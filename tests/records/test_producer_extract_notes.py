"""Free text on a shared delivery, in a producer's extract (server/records/producer_extract.py):
shown to a producer only when attached to their own lot — a corrective action's text when
its alert names their lots and no one else's, a lot decision's justification about their
lot — never the notes about the other producer's lot, nor those about the delivery as a
whole (an alert naming both producers' lots, or the van's zone without a lot).

The delivery of tests/records/support.py: LOT-L1 of producer P1, LOT-L2 (and two more) of
producer P2, both in the zone « frais » from 07:05 to 10:05; alerts as the alert worker and
the officer's alert page record them, sealed with the delivery, read through the API."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from typing import Any

from pypdf import PdfReader

from server.core.models.alerts import CorrectiveAction
from server.records.producer_extract import Seal, extract
from server.records.vocabulary import words
from tests.records.support import EXCURSION, frais_alert, sealed_delivery, store_action, store_alert
from tests.server.world import World

WITHHELD = words()["extract_text_withheld"]


def add_alert(app: Any, world: World, note: str, lots: list[str], minutes: int) -> None:
    """An excursion on « frais » naming `lots`, with a corrective action whose every free
    text and every lot decision's justification carries `note`."""
    ids = world.ids
    consignor = {"L1": "P1", "L2": "P2"}
    start = EXCURSION[0] + timedelta(minutes=minutes)
    with app.state.sessionmaker() as session:
        alert = frais_alert(
            ids,
            f"exc-{note}",
            between=(start, start + timedelta(minutes=5)),
            text_fr="Zone frais : 6,5 °C",
            text_en="Zone frais: 6.5 °C",
        )
        store_alert(session, ids, alert, [(lot, consignor[lot]) for lot in lots])
        action = CorrectiveAction(
            alert_id=alert.id,
            recorded_by_id=world.user_ids["hygiene_a"],
            immediate_action=f"{note}-immediate",
            action_at=start + timedelta(minutes=6),
            product_assessment=f"{note}-assessment",
            root_cause=f"{note}-cause",
            preventive_action=f"{note}-preventive",
            afsca_notified=False,
            afsca_reason=f"{note}-afsca",
        )
        decisions = [(lot, "release", f"{note}-justification-{lot}") for lot in lots]
        store_action(session, ids, action, decisions)
        session.commit()


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return re.sub(r"\s+", " ", "\n".join(page.extract_text() for page in reader.pages))


def test_each_producer_reads_only_the_notes_on_their_own_lots(world, app, reading_store) -> None:
    add_alert(app, world, "noteP1", ["L1"], 0)  # about P1's lot only
    add_alert(app, world, "noteP2", ["L2"], 20)  # about P2's lot only
    add_alert(app, world, "noteDelivery", ["L1", "L2"], 40)  # about both: the delivery's
    add_alert(app, world, "noteVan", [], 60)  # the van's zone, no lot named
    record = sealed_delivery(world, reading_store)
    url = f"/api/v1/records/{record['id']}/producer-extract"
    for producer, mine, other in (("producer1", "L1", "L2"), ("producer2", "L2", "L1")):
        got = world[producer].ok("GET", url)
        text = json.dumps(got, ensure_ascii=False)
        own = "noteP1" if mine == "L1" else "noteP2"
        theirs = "noteP2" if mine == "L1" else "noteP1"
        for field in ("immediate", "assessment", "cause", "preventive", "afsca"):
            assert f"{own}-{field}" in text, (producer, field)
        assert f"{own}-justification-{mine}" in text
        # The decision about their lot on the shared alert is theirs; its text is not.
        assert f"noteDelivery-justification-{mine}" in text
        for leak in (theirs, "noteDelivery-immediate", "noteDelivery-cause", "noteVan"):
            assert leak not in text, (producer, leak)
        assert f"-justification-{other}" not in text
        by_note = {
            a["corrective_action"]["root_cause"]: a for a in got["alerts"] if a["corrective_action"]
        }
        assert not by_note[f"{own}-cause"]["corrective_action"]["text_withheld"]
        withheld = [a for a in got["alerts"] if a["corrective_action"]["text_withheld"]]
        # The other producer's alert (on the zone while their lot was on board: listed,
        # naming no lot of theirs), the delivery's and the van's.
        assert len(withheld) == 3
        assert all(a["corrective_action"]["immediate_action"] == WITHHELD for a in withheld)

        pdf = world[producer].client.get(
            url, params={"format": "pdf"}, headers=world[producer].headers
        )
        assert pdf.status_code == 200, pdf.text
        shown = pdf_text(pdf.content)
        assert f"{own}-cause" in shown and f"{own}-justification-{mine}" in shown
        assert "non repris dans cet extrait" in shown
        for leak in (theirs, "noteDelivery-immediate", "noteDelivery-cause", "noteVan"):
            assert leak not in shown, (producer, leak)


def test_a_lot_reference_two_producers_share_is_nobodys_own(world, reading_store) -> None:
    """LOT-L2 renamed LOT-L1 in the document: an alert naming « LOT-L1 » may be about P2's
    lot, so P1 reads neither its action's text nor the justification."""
    record = sealed_delivery(world, reading_store)
    sealed = world["hygiene_a"].ok("GET", f"/api/v1/records/{record['id']}/json")
    doc = json.loads(sealed["document"])
    ids = world.ids
    for load in doc["loads"]:
        if load["id"] == ids["L2"]:
            load["lot_reference"] = "LOT-L1"
    action = {
        "recorded_at": "2026-03-10T08:00:00Z",
        "action_at": "2026-03-10T07:15:00Z",
        "immediate_action": "secret-immediate",
        "product_assessment": "secret-assessment",
        "root_cause": "secret-cause",
        "preventive_action": "secret-preventive",
        "afsca_notified": False,
        "afsca_reason": "secret-afsca",
        "lot_decisions": [
            {"lot_reference": "LOT-L1", "decision": "release", "justification": "secret-lot"}
        ],
    }
    doc["alerts"] = [
        {
            "kind": "temperature_excursion",
            "severity": "warning",
            "state": "closed",
            "zone_id": ids["VA_frais"],
            "start_at": "2026-03-10T07:00:00Z",
            "end_at": "2026-03-10T07:05:00Z",
            "peak": 6.5,
            "text_fr": "frais : 6,5 °C",
            "lots": ["LOT-L1"],
            "corrective_action": action,
        }
    ]
    consignors = {load["id"]: ids["P2"] for load in doc["loads"]}
    consignors[ids["L1"]] = ids["P1"]
    seal = Seal(record["id"], record["record_hash"], record["previous_hash"])
    got = extract(doc, seal, ids["P1"], consignors)
    assert "secret" not in json.dumps(got, ensure_ascii=False)
    (alert,) = got["alerts"]
    assert alert["corrective_action"]["text_withheld"]
    assert alert["corrective_action"]["lot_decisions"] == [
        {"lot_reference": "LOT-L1", "decision": "release", "justification": "—"}
    ]
