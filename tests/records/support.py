"""A delivery worth a record: coop A's delivery DA on D1 with three lots in two zones.

  LOT-L1, LOT-L2  chilled_retail, label 6 °C, zone frais   -> 10 min at 6.5 °C: écart toléré
  LOT-HACHE       minced_meat (2 °C), zone frais           -> above 2 °C all along: non conforme,
                                                              refused at the drop
  LOT-GLACE       quick_frozen (-18 °C), zone surgelé       -> -20 °C: conforme
Readings every minute from 06:00 to 10:30 (Brussels) on van-a-1 (frais, air, calibrated
-0.2 °C from D1 05:00) and van-a-2 (surgelé, air); a 40-minute gap on van-a-1 at 09:00.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.core.models.alerts import Alert, AlertLot, CorrectiveAction, LotDecision
from server.core.models.base import IdKey
from tests.server.world import D1, World, brussels, install_from_month_start, iso

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
    install_from_month_start(admin, ids["probe_VA2"], zone_id=ids["VA_surgele"])
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


def run(
    world: World,
    receiver: str = "Mme Collard",
    close: bool = True,
    lots: tuple[str, ...] = ("L1", "L2", "HACHE", "GLACE"),
    refusal: str = "viande trop chaude",
    **drop_fields: Any,
) -> None:
    """Depart 06:50, pickup 07:05 (all `lots` accepted), drop 10:05 (minced meat refused for
    `refusal`; `drop_fields` added to the drop's handover), close 10:30."""
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
            "reason": refusal if k == "HACHE" else None,
        }
        for k in lots
    ]
    handover = {"at": iso(brussels(D1, 10, 5)), "receiver_name": receiver, **drop_fields}
    driver.ok("POST", f"{url}/stops/{ids['A_drop']}/handover", {**handover, "decisions": drop}, 201)
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


def frais_alert(
    ids: dict[str, int], uid: str, between: tuple[datetime, datetime] = EXCURSION, **fields: Any
) -> Alert:
    """Alert `uid` of probe van-a-1 in zone « frais » of van VA during delivery DA (cooperative
    A), as the alert worker (server/alerting) records one: out of its limit `between` two
    times, detected at the first. Unless `fields` say otherwise (they may add more: who
    closed it...), a closed warning for the air at 6,5 °C at worst, worded for EXCURSION."""
    described: dict[str, Any] = {
        "kind": "temperature_excursion",
        "channel": "air",
        "severity": "warning",
        "engine_status": "closed",
        "state": "closed",
        "peak": 6.5,
        "text_fr": "Zone frais : 6,5 °C pendant 10 min",
        "text_en": "Zone frais: 6.5 °C for 10 min",
    }
    return Alert(
        uid=uid,
        location_key=f"zone:{ids['VA_frais']}",
        zone_id=ids["VA_frais"],
        van_id=ids["VA"],
        delivery_id=ids["DA"],
        cooperative_id=ids["A"],
        probe_id="van-a-1",
        start_at=between[0],
        detected_at=between[0],
        last_out_at=between[1],
        end_at=between[1],
        detected_late=False,
        record={},
        **(described | fields),
    )


def flushed_id(session: Session, row: IdKey) -> int:
    """`row` added and flushed: the id the database gave it."""
    session.add(row)
    session.flush()
    return row.id


def store_alert(
    session: Session, ids: dict[str, int], alert: Alert, lots: Iterable[tuple[str, str]] = ()
) -> None:
    """`alert` stored (flushed: it has its id) naming `lots` of delivery DA, each a pair
    (lot, its producer) of `ids` keys, as the alert worker links them."""
    alert_id = flushed_id(session, alert)
    session.add_all(
        AlertLot(
            alert_id=alert_id,
            load_id=ids[lot],
            delivery_id=ids["DA"],
            consignor_id=ids[producer],
        )
        for lot, producer in lots
    )


def store_action(
    session: Session,
    ids: dict[str, int],
    action: CorrectiveAction,
    decisions: Iterable[tuple[str, str, str]],
) -> None:
    """The corrective action stored with its `decisions` on lots, each (lot of `ids`,
    decision, justification), as the officer's alert page records them."""
    action_id = flushed_id(session, action)
    session.add_all(
        LotDecision(
            corrective_action_id=action_id,
            load_id=ids[lot],
            decision=decision,
            justification=justification,
        )
        for lot, decision, justification in decisions
    )


def cold_room_day(store: SqliteReadingStore, usual: float, warm: float) -> int:
    """Probe cr1's air every 2 minutes of D1 (Brussels): `usual`, and `warm` from 10:00 to
    10:30; the number of readings written."""
    start = brussels(D1, 0)
    rows = [
        Reading(
            "cr1",
            "air",
            int((start + timedelta(minutes=i)).timestamp() * 1000),
            i,
            warm if 600 <= i < 630 else usual,
        )
        for i in range(0, 1440, 2)
    ]
    store.write(rows)
    return len(rows)
