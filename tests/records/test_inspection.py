"""The inspection export: every expected file, CSV rows matching the stored readings,
alerts with corrective actions, calibrations, the HACCP plan; hostile requests refused."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader

from coldchain.protocol import Reading
from server.core.models.alerts import Alert, AlertLot, CorrectiveAction
from tests.records.support import EXCURSION, cold_room_day, sealed_delivery
from tests.server.world import D1, D2, brussels, iso

PERIOD = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D1, 0) + timedelta(days=1))}


def _frais_excursion(
    ids: dict[str, int], coop: str, state: str, text: tuple[str, str], **fields: Any
) -> Alert:
    """A temperature excursion of probe van-a-1 in zone « frais » of the shared van VA during
    cooperative `coop`'s delivery (DA or DB), as the alert worker (server/alerting) records
    one; `text` in French and English; `fields` give the rest."""
    return Alert(
        kind="temperature_excursion",
        engine_status=state,
        state=state,
        location_key=f"zone:{ids['VA_frais']}",
        zone_id=ids["VA_frais"],
        van_id=ids["VA"],
        delivery_id=ids[f"D{coop}"],
        cooperative_id=ids[coop],
        probe_id="van-a-1",
        channel="air",
        detected_late=False,
        text_fr=text[0],
        text_en=text[1],
        record={},
        **fields,
    )


def _add_alert(app, world) -> None:
    """An alert with its corrective action, written as the alert worker (server/alerting)
    records them: running the worker end to end is tests/alerting's job."""
    ids = world.ids
    with app.state.sessionmaker() as session:
        alert = _frais_excursion(
            ids,
            coop="A",
            uid="exc-frais-1",
            severity="warning",
            state="closed",
            start_at=EXCURSION[0],
            last_out_at=EXCURSION[1],
            end_at=EXCURSION[1],
            peak=6.5,
            detected_at=EXCURSION[0],
            text=("Zone frais : 6,5 °C pendant 10 min", "Zone frais: 6.5 °C for 10 min"),
        )
        session.add(alert)
        session.flush()
        session.add(
            AlertLot(
                alert_id=alert.id, load_id=ids["L1"], delivery_id=ids["DA"], consignor_id=ids["P1"]
            )
        )
        session.add(
            CorrectiveAction(
                alert_id=alert.id,
                recorded_by_id=world.user_ids["hygiene_a"],
                immediate_action="Porte refermée, groupe vérifié",
                action_at=EXCURSION[1],
                product_assessment="Produit à 5,8 °C à cœur",
                root_cause="Porte mal fermée",
                preventive_action="Rappel aux chauffeurs",
                afsca_notified=False,
                afsca_reason="Pas de risque pour la santé",
            )
        )
        session.commit()


def test_inspection_zip(world, app, reading_store) -> None:
    ids = world.ids
    _add_alert(app, world)  # before sealing: the record carries it too
    record = sealed_delivery(world, reading_store)
    cold_room_day(reading_store, usual=4.0, warm=9.0)
    body = {**PERIOD, "van_ids": [ids["VA"]], "cold_room_ids": [ids["CR1"]]}
    response = world["hygiene_a"].client.post(
        "/api/v1/records/inspection-export", json=body, headers=world["hygiene_a"].headers
    )
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    frais = f"emplacements/vehicule-{ids['VA']}-zone-{ids['VA_frais']}"
    surgele = f"emplacements/vehicule-{ids['VA']}-zone-{ids['VA_surgele']}"
    room = f"emplacements/chambre-froide-{ids['CR1']}"
    expected = {
        f"{place}/{name}"
        for place in (frais, surgele, room)
        for name in ("releves.csv", "resume.pdf")
    } | {
        "alertes_et_actions_correctives.csv",
        f"enregistrements/livraison-{ids['DA']}-v1.pdf",
        f"enregistrements/livraison-{ids['DA']}-v1.json",
        "registre_etalonnages.csv",
        "plan_haccp.pdf",
        "LISEZMOI.txt",
    }
    assert names == expected

    start_ms = int(brussels(D1, 0).timestamp() * 1000)
    end_ms = start_ms + 86_400_000
    for place, probe in ((frais, "van-a-1"), (surgele, "van-a-2"), (room, "cr1")):
        rows = list(
            csv.reader(
                io.StringIO(archive.read(f"{place}/releves.csv").decode("utf-8-sig")), delimiter=";"
            )
        )
        assert len(rows) - 1 == reading_store.count(probe, start_ms, end_ms) > 0
    calibrated = list(
        csv.reader(
            io.StringIO(archive.read(f"{frais}/releves.csv").decode("utf-8-sig")), delimiter=";"
        )
    )[1:]
    assert calibrated[0][4] == "3,200" and calibrated[0][5] == "3,000"  # raw and calibrated

    alerts = archive.read("alertes_et_actions_correctives.csv").decode("utf-8-sig")
    assert "Porte mal fermée" in alerts and "LOT-L1" in alerts
    register = archive.read("registre_etalonnages.csv").decode("utf-8-sig")
    assert "Testo 104 n° 4471" in register and "Marie Lambert" in register

    def pdf_text(name: str) -> str:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(archive.read(name))).pages)

    plan = pdf_text("plan_haccp.pdf")
    for expected_text in (
        "Viande hachée",
        "853/2004",
        "Denrées surgelées",
        "Choix HACCP de la coopérative",  # the frozen tolerance's length
        "Testo 104",
    ):
        assert expected_text in plan
    summary = pdf_text(f"{room}/resume.pdf")
    assert "Chambre froide" in summary and "9,0 °C" in summary and "10/03/2026" in summary
    assert "Dépassements" in summary and "7,0 °C" in summary
    zone_summary = pdf_text(f"{frais}/resume.pdf")
    assert "Zone frais : 6,5 °C pendant 10 min" in zone_summary
    delivery = pdf_text(f"enregistrements/livraison-{ids['DA']}-v1.pdf")
    assert (
        "LOT-HACHE" in delivery
        and "NON CONFORME" in delivery
        and record["record_hash"] in delivery.replace("\n", "")
    )
    assert "Porte mal fermée" in delivery

    readme = archive.read("LISEZMOI.txt").decode()
    for name in expected - {"LISEZMOI.txt"}:
        assert f"{hashlib.sha256(archive.read(name)).hexdigest()}  {name}" in readme


@pytest.mark.parametrize(
    ("user", "body", "status"),
    [
        (
            "hygiene_a",
            {
                "start": PERIOD["start"],
                "end": iso(brussels(D1, 0) + timedelta(days=500)),
                "van_ids": ["VA"],
            },
            422,
        ),
        ("hygiene_a", {"start": PERIOD["end"], "end": PERIOD["start"], "van_ids": ["VA"]}, 422),
        ("hygiene_a", {**PERIOD}, 422),
        ("hygiene_a", {**PERIOD, "van_ids": [999_999]}, 404),
        ("hygiene_a", {**PERIOD, "van_ids": ["VB"]}, 404),  # coop B's own van
        ("hygiene_a", {**PERIOD, "cold_room_ids": ["CR3"]}, 404),  # producer 3's room (coop B)
        ("hygiene_a", {**PERIOD, "van_ids": [1] * 51}, 422),
        ("hygiene_a", {**PERIOD, "van_ids": ["x"]}, 422),
        ("hygiene_a", {**PERIOD, "van_ids": [2**40]}, 422),
        ("hygiene_a", {**PERIOD, "van_ids": ["VA"], "extra": 1}, 422),
        (
            "hygiene_a",
            {"start": "2026-03-10T00:00:00", "end": PERIOD["end"], "van_ids": ["VA"]},
            422,
        ),
        ("driver_a", {**PERIOD, "van_ids": ["VA"]}, 403),
    ],
)
def test_hostile_export_requests(world, user, body, status) -> None:
    ids = world.ids
    for key in ("van_ids", "cold_room_ids"):
        if key in body:
            body = {**body, key: [ids.get(v, v) if isinstance(v, str) else v for v in body[key]]}
    response = world[user].client.post(
        "/api/v1/records/inspection-export", json=body, headers=world[user].headers
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]


def test_records_of_another_cooperative_are_invisible(world, reading_store) -> None:
    record = sealed_delivery(world, reading_store)
    other = world["hygiene_b"]
    for url in (
        f"/api/v1/records/{record['id']}/pdf",
        f"/api/v1/records/{record['id']}/json",
        f"/api/v1/records/{record['id']}/csv",
        f"/api/v1/records/deliveries/{world.ids['DA']}",
    ):
        assert other.get(url).status_code == 404
    assert other.post(f"/api/v1/records/deliveries/{world.ids['DA']}/seal").status_code == 404
    assert (
        other.get("/api/v1/records/verify", params={"cooperative_id": world.ids["A"]}).status_code
        == 403
    )
    assert other.get("/api/v1/records/verify", params={"cooperative_id": 0}).status_code == 422
    assert other.post(f"/api/v1/records/deliveries/{world.ids['DB']}/seal").status_code == 409
    assert other.get("/api/v1/records/999999/pdf").status_code == 404
    # A producer with a lot on board does not get the whole record: it shows other
    # producers' lots and the zone's temperatures outside their lot's time on board.
    assert world["producer1"].get(f"/api/v1/records/{record['id']}/pdf").status_code == 404
    csv_text = (
        world["hygiene_a"].get(f"/api/v1/records/{record['id']}/csv").content.decode("utf-8-sig")
    )
    assert csv_text.count("\r\n") - 1 == 230 + 270


def test_shared_van_export_keeps_to_the_viewers_deliveries(world, app, reading_store) -> None:
    """Van VA is shared: coop A's export shows neither coop B's day of readings on it nor
    the alert raised during coop B's delivery."""
    ids = world.ids
    d2 = brussels(D2, 6)
    reading_store.write(
        [
            Reading("van-a-1", "air", int((d2 + timedelta(minutes=i)).timestamp() * 1000), i, 3.0)
            for i in range(60)
        ]
        + [
            Reading(
                "van-a-1",
                "air",
                int((brussels(D1, 6) + timedelta(minutes=i)).timestamp() * 1000),
                1000 + i,
                3.0,
            )
            for i in range(30)
        ]
    )
    with app.state.sessionmaker() as session:
        session.add(
            _frais_excursion(
                ids,
                coop="B",
                uid="exc-b",
                severity="critical",
                state="open",
                start_at=d2 + timedelta(minutes=10),
                last_out_at=d2,
                peak=9.0,
                detected_at=d2,
                text=("Alerte de la coopérative B", "B"),
            )
        )
        session.commit()
    body = {
        "start": iso(brussels(D1, 0)),
        "end": iso(brussels(D2, 0) + timedelta(days=2)),
        "van_ids": [ids["VA"]],
    }

    def export(user: str) -> zipfile.ZipFile:
        response = world[user].client.post(
            "/api/v1/records/inspection-export", json=body, headers=world[user].headers
        )
        assert response.status_code == 200, response.text
        return zipfile.ZipFile(io.BytesIO(response.content))

    frais = f"emplacements/vehicule-{ids['VA']}-zone-{ids['VA_frais']}"
    mine = export("hygiene_a")
    assert mine.read(f"{frais}/releves.csv").decode("utf-8-sig").count("\r\n") - 1 == 30
    assert "Alerte de la coopérative B" not in mine.read(
        "alertes_et_actions_correctives.csv"
    ).decode("utf-8-sig")
    theirs = export("hygiene_b")  # coop B uses VA through the pool: its own day only
    assert theirs.read(f"{frais}/releves.csv").decode("utf-8-sig").count("\r\n") - 1 == 60
    assert "Alerte de la coopérative B" in theirs.read("alertes_et_actions_correctives.csv").decode(
        "utf-8-sig"
    )
