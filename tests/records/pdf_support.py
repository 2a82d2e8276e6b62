"""Data for the PDF documents' tests (tests/records/test_pdf_documents.py): every channel a
probe sends (coldchain.protocol.CHANNELS), quantities that need a plural and a thousands
separator, a corrective action with a core temperature, a door left open.

Delivery DA (tests/records/support.py, on D1), more lots:
  LOT-YAOURT   chilled_retail, 1234 pièce, zone frais
  LOT-MEULE    chilled_retail, 1 pièce, zone frais
  LOT-BATON    quick_frozen, 40 pièce, zone surgelé
  LOT-BOEUF    quick_frozen, 8 kg, zone surgelé
Probe van-a-1 (frais): air and product every minute 06:00–10:30 (6,5 °C from 08:00 to
08:10), humidity (80–85 %RH), supply voltage (12,4–12,8 V), the door opened at both stops;
silent 09:00–09:40 (offline). Probe van-a-2 (surgelé): air -20 °C with a tolerated rise to
-16,5 °C from 08:30 to 08:40, supply voltage.
Cold room CR1 (probe cr1) for ten days from D1: air every 5 min (4 °C, 9 °C from 10:00 to
10:30 on the third day), humidity, a 3,6 V cell, the door opened twice a day, silent for
three hours on the fifth day.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.core.models.alerts import CorrectiveAction
from tests.records.support import (
    END,
    EXCURSION,
    GAP,
    START,
    frais_alert,
    frais_value,
    prepare,
    run,
    store_action,
    store_alert,
)
from tests.server.world import D1, World, brussels

MORE_LOTS = (
    ("YAOURT", "LOT-YAOURT", "chilled_retail", "VA_frais", "1234", "pièce"),
    ("MEULE", "LOT-MEULE", "chilled_retail", "VA_frais", "1", "pièce"),
    ("BATON", "LOT-BATON", "quick_frozen", "VA_surgele", "40", "pièce"),
    ("BOEUF", "LOT-BOEUF", "quick_frozen", "VA_surgele", "8", "kg"),
)
ALL_LOTS = ("L1", "L2", "HACHE", "GLACE", *(key for key, *_ in MORE_LOTS))
DOOR_OPEN = ((brussels(D1, 7, 2), brussels(D1, 7, 9)), (brussels(D1, 10, 1), brussels(D1, 10, 8)))
TOLERATED = (brussels(D1, 8, 30), brussels(D1, 8, 40))
BATTERY_VAN = (12.4, 12.8)  # volts: no temperature of the delivery is near these
BATTERY_CELL = 3.6  # volts: the cold room's temperatures are 4 °C and 9 °C
ROOM_DAYS = 10


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def prepare_rich(world: World) -> None:
    """support.prepare (minced meat, ice cream, probe van-a-2, a calibration) and four more
    lots whose quantities need words: 1234 pièces, 1 pièce, 40 pièces, 8 kg."""
    prepare(world)
    ids, admin = world.ids, world["admin_a"]
    for key, ref, category, zone, quantity, unit in MORE_LOTS:
        body = {
            "lot_reference": ref,
            "description": f"Produit {ref[4:].lower()}",
            "category": category,
            "quantity": quantity,
            "unit": unit,
            "consignor_id": ids["P2"],
            "consignee": "Cantine de Virton",
            "label_max_c": None,
            "zone_id": ids[zone],
            "pickup_stop_id": ids["A_pickup"],
            "drop_stop_id": ids["A_drop"],
        }
        ids[key] = admin.ok("POST", f"/api/v1/deliveries/{ids['DA']}/loads", body, 201)["id"]


def delivery_readings(store: SqliteReadingStore, late: bool = False) -> int:
    """The delivery's readings; `late`: only those of the 09:00–09:40 silence of van-a-1
    (its backlog arriving after the record was sealed)."""
    rows: list[Reading] = []
    for i in range(int((END - START).total_seconds() // 60)):
        at = START + timedelta(minutes=i)
        t = ms(at)
        silent = GAP[0] <= at < GAP[1]
        if silent == late:
            air = frais_value(i)
            rows += [
                Reading("van-a-1", "air", t, i, air),
                Reading("van-a-1", "product", t, 10_000 + i, air - 0.2),
                Reading("van-a-1", "humidity", t, 20_000 + i, 80.0 + (i % 6)),
                Reading("van-a-1", "battery", t, 30_000 + i, 12.4 + (i % 5) / 10),
            ]
        if late:
            continue
        frozen = -16.5 if TOLERATED[0] <= at < TOLERATED[1] else -20.0
        rows += [
            Reading("van-a-2", "air", t, i, frozen),
            Reading("van-a-2", "battery", t, 30_000 + i, 12.6),
        ]
    if not late:
        for n, (opened, shut) in enumerate(DOOR_OPEN):
            rows += [
                Reading("van-a-1", "door", ms(opened), 40_000 + 2 * n, 1.0),
                Reading("van-a-1", "door", ms(shut), 40_001 + 2 * n, 0.0),
            ]
    store.write(rows)
    return len(rows)


def run_rich(world: World) -> None:
    """support.run with every lot, the minced meat refused as « trop chaud » and its core
    temperature taken at the drop."""
    run(world, lots=ALL_LOTS, refusal="trop chaud", core_temperature_c=3.1)


def add_alerts(app: Any, world: World) -> None:
    """As the alert worker records them: the frais excursion with its corrective action (core
    temperature taken with a thermometer, a decision for two lots), and a door left open
    that nobody acted on yet."""
    ids = world.ids
    with app.state.sessionmaker() as session:
        excursion = frais_alert(
            ids, "exc-frais-pdf", channel="product", severity="critical", state="action_recorded"
        )
        store_alert(session, ids, excursion, [("L1", "P1"), ("YAOURT", "P2")])
        door = frais_alert(
            ids,
            "door-frais-pdf",
            between=DOOR_OPEN[1],
            kind="door_open",
            channel="door",
            state="open",
            peak=1.0,
            text_fr="Zone frais : porte ouverte 7 min",
            text_en="Zone frais: door open 7 min",
        )
        store_alert(session, ids, door)
        action = CorrectiveAction(
            alert_id=excursion.id,
            recorded_by_id=world.user_ids["hygiene_a"],
            immediate_action="Porte refermée, groupe vérifié",
            action_at=EXCURSION[1],
            core_temperature_c=5.8,
            core_measured_at=EXCURSION[1],
            thermometer="Testo 104 n° 4471",
            product_assessment="Produit contrôlé à cœur",
            root_cause="Porte mal fermée",
            preventive_action="Rappel aux chauffeurs",
            afsca_notified=False,
            afsca_reason="Pas de risque pour la santé",
        )
        decisions = [
            ("L1", "release", "5,8 °C à cœur"),
            ("YAOURT", "shorten_shelf_life", "DLC ramenée à J+2"),
        ]
        store_action(session, ids, action, decisions)
        session.commit()


def sealed_rich_delivery(app: Any, world: World, store: SqliteReadingStore) -> Any:
    """The delivery run and closed with every channel: closing seals version 1."""
    prepare_rich(world)
    delivery_readings(store)
    add_alerts(app, world)
    run_rich(world)
    versions = world["hygiene_a"].ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    assert [v["version"] for v in versions] == [1]
    return versions[0]


def room_readings(store: SqliteReadingStore) -> int:
    """Cold room CR1 for ROOM_DAYS days from D1 (Brussels)."""
    start = brussels(D1, 0)
    rows: list[Reading] = []
    silence = (start + timedelta(days=4, hours=6), start + timedelta(days=4, hours=9))
    for i in range(0, ROOM_DAYS * 24 * 60, 5):
        at = start + timedelta(minutes=i)
        if silence[0] <= at < silence[1]:
            continue
        day, minute = divmod(i, 24 * 60)
        air = 9.0 if day == 2 and 600 <= minute < 630 else 4.0
        t = ms(at)
        rows += [
            Reading("cr1", "air", t, i, air),
            Reading("cr1", "humidity", t, 100_000 + i, 85.0),
            Reading("cr1", "battery", t, 200_000 + i, BATTERY_CELL),
        ]
    for day in range(ROOM_DAYS):
        for n, (hour, minutes) in enumerate(((8, 5), (17, 12))):
            opened = brussels(D1, hour) + timedelta(days=day)
            seq = 300_000 + 4 * day + 2 * n
            rows += [
                Reading("cr1", "door", ms(opened), seq, 1.0),
                Reading("cr1", "door", ms(opened + timedelta(minutes=minutes)), seq + 1, 0.0),
            ]
    store.write(rows)
    return len(rows)
