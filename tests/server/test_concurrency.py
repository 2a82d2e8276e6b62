"""Concurrent writes (threads, as the server's worker pool runs them) give 2xx or a
clear 409, never a 500 or a lost update, on SQLite and on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.server.world import D1, D2, World, brussels, iso


def test_concurrent_installations_of_one_probe(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    probe = admin.ok("POST", "/api/v1/probes", {"probe_id": "race", "owner_id": ids["A"]}, 201)
    url = f"/api/v1/probes/{probe['id']}/installations"
    places = [
        {"zone_id": ids["VA_frais"]},
        {"zone_id": ids["VA_surgele"]},
        {"cold_room_id": ids["CRA"]},
    ] * 2
    with ThreadPoolExecutor(len(places)) as pool:
        statuses = list(
            pool.map(
                lambda place: admin.post(url, {**place, "start": iso(brussels(D1, 8))}).status_code,
                places,
            )
        )
    assert sorted(statuses) == [201] + [409] * (len(places) - 1)
    assert admin.ok("GET", url)["count"] == 1


def test_concurrent_stops_get_distinct_numbers(world: World) -> None:
    planner, ids = world["hygiene_b"], world.ids
    url = f"/api/v1/deliveries/{ids['DB']}/stops"
    stops = [
        {
            "kind": "drop",
            "place_kind": "shop",
            "place_name": f"Magasin {n}",
            "address": f"Rue {n}",
            "planned_at": iso(brussels(D2, 11)),
        }
        for n in range(8)
    ]
    with ThreadPoolExecutor(len(stops)) as pool:
        responses = list(pool.map(lambda stop: planner.post(url, stop), stops))
    assert [r.status_code for r in responses] == [201] * len(stops), [r.text for r in responses]
    detail = planner.ok("GET", f"/api/v1/deliveries/{ids['DB']}")
    assert [s["sequence"] for s in detail["stops"]] == list(range(1, len(stops) + 3))
