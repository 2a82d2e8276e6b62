"""A delivery's whole life through the API, and the reasons it gives when it says no."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine, event

from coldchain.readingstore.sqlite import SqliteReadingStore
from server.core.models import Delivery
from server.domain.deliveries import file_of
from tests.server.world import D1, World, brussels, drop_stop, iso, reading, run_delivery_a
from tests.support.probes import install_new_probe


def test_delivery_lifecycle(world: World, reading_store: SqliteReadingStore) -> None:
    ids, driver, hygiene = world.ids, world["driver_a"], world["hygiene_a"]
    url = f"/api/v1/deliveries/{ids['DA']}"
    # A thermo-box load of minced meat: its zone's limit is the category's 2 °C.
    minced = {
        "lot_reference": "HACHE-0310",
        "description": "Haché de bœuf",
        "category": "minced_meat",
        "quantity": "4",
        "unit": "kg",
        "consignor_id": ids["P2"],
        "consignee": "Cantine de l'école",
        "zone_id": ids["VA_surgele"],
        "pickup_stop_id": ids["A_pickup"],
        "drop_stop_id": ids["A_drop"],
    }
    minced_id = hygiene.ok("POST", f"{url}/loads", minced, 201)["id"]
    # A second probe measures the thermo-box.
    install_new_probe(
        world["admin_a"], "box-1", ids["A"], brussels(D1, 0), zone_id=ids["VA_surgele"]
    )
    depart_at = brussels(D1, 6, 50)

    # No reading yet: the driver is asked for the temperature.
    response = driver.post(f"{url}/departure", {"checked_at": iso(depart_at)})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_zone_reading"

    # Readings: the fresh compartment at 3.5 °C, the box still at 5 °C (limit 2 °C).
    reading_store.write(
        [
            reading("van-a-1", "air", depart_at - timedelta(minutes=5), 3.5, 1),
            reading("box-1", "product", depart_at - timedelta(minutes=5), 5.0, 1),
            reading("box-1", "air", depart_at - timedelta(minutes=5), 1.0, 2),
        ]
    )
    response = driver.post(f"{url}/departure", {"checked_at": iso(depart_at)})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "departure_check_failed"
    assert error["message"] == (
        "La zone surgelé n'est pas pré-refroidie : 5,0 °C pour une limite de 2,0 °C."
    )
    # Cooled down: the product simulant reads 1.5 °C.
    reading_store.write([reading("box-1", "product", depart_at - timedelta(minutes=1), 1.5, 3)])
    departed = driver.ok("POST", f"{url}/departure", {"checked_at": iso(depart_at)})
    assert departed["status"] == "departed"
    checks = {c["zone_id"]: c for c in departed["departure_checks"]}
    assert checks[ids["VA_frais"]]["limit_c"] == 6.0  # label 6 °C beats chilled_retail's 7 °C
    assert checks[ids["VA_frais"]]["temperature_c"] == 3.5
    assert checks[ids["VA_surgele"]]["temperature_c"] == 1.5
    assert {c["source"] for c in checks.values()} == {"readings"}
    assert {c["checked_by_id"] for c in checks.values()} == {world.user_ids["driver_a"]}

    # Planning is frozen once on the road.
    late_stop = drop_stop("restaurant", "Resto", "Rue 3", brussels(D1, 12))
    assert hygiene.post(f"{url}/stops", late_stop).status_code == 409

    # Pickup: every load of the stop needs a decision; a refusal needs a reason.
    pickup_url = f"{url}/stops/{ids['A_pickup']}/handover"
    at_pickup = brussels(D1, 7, 5)
    incomplete = driver.post(
        pickup_url, {"at": iso(at_pickup), "decisions": [{"load_id": ids["L1"], "accepted": True}]}
    )
    assert incomplete.json()["error"]["code"] == "handover_incomplete"
    decisions = [
        {"load_id": ids["L1"], "accepted": True},
        {"load_id": ids["L2"], "accepted": False},
        {"load_id": minced_id, "accepted": True},
    ]
    unexplained = driver.post(pickup_url, {"at": iso(at_pickup), "decisions": decisions})
    assert unexplained.json()["error"]["code"] == "refusal_needs_reason"
    decisions[1]["reason"] = "Température à cœur 9 °C au chargement"
    body = {
        "at": iso(at_pickup),
        "decisions": decisions,
        "core_temperature_c": 9.0,
        "receiver_name": "M. Dupont",
    }
    after_pickup = driver.ok("POST", pickup_url, body, 201)
    assert driver.post(pickup_url, body).status_code == 409  # once per stop

    # Closing before the last stop is refused with the pending stop named.
    early = driver.post(f"{url}/close", {"closed_at": iso(brussels(D1, 8))})
    assert early.status_code == 409 and early.json()["error"]["code"] == "stops_pending"

    # Drop: the refused lot never came on board, so only L1 and the minced meat are decided.
    # Zone temperatures come from readings of the last 15 minutes (an older one says nothing).
    reading_store.write(
        [
            reading("van-a-1", "air", brussels(D1, 10), 4.1, 2),
            reading("box-1", "product", brussels(D1, 10, 1), 1.8, 4),
        ]
    )
    drop_body = {
        "at": iso(brussels(D1, 10, 5)),
        "decisions": [
            {"load_id": ids["L1"], "accepted": True},
            {"load_id": minced_id, "accepted": False, "reason": "Emballage abîmé"},
        ],
    }
    after_drop = driver.ok("POST", f"{url}/stops/{ids['A_drop']}/handover", drop_body, 201)
    drop = next(h for h in after_drop["handovers"] if h["stop_id"] == ids["A_drop"])
    assert {t["zone_id"]: t["temperature_c"] for t in drop["zone_temperatures"]} == {
        ids["VA_frais"]: 4.1,
        ids["VA_surgele"]: 1.8,
    }
    pickup = next(h for h in after_pickup["handovers"] if h["stop_id"] == ids["A_pickup"])
    assert pickup["core_temperature_c"] == 9.0
    assert {d["load_id"]: d["accepted"] for d in pickup["decisions"]} == {
        ids["L1"]: True,
        ids["L2"]: False,
        minced_id: True,
    }

    closed = driver.ok("POST", f"{url}/close", {"closed_at": iso(brussels(D1, 10, 30))})
    assert closed["status"] == "closed"
    assert closed["closed_at"].startswith("2026-03-10T09:30:00")  # 10:30 in Brussels (UTC+1)
    assert [s["actual_at"] is not None for s in closed["stops"]] == [True, True]
    # Producers see the van's temperatures only while their goods were on board.
    day = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D1, 23))}
    frais, surgele = (f"/api/v1/zones/{ids[z]}/readings" for z in ("VA_frais", "VA_surgele"))
    producer1, producer2 = world["producer1"], world["producer2"]
    # L1 (producer 1): pickup 07:05 to drop 10:05, so the 06:45 reading is not theirs.
    seen = producer1.ok("GET", frais, params=day)["readings"]
    assert [(r["probe_id"], r["value"]) for r in seen] == [("van-a-1", 4.1)]
    # L2 (producer 2) was refused at pickup: never on board, nothing to see in the compartment.
    assert producer2.get(frais, params=day).status_code == 404
    # The minced meat (producer 2) was refused at the drop: on board from 07:05 to closing.
    seen = producer2.ok("GET", surgele, params=day)["readings"]
    assert [(r["channel"], r["value"]) for r in seen] == [("product", 1.8)]

    again = driver.post(f"{url}/close", {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "delivery_not_editable"
    assert again.json()["error"]["message"].startswith("La livraison est clôturée :")  # by name


def test_planning_refusals_give_reasons(world: World) -> None:
    ids, hygiene = world.ids, world["hygiene_b"]
    url = f"/api/v1/deliveries/{ids['DB']}"
    load = {
        "lot_reference": "X-1",
        "description": "Saucisses",
        "category": "saucisses_magiques",
        "quantity": "3",
        "unit": "kg",
        "consignor_id": ids["P3"],
        "consignee": "Resto",
        "zone_id": ids["VA_frais"],
        "pickup_stop_id": ids["B_pickup"],
        "drop_stop_id": ids["B_drop"],
    }
    response = hygiene.post(f"{url}/loads", load)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_category"
    assert error["message"].startswith("Catégorie de produit inconnue : « saucisses_magiques ».")
    assert "minced_meat" in error["message"] and "quick_frozen" in error["message"]
    english = hygiene.post(f"{url}/loads", load, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"].startswith(
        "Unknown product category: 'saucisses_magiques'."
    )

    # A consignor who is not a producer of the cooperative (P2 is only in coop A).
    response = hygiene.post(
        f"{url}/loads", {**load, "category": "poultry_meat", "consignor_id": ids["P2"]}
    )
    assert response.status_code == 422 and "consignor_id" in response.json()["error"]["message"]
    # A zone of another van.
    response = hygiene.post(
        f"{url}/loads", {**load, "category": "poultry_meat", "zone_id": ids["VB_frais"]}
    )
    assert response.status_code == 422 and "zone_id" in response.json()["error"]["message"]
    # Pickup and drop swapped.
    swapped = {
        **load,
        "category": "poultry_meat",
        "pickup_stop_id": ids["B_drop"],
        "drop_stop_id": ids["B_pickup"],
    }
    assert hygiene.post(f"{url}/loads", swapped).status_code == 422
    # Quantity must be positive.
    assert (
        hygiene.post(
            f"{url}/loads", {**load, "category": "poultry_meat", "quantity": "-1"}
        ).status_code
        == 422
    )

    stop = {
        "kind": "drop",
        "place_kind": "canteen",
        "place_name": "Cantine",
        "address": "Rue 2",
        "planned_at": "2026-03-10T22:00:00+00:00",  # 23:00 in Brussels the evening before DB's day
    }
    response = hygiene.post(f"{url}/stops", stop)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "L'heure prévue de l'arrêt (10/03/2026 23:00) est avant le jour de la livraison "
        "(11/03/2026)."
    )
    pickup_elsewhere = {**stop, "kind": "pickup", "planned_at": "2026-03-11T08:00:00+00:00"}
    response = hygiene.post(f"{url}/stops", pickup_elsewhere)
    assert response.status_code == 422 and "cold_room" in response.json()["error"]["message"]
    # Coop B cannot pick up at CR1's sister CRA (coop A's depot): not theirs, not lent.
    at_depot = {**pickup_elsewhere, "place_kind": "cold_room", "cold_room_id": ids["CRA"]}
    assert hygiene.post(f"{url}/stops", at_depot).status_code == 404

    # A driver who is not a driver of the cooperative.
    body = {
        "cooperative_id": ids["B"],
        "van_id": ids["VB"],
        "driver_id": world.user_ids["driver_a"],
        "day": "2026-03-12",
    }
    response = hygiene.post("/api/v1/deliveries", body)
    assert response.status_code == 422 and "driver_id" in response.json()["error"]["message"]
    # A van outside the cooperative's pool.
    body = {
        "cooperative_id": ids["A"],
        "van_id": ids["VB"],
        "driver_id": world.user_ids["driver_a"],
        "day": "2026-03-12",
    }
    assert world["admin_a"].post("/api/v1/deliveries", body).status_code == 404
    # Departure with no cold-chain reading for a load-free delivery is refused with its reason.
    empty = world["admin_a"].ok("POST", "/api/v1/deliveries", {**body, "van_id": ids["VA"]}, 201)
    response = world["driver_a"].post(f"/api/v1/deliveries/{empty['id']}/departure", {})
    assert response.json()["error"]["message"] == (
        "Données invalides : la livraison n'a aucun chargement"
    )


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements run on `engine` inside the block."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def long_round(world: World, reading_store: SqliteReadingStore, pairs: int) -> int:
    """A delivery of cooperative A on D1 with `pairs` pickups then `pairs` drops, a lot from
    each pickup to its drop, departed and handed over at every stop (with a zone reading)."""
    ids, admin, driver = world.ids, world["admin_a"], world["driver_a"]
    body = {
        "cooperative_id": ids["A"],
        "van_id": ids["VA"],
        "driver_id": world.user_ids["driver_a"],
        "day": D1.isoformat(),
    }
    url = f"/api/v1/deliveries/{admin.ok('POST', '/api/v1/deliveries', body, 201)['id']}"
    stops = []
    for kind, hour in (("pickup", 7), ("drop", 11)):
        for i in range(pairs):
            stop = {
                "kind": kind,
                "place_kind": "cold_room" if kind == "pickup" else "shop",
                "place_name": f"{kind} {i}",
                "address": "Rue 1, 4000 Liège",
                "planned_at": iso(brussels(D1, hour, i)),
                **({"cold_room_id": ids["CR1"]} if kind == "pickup" else {}),
            }
            stops.append(admin.ok("POST", f"{url}/stops", stop, 201)["id"])
    loads = []
    for i in range(pairs):
        load = {
            "lot_reference": f"LONG-{i}",
            "description": "Fromage frais",
            "category": "chilled_retail",
            "quantity": "1",
            "unit": "kg",
            "consignor_id": ids["P1"],
            "consignee": f"drop {i}",
            "zone_id": ids["VA_frais"],
            "pickup_stop_id": stops[i],
            "drop_stop_id": stops[pairs + i],
        }
        loads.append(admin.ok("POST", f"{url}/loads", load, 201)["id"])
    zones = [{"zone_id": ids["VA_frais"], "temperature_c": 3.0}]
    driver.ok("POST", f"{url}/departure", {"checked_at": iso(brussels(D1, 6)), "zones": zones})
    for n, stop_id in enumerate(stops):
        at = brussels(D1, 7) + timedelta(minutes=10 * n)
        reading_store.write([reading("van-a-1", "air", at - timedelta(minutes=1), 3.5, 100 + n)])
        decisions = [{"load_id": loads[n % pairs], "accepted": True}]
        driver.ok(
            "POST", f"{url}/stops/{stop_id}/handover", {"at": iso(at), "decisions": decisions}, 201
        )
    return int(url.rsplit("/", 1)[1])


def test_a_delivery_is_read_in_as_many_queries_for_24_stops_as_for_2(
    app: FastAPI, world: World, reading_store: SqliteReadingStore
) -> None:
    run_delivery_a(world)  # 2 stops handed over
    long = long_round(world, reading_store, 12)  # 24 stops handed over
    engine = app.state.engine
    counted = {}
    with app.state.sessionmaker() as session:
        for delivery_id in (world.ids["DA"], long):
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            with statements(engine) as seen:
                file = file_of(session, delivery)
            counted[delivery_id] = len(seen)
        # Everything of the long round was read: its stops, lots, temperatures, decisions.
        assert len(file.stops) == len(file.handovers) == 24 and len(file.loads) == 12
        assert all(len(h.decisions) == 1 and h.zone_temperatures for h in file.handovers.values())
        assert [s.sequence for s in file.stops] == list(range(1, 25))
    assert counted[world.ids["DA"]] == counted[long] <= 6, counted
    # The API's reading of a delivery is the same one: no query per stop or per handover.
    driver = world["driver_a"]
    asked = {}
    for delivery_id in (world.ids["DA"], long):
        with statements(engine) as seen:
            answer = driver.ok("GET", f"/api/v1/deliveries/{delivery_id}")
        asked[delivery_id] = len(seen)
    assert len(answer["handovers"]) == 24
    assert asked[world.ids["DA"]] == asked[long]
