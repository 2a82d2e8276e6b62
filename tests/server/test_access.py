"""The tenancy matrix, through the HTTP API: role x resource x organisation -> allowed or not.

Rows a user may not see answer 404 (as if they did not exist); actions on rows they see but
may not change answer 403. server/core/access.py is the one place these rules live.
"""

from __future__ import annotations

from datetime import timedelta

from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.server.world import (
    D1,
    D2,
    World,
    brussels,
    drop_stop,
    iso,
    plan_delivery,
    reading,
    run_delivery_a,
)

EVERYONE = (
    "root", "admin_a", "hygiene_a", "driver_a", "driver_a2", "admin_b", "hygiene_b", "driver_b",
    "producer1", "producer2", "producer3",
)  # fmt: skip

# resource -> the users who may read it (everyone else gets 404)
READ_MATRIX = {
    "/api/v1/deliveries/{DA}": {"admin_a", "hygiene_a", "driver_a"},
    "/api/v1/deliveries/{DB}": {"admin_b", "hygiene_b", "driver_b"},
    "/api/v1/vans/{VA}": {"admin_a", "hygiene_a", "driver_a", "admin_b", "hygiene_b", "driver_b"},
    "/api/v1/vans/{VB}": {"admin_b", "hygiene_b"},
    "/api/v1/vans/{VA}/zones": {
        "admin_a",
        "hygiene_a",
        "driver_a",
        "admin_b",
        "hygiene_b",
        "driver_b",
    },
    "/api/v1/cold-rooms/{CR1}": {"producer1", "admin_a", "hygiene_a"},  # lent to A, not to B
    "/api/v1/cold-rooms/{CR3}": {"producer3"},
    "/api/v1/cold-rooms/{CRA}": {"admin_a", "hygiene_a"},
    "/api/v1/probes/{probe_VA}": {"admin_a", "hygiene_a"},
    "/api/v1/probes/{probe_CR1}": {"producer1"},
    "/api/v1/probes/{probe_CR1}/installations": {"producer1"},
}

# list -> what each user finds in it (by world id key)
LIST_MATRIX = {
    "/api/v1/deliveries": {
        "admin_a": {"DA"}, "hygiene_a": {"DA"}, "driver_a": {"DA"}, "admin_b": {"DB"},
        "hygiene_b": {"DB"}, "driver_b": {"DB"},
    },
    "/api/v1/loads": {
        "admin_a": {"L1", "L2"}, "hygiene_a": {"L1", "L2"}, "driver_a": {"L1", "L2"},
        "admin_b": {"L3"}, "hygiene_b": {"L3"}, "driver_b": {"L3"},
        "producer1": {"L1"}, "producer2": {"L2"}, "producer3": {"L3"},
    },
    "/api/v1/vans": {
        "admin_a": {"VA"}, "hygiene_a": {"VA"}, "driver_a": {"VA"},
        "admin_b": {"VA", "VB"}, "hygiene_b": {"VA", "VB"}, "driver_b": {"VA"},
    },
    "/api/v1/cold-rooms": {
        "admin_a": {"CR1", "CRA"}, "hygiene_a": {"CR1", "CRA"}, "producer1": {"CR1"},
        "producer3": {"CR3"},
    },
}  # fmt: skip


def test_read_matrix(world: World) -> None:
    failures = []
    for template, allowed in READ_MATRIX.items():
        url = template.format(**world.ids)
        for user in EVERYONE:
            status = world[user].get(url).status_code
            expected = 200 if user in allowed else 404
            if status != expected:
                failures.append(f"{user} GET {template}: {status}, expected {expected}")
    assert not failures, "\n".join(failures)


KEYS_BY_LIST = {
    "/api/v1/deliveries": ("DA", "DB"),
    "/api/v1/loads": ("L1", "L2", "L3"),
    "/api/v1/vans": ("VA", "VB"),
    "/api/v1/cold-rooms": ("CR1", "CR3", "CRA"),
}


def test_list_matrix(world: World) -> None:
    failures = []
    for url, expected_by_user in LIST_MATRIX.items():
        names = {world.ids[key]: key for key in KEYS_BY_LIST[url]}
        for user in EVERYONE:
            body = world[user].ok("GET", url)
            found = {names[row["id"]] for row in body["data"]}
            if found != expected_by_user.get(user, set()) or body["count"] != len(body["data"]):
                failures.append(f"{user} {url}: {sorted(found)}")
    assert not failures, "\n".join(failures)


def test_van_temperatures_only_while_used_or_on_board(
    world: World, reading_store: SqliteReadingStore
) -> None:
    """VA is used by coop A on D1 and coop B on D2: each sees its own day; the producers of DA's
    lots see only the time their goods were on board (pickup 07:05 to drop 10:05)."""
    run_delivery_a(world)
    times = {
        "day_before": brussels(D1, 9) - timedelta(days=1),
        "precooling": brussels(D1, 6),
        "on_board": brussels(D1, 8),
        "after_close": brussels(D1, 11),
        "coop_b_day": brussels(D2, 9),
    }
    reading_store.write(reading("van-a-1", "air", t, 4.0, i) for i, t in enumerate(times.values()))
    expected = {
        "admin_a": {"precooling", "on_board"},
        "hygiene_a": {"precooling", "on_board"},
        "driver_a": {"precooling", "on_board"},
        "admin_b": {"coop_b_day"},
        "hygiene_b": {"coop_b_day"},
        "driver_b": {"coop_b_day"},
        "producer1": {"on_board"},
        "producer2": {"on_board"},
    }
    by_time = {iso(t): name for name, t in times.items()}
    query = {"start": iso(brussels(D1, 0) - timedelta(days=2)), "end": iso(brussels(D2, 23))}
    url = f"/api/v1/zones/{world.ids['VA_frais']}/readings"
    failures = []
    for user in EVERYONE:
        response = world[user].get(url, params=query)
        if user not in expected:
            if response.status_code != 404:
                failures.append(f"{user}: {response.status_code}, expected 404")
            continue
        seen = {by_time[r["time"].replace("Z", "+00:00")] for r in response.json()["readings"]}
        if seen != expected[user]:
            failures.append(f"{user}: saw {sorted(seen)}, expected {sorted(expected[user])}")
    assert not failures, "\n".join(failures)


def test_van_shared_the_same_day(world: World, reading_store: SqliteReadingStore) -> None:
    """Coop B takes VA on D1 morning (05:30 to 08:30); coop A's delivery DA is planned on D1
    too. Each sees the van's temperatures of its own use only."""
    ids = world.ids
    morning = plan_delivery(world, "admin_b", "B", "driver_b", D1, "CR3", [("L4", "P3")])
    driver = world["driver_b"]
    url = f"/api/v1/deliveries/{morning}"
    zones = [{"zone_id": ids["VA_frais"], "temperature_c": 2.0}]
    driver.ok("POST", f"{url}/departure", {"checked_at": iso(brussels(D1, 5, 30)), "zones": zones})
    accept = [{"load_id": ids["L4"], "accepted": True}]
    for stop, hour in (("B_pickup", 6), ("B_drop", 8)):
        body = {"at": iso(brussels(D1, hour)), "decisions": accept}
        driver.ok("POST", f"{url}/stops/{ids[stop]}/handover", body, 201)
    driver.ok("POST", f"{url}/close", {"closed_at": iso(brussels(D1, 8, 30))})
    reading_store.write(
        [
            reading("van-a-1", "air", brussels(D1, 4), 5.0, 1),  # before B left: A's day
            reading("van-a-1", "air", brussels(D1, 7), 3.0, 2),  # B on the road
            reading("van-a-1", "air", brussels(D1, 11), 4.0, 3),  # after B closed: A's day
        ]
    )
    query = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D2, 0))}
    zone = f"/api/v1/zones/{ids['VA_frais']}/readings"
    seen = {
        user: [r["value"] for r in world[user].ok("GET", zone, params=query)["readings"]]
        for user in ("admin_a", "driver_a", "admin_b", "driver_b", "producer3")
    }
    assert seen == {
        "admin_a": [5.0, 4.0],
        "driver_a": [5.0, 4.0],
        "admin_b": [5.0, 3.0],  # B's window: its day until it closed
        "driver_b": [5.0, 3.0],
        "producer3": [3.0],  # L4 on board from 06:00 to 08:00
    }


def test_cold_room_temperatures(world: World, reading_store: SqliteReadingStore) -> None:
    reading_store.write([reading("cr1", "air", brussels(D1, 5), 3.0, 1)])
    url = f"/api/v1/cold-rooms/{world.ids['CR1']}/readings"
    query = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D2, 0))}
    for user in EVERYONE:
        response = world[user].get(url, params=query)
        allowed = user in {"producer1", "admin_a", "hygiene_a"}
        assert response.status_code == (200 if allowed else 404), user
        if allowed:
            assert [r["value"] for r in response.json()["readings"]] == [3.0]


WRITE_MATRIX = [
    # another cooperative's delivery does not exist for them
    ("admin_a", "POST", "/api/v1/deliveries/{DB}/stops", "stop", 404),
    ("producer3", "POST", "/api/v1/deliveries/{DB}/stops", "stop", 404),
    # a driver operates deliveries, does not plan them
    ("driver_b", "POST", "/api/v1/deliveries/{DB}/stops", "stop", 403),
    ("hygiene_b", "POST", "/api/v1/deliveries/{DB}/stops", "stop", 201),
    # only the owner's admin changes a van, even a pooled one
    ("admin_b", "POST", "/api/v1/vans/{VA}/zones", {"name": "x", "kind": "thermo_box"}, 403),
    ("hygiene_a", "POST", "/api/v1/vans/{VA}/zones", {"name": "x", "kind": "thermo_box"}, 403),
    ("admin_a", "POST", "/api/v1/vans/{VA}/zones", {"name": "x", "kind": "thermo_box"}, 201),
    # registering in another organisation
    ("admin_b", "POST", "/api/v1/probes", {"probe_id": "x-1", "owner_id": "{A}"}, 403),
    ("producer2", "POST", "/api/v1/probes", {"probe_id": "x-1", "owner_id": "{P1}"}, 403),
    ("producer1", "POST", "/api/v1/probes", {"probe_id": "x-1", "owner_id": "{P1}"}, 201),
    ("driver_a", "POST", "/api/v1/vans", {"name": "v", "plate": "P-1", "owner_id": "{A}"}, 403),
    # users: an admin grants roles in their cooperative and its member producers only
    ("admin_b", "POST", "/api/v1/users", {"role": ("A", "driver")}, 403),
    ("admin_b", "POST", "/api/v1/users", {"role": ("P2", "producer")}, 403),
    ("admin_b", "POST", "/api/v1/users", {"role": ("P1", "producer")}, 201),
    ("hygiene_a", "POST", "/api/v1/users", {"role": ("A", "driver")}, 403),
    # a cold room the caller does not manage, for a probe they own
    ("admin_b", "POST", "/api/v1/deliveries", {"delivery": "A"}, 403),
    (
        "driver_a",
        "POST",
        "/api/v1/deliveries/{DA}/close",
        {},
        409,
    ),  # allowed, but DA is planned
    ("driver_a2", "POST", "/api/v1/deliveries/{DA}/close", {}, 404),
]


def test_write_matrix(world: World) -> None:
    failures = [
        f"{user} {method} {url}: {got}, expected {status}"
        for user, method, url, body, status in WRITE_MATRIX
        if (got := _attempt(world, user, method, url, body)) != status
    ]
    assert not failures, "\n".join(failures)


def _attempt(world: World, user: str, method: str, url: str, body: object) -> int:
    ids = world.ids
    if body == "stop":
        body = drop_stop("canteen", "Cantine", "Rue 2", brussels(D2, 11))
    elif isinstance(body, dict) and "role" in body:
        org, role = body["role"]
        body = {
            "email": f"new-{user}@example.be",
            "full_name": "Nouveau",
            "password": "0123456789ab",
            "memberships": [{"organisation_id": ids[org], "role": role}],
        }
    elif isinstance(body, dict) and "delivery" in body:
        body = {
            "cooperative_id": ids["A"],
            "van_id": ids["VA"],
            "driver_id": world.user_ids["driver_a"],
            "day": D2.isoformat(),
        }
    elif isinstance(body, dict):
        body = {
            k: (ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v)
            for k, v in body.items()
        }
    response = world[user].client.request(
        method, url.format(**ids), json=body, headers=world[user].headers
    )
    assert response.status_code < 400 or "error" in response.json()
    return int(response.status_code)
