"""The inspection ZIP as an AFSCA inspector reads it (server/records/inspection.py,
readme.py, coverage.py): every entry dated with the export's time on the site's clock,
LISEZMOI.txt saying what each file is, the period, the locations, who exported it and
when, with hashes that match; a location without readings says why; an empty calibration
register says so; the alert log carries the whole corrective action; and no value a person
reads in a CSV is an English code of the system's enums.

Real components: the app and the world of tests/server, the delivery of
tests/records/support.py, the real SQLite reading store."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from alerts.findings import AlertKind, Severity
from coldchain import clock
from coldchain.protocol import CHANNELS, FAULT_CODES, Reading
from server.alerting.maintenance import KIND as CALIBRATION_OVERDUE
from server.core.calibration import Result
from server.core.models.alerts import AlertState, CorrectiveAction, Decision
from server.records.vocabulary import value
from tests.records.support import (
    EXCURSION,
    frais_alert,
    sealed_delivery,
    store_action,
    store_alert,
)
from tests.server.world import BRUSSELS, D1, World, brussels, iso
from tests.support.probes import install_new_probe

PERIOD = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D1, 0) + timedelta(days=1))}
ENUMS: tuple[type[StrEnum], ...] = (AlertKind, Severity, AlertState, Decision, Result)
# Every code the system stores and a CSV could show: alert kinds (engine and maintenance),
# severities, states, lot decisions, calibration results, channels, probe fault codes.
CODES = (
    {member.value for enum in ENUMS for member in enum}
    | set(CHANNELS)
    | set(FAULT_CODES)
    | {CALIBRATION_OVERDUE}
)


def rows_of(archive: zipfile.ZipFile, name: str) -> list[list[str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def export(world: World, body: dict[str, Any], user: str = "hygiene_a") -> zipfile.ZipFile:
    response = world[user].client.post(
        "/api/v1/records/inspection-export", json=body, headers=world[user].headers
    )
    assert response.status_code == 200, response.text
    return zipfile.ZipFile(io.BytesIO(response.content))


def add_alert_with_full_action(app: Any, world: World) -> None:
    """A critical excursion on the zone « frais » with its whole corrective action, as the
    alert worker and the officer's alert page record them (tests/alerting runs those)."""
    ids = world.ids
    with app.state.sessionmaker() as session:
        alert = frais_alert(
            ids,
            "exc-frais-full",
            kind=AlertKind.TEMPERATURE,
            channel="product",
            severity=Severity.CRITICAL,
            state=AlertState.CLOSED,
            acknowledged_by_id=world.user_ids["driver_a"],
            acknowledged_at=EXCURSION[0] + timedelta(minutes=2),
            closed_by_id=world.user_ids["hygiene_a"],
            closed_at=EXCURSION[1] + timedelta(hours=3),
            review_note="Action suffisante, revue le jour même",
        )
        store_alert(session, ids, alert, [("L1", "P1"), ("L2", "P2")])
        action = CorrectiveAction(
            alert_id=alert.id,
            recorded_by_id=world.user_ids["hygiene_a"],
            recorded_at=EXCURSION[1] + timedelta(hours=1),
            immediate_action="Porte refermée, groupe froid vérifié",
            action_at=EXCURSION[1] + timedelta(minutes=5),
            core_temperature_c=5.8,
            core_measured_at=EXCURSION[1] + timedelta(minutes=7),
            thermometer="Testo 104 n° 4471",
            product_assessment="Produit à 5,8 °C à cœur, sous la limite de l'étiquette",
            root_cause="Joint de porte abîmé",
            preventive_action="Remplacer le joint de porte",
            preventive_due=date(2026, 3, 20),
            preventive_owner="Garage Lambert",
            afsca_notified=False,
            afsca_reason="Pas de risque pour la santé",
        )
        decisions = [
            ("L1", Decision.RELEASE, "5,8 °C à cœur"),
            ("L2", Decision.SHORTEN_SHELF_LIFE, "DLC ramenée à 2 jours"),
        ]
        store_action(session, ids, action, decisions)
        session.commit()


def test_every_code_the_system_stores_has_a_french_name() -> None:
    for code in CODES:
        assert value(code) != code or code == "air", code  # « air » is French too
        assert value(code, "en"), code


def test_zip_dated_readme_hashes_full_action_and_french_values(world, app, reading_store) -> None:
    ids = world.ids
    add_alert_with_full_action(app, world)  # before sealing: the record carries it too
    sealed_delivery(world, reading_store)
    start_ms = int(brussels(D1, 0).timestamp() * 1000)
    reading_store.write(  # the room: product channel, and a probe fault
        [Reading("cr1", "air", start_ms + i * 120_000, i, 4.0) for i in range(0, 700)]
        + [Reading("cr1", "product", start_ms + 60_000, 5000, 3.5)]
        + [Reading("cr1", "air", start_ms + 90_000, 5001, None, "disconnected")]
    )
    before = clock.utcnow()
    body = {**PERIOD, "van_ids": [ids["VA"]], "cold_room_ids": [ids["CR1"], ids["CRA"]]}
    archive = export(world, body)
    after = clock.utcnow()

    # Every entry dated with the export's time (site's zone), none with the ZIP's 1980.
    for info in archive.infolist():
        stamped = datetime(*info.date_time, tzinfo=BRUSSELS)
        assert before <= stamped <= after + timedelta(seconds=2), (info.filename, stamped)
        assert info.external_attr >> 16 == 0o644, info.filename

    # LISEZMOI.txt: what, when, who, where, each file with what it is and its hash.
    readme = archive.read("LISEZMOI.txt").decode()
    flat = readme.replace("\n  ", " ")  # a long item goes on, indented, on the next lines
    frais = f"emplacements/vehicule-{ids['VA']}-zone-{ids['VA_frais']}"
    room = f"emplacements/chambre-froide-{ids['CR1']}"
    depot = f"emplacements/chambre-froide-{ids['CRA']}"
    for expected in (
        "Export d'inspection AFSCA",
        "Coopérative : Coopérative de Liège",
        "Période : du 10/03/2026 00:00 au 11/03/2026 00:00 (heure locale, fuseau Europe/Brussels)",
        f"Exporté par Hygiene A (responsable hygiène), le {before.astimezone(BRUSSELS):%d/%m/%Y}",
        "- Fourgon 1 (1-ABC-123) — zone frais : ",
        "- Chambre froide chèvrerie : 702 mesures",
        f"- {room}/releves.csv : relevés de températures de Chambre froide",
        f"- {frais}/resume.pdf : résumé de Fourgon 1",
        "- alertes_et_actions_correctives.csv : journal des alertes et des actions correctives",
        f"- enregistrements/livraison-{ids['DA']}-v1.pdf : enregistrement scellé de la "
        f"livraison n° {ids['DA']}, version 1",
        "- registre_etalonnages.csv : registre des étalonnages",
        "- plan_haccp.pdf : plan HACCP",
        "toutes les valeurs sont en français",
    ):
        assert expected in flat, expected
    listed: dict[str, str] = {}  # name -> SHA-256, as `sha256sum` writes them
    for line in readme.splitlines():
        if re.fullmatch(r"[0-9a-f]{64}  \S+", line):
            digest, name = line.split("  ", 1)
            listed[name] = digest
    assert set(listed) == set(archive.namelist()) - {"LISEZMOI.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256(archive.read(name)).hexdigest() == digest, name
        assert f"- {name} : " in flat, name  # and said what it is

    # The alert log: the whole corrective action, in French.
    header, *alerts = rows_of(archive, "alertes_et_actions_correctives.csv")
    (row,) = [dict(zip(header, r, strict=True)) for r in alerts if "Joint" in ";".join(r)]
    assert row["emplacement"] == "Fourgon 1 (1-ABC-123) — zone frais"
    assert (row["type"], row["gravite"], row["etat"], row["canal"]) == (
        "dépassement de température",
        "critique",
        "clôturée",
        "produit (simulant)",
    )
    assert row["action_immediate"] == "Porte refermée, groupe froid vérifié"
    assert row["action_le"] == "10/03/2026 08:15"
    assert (row["temperature_coeur_c"], row["thermometre"], row["mesure_coeur_le"]) == (
        "5,8",
        "Testo 104 n° 4471",
        "10/03/2026 08:17",
    )
    assert row["evaluation_produit"].startswith("Produit à 5,8 °C à cœur")
    assert row["decisions_lots"] == (
        "LOT-L1 : libéré (5,8 °C à cœur); "
        "LOT-L2 : déclassé : DLC raccourcie (DLC ramenée à 2 jours)"
    )
    assert (row["cause"], row["action_preventive"]) == (
        "Joint de porte abîmé",
        "Remplacer le joint de porte",
    )
    assert (row["echeance_preventive"], row["responsable_preventive"]) == (
        "20/03/2026",
        "Garage Lambert",
    )
    assert (row["afsca_notifiee"], row["raison_afsca"]) == ("non", "Pas de risque pour la santé")
    assert (row["action_enregistree_par"], row["action_enregistree_le"]) == (
        "Hygiene A",
        "10/03/2026 09:10",
    )
    assert (row["pris_en_charge_par"], row["cloturee_par"]) == ("Driver A", "Hygiene A")
    assert row["note_de_revue"] == "Action suffisante, revue le jour même"

    # The room's readings: the channel and the fault by their French names.
    readings = rows_of(archive, f"{room}/releves.csv")
    assert {r[3] for r in readings[1:]} == {"air", "produit (simulant)"}
    assert ["sonde déconnectée"] == [r[7] for r in readings[1:] if r[7]]

    # No value a person reads in any CSV is a code of the system's enums (« air » is French).
    english = {code for code in CODES if value(code) != code}
    for name in archive.namelist():
        if not name.endswith(".csv"):
            continue
        for cells in rows_of(archive, name)[1:]:  # the first row: column names, documented
            for cell in cells:
                words = set(re.findall(r"[a-z0-9_]+", cell.lower()))
                assert not words & english, (name, cell)

    # The depot's room has no probe at all: its CSV and the readme say so.
    empty = rows_of(archive, f"{depot}/releves.csv")
    why = "aucune donnée : sonde non installée du 10/03/2026 00:00 au 11/03/2026 00:00"
    assert empty[1:] == [[why]]
    assert f"- Chambre froide du dépôt : {why}" in flat


def test_empty_locations_say_why_and_empty_register_says_so(world) -> None:
    """No reading anywhere: the depot's room got a probe at noon (silent since), the
    producer's room had one all day (silent), and cooperative B had no delivery with the
    shared van that day."""
    ids = world.ids
    install_new_probe(
        world["admin_a"], "cra-1", ids["A"], brussels(D1, 12), cold_room_id=ids["CRA"]
    )
    archive = export(world, {**PERIOD, "cold_room_ids": [ids["CRA"], ids["CR1"]]})
    depot = rows_of(archive, f"emplacements/chambre-froide-{ids['CRA']}/releves.csv")
    assert depot[1:] == [
        [
            "aucune donnée : sonde non installée du 10/03/2026 00:00 au 10/03/2026 12:00 ; "
            "sonde cra-1 installée mais aucune mesure reçue du 10/03/2026 12:00 au "
            "11/03/2026 00:00"
        ]
    ]
    room = rows_of(archive, f"emplacements/chambre-froide-{ids['CR1']}/releves.csv")
    silent = (
        "aucune donnée : sonde cr1 installée mais aucune mesure reçue du 10/03/2026 00:00 "
        "au 11/03/2026 00:00"
    )
    assert room[1:] == [[silent]]
    readme = archive.read("LISEZMOI.txt").decode()
    assert silent in readme.replace("\n  ", " ")
    register = rows_of(archive, "registre_etalonnages.csv")
    assert register[0][:2] == ["sonde", "canal"]
    assert register[1:] == [["aucun étalonnage enregistré sur la période"]]
    alerts = rows_of(archive, "alertes_et_actions_correctives.csv")
    assert alerts[1:] == [["aucune alerte sur la période à ces emplacements"]]

    theirs = export(world, {**PERIOD, "van_ids": [ids["VA"]]}, user="hygiene_b")
    frais = rows_of(theirs, f"emplacements/vehicule-{ids['VA']}-zone-{ids['VA_frais']}/releves.csv")
    assert frais[1][0].startswith(
        "aucune donnée : aucune livraison de votre coopérative avec ce véhicule pendant la période"
    )
