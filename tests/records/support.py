"""A delivery worth a record: coop A's delivery DA on D1 with three lots in two zones.

  LOT-L1, LOT-L2  chilled_retail, label 6 °C, zone frais   -> 10 min at 6.5 °C: écart toléré
  LOT-HACHE       minced_meat (2 °C), zone frais           -> above 2 °C all along: non conforme,
                                                              refused at the drop
  LOT-GLACE       quick_frozen (-18 °C), zone surgelé       -> -20 °C: conforme
Readings every minute from 06:00 to 10:30 (Brussels) on van-a-1 (frais, air, calibrated
-0.2 °C from D1 05:00) and van-a-2 (surgelé, air); a 40-minute gap on van-a-1 at 09:00.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.server.world import D1, World, brussels, iso

START, END = brussels(D1, 6, 0), brussels(D1, 10, 30)
GAP = (brussels(D1, 9, 0), brussels(D1, 9, 40))
EXCURSION = (brussels(D1, 8, 0), brussels(D1, 8, 10))


def frais_value(minute: int) -> float:
    at = START + timedelta(minutes=minute)
    return 6.7 if EXCURSION[0] <= at < EXCURSION[1] else 3.2  # raw; calibrated = raw - 0.2


def write_readings(store: SqliteReadingStore, start=START, end=END, seq0: int = 0) -> int:
    rows = []
    minutes = int((end - start).total_seconds() // 60)
    offset = int((start - START).total_seconds() // 60)
    for i in range(minutes):
        at = start + timedelta(minutes=i)
        ms = int(at.timestamp() * 1000)
        if not (GAP[0] <= at < GAP[1]):
            rows.append(Reading("van-a-1", "air", ms, seq0 + i, frais_value(offset + i)))
        rows.append(Reading("van-a-2", "air", ms, seq0 + i, -20.0))
    store.write(rows)
    return len(rows)


def prepare(world: World) -> None:
    """Extra lots, the second probe, a calibration (before the delivery runs)."""
    ids, admin = world.ids, world["admin_a"]
    url = f"/api/v1/deliveries/{ids['DA']}/loads"
    for key, ref, category, zone, label in (
        ("HACHE", "LOT-HACHE", "minced_meat", "VA_frais", None),
        ("GLACE", "LOT-GLACE", "quick_frozen", "VA_surgele", None),
    ):
        body = {
            "lot_reference": ref,
            "description": "Haché de bœuf" if key == "HACHE" else "Glace vanille",
            "category": category,
            "quantity": "4",
            "unit": "kg",
            "consignor_id": ids["P2"],
            "consignee": "Cantine de Virton",
            "label_max_c": label,
            "zone_id": ids[zone],
            "pickup_stop_id": ids["A_pickup"],
            "drop_stop_id": ids["A_drop"],
        }
        ids[key] = admin.ok("POST", url, body, 201)["id"]
    ids["probe_VA2"] = admin.ok(
        "POST", "/api/v1/probes", {"probe_id": "van-a-2", "owner_id": ids["A"]}, 201
    )["id"]
    admin.ok(
        "POST",
        f"/api/v1/probes/{ids['probe_VA2']}/installations",
        {"zone_id": ids["VA_surgele"], "start": iso(brussels(D1, 0).replace(day=1))},
        201,
    )
    admin.ok(
        "POST",
        f"/api/v1/probes/{ids['probe_VA']}/calibrations",
        {
            "channel": "air",
            "offset": -0.2,
            "calibrated_at": iso(brussels(D1, 5)),
            "reference_instrument": "Testo 104 n° 4471",
            "performed_by": "Marie Lambert",
            "next_due": "2026-09-10",
        },
        201,
    )


def run(world: World, receiver: str = "Mme Collard", close: bool = True) -> None:
    """Depart 06:50, pickup 07:05 (all accepted), drop 10:05 (minced meat refused), close 10:30."""
    ids, driver = world.ids, world["driver_a"]
    url = f"/api/v1/deliveries/{ids['DA']}"
    departure = {
        "checked_at": iso(brussels(D1, 6, 50)),
        "zones": [
            {"zone_id": ids["VA_frais"], "temperature_c": 1.5},
            {"zone_id": ids["VA_surgele"], "temperature_c": -20.0},
        ],
    }
    driver.ok("POST", f"{url}/departure", departure)
    lots = ("L1", "L2", "HACHE", "GLACE")
    pickup = [{"load_id": ids[k], "accepted": True} for k in lots]
    driver.ok(
        "POST",
        f"{url}/stops/{ids['A_pickup']}/handover",
        {"at": iso(brussels(D1, 7, 5)), "decisions": pickup},
        201,
    )
    drop = [
        {
            "load_id": ids[k],
            "accepted": k != "HACHE",
            "reason": "viande trop chaude" if k == "HACHE" else None,
        }
        for k in lots
    ]
    driver.ok(
        "POST",
        f"{url}/stops/{ids['A_drop']}/handover",
        {"at": iso(brussels(D1, 10, 5)), "receiver_name": receiver, "decisions": drop},
        201,
    )
    if close:
        close_delivery(world)


def close_delivery(world: World) -> None:
    url = f"/api/v1/deliveries/{world.ids['DA']}/close"
    world["driver_a"].ok("POST", url, {"closed_at": iso(brussels(D1, 10, 30))})


def sealed_delivery(world: World, store: SqliteReadingStore) -> Any:
    """The delivery run and closed: closing seals version 1 of its record."""
    prepare(world)
    write_readings(store)
    run(world)
    versions = world["hygiene_a"].ok("GET", f"/api/v1/records/deliveries/{world.ids['DA']}")
    assert [v["version"] for v in versions] == [1]
    return versions[0]
