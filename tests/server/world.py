"""A small world built through the HTTP API, as an admin would: two cooperatives sharing
a van, producers (one in both cooperatives), users of every role, cold rooms, probes,
one delivery per cooperative on the shared van.

  Coop A (Liège)      admin_a, hygiene_a, driver_a, driver_a2   van VA (frais, surgelé), room CRA
  Coop B (Lux.)       admin_b, hygiene_b, driver_b              van VB; may use VA (pool)
  Producer P1 in A+B  producer1: cold room CR1 (lent to A)
  Producer P2 in A    producer2
  Producer P3 in B    producer3: cold room CR3
  Delivery DA: coop A, van VA, driver_a, day D1; lots L1 (P1) and L2 (P2) in zone frais
  Delivery DB: coop B, van VA, driver_b, day D2; lot L3 (P3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.testclient import TestClient

from coldchain.protocol import Reading
from server.domain.accounts import create_superuser

BRUSSELS = ZoneInfo("Europe/Brussels")
PASSWORD = "correct horse battery"
D1 = date(2026, 3, 10)
D2 = date(2026, 3, 11)


def brussels(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BRUSSELS).astimezone(UTC)


def iso(t: datetime) -> str:
    return t.isoformat()


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    client.cookies.clear()  # tests authenticate with the bearer token unless they say otherwise
    token: str = response.json()["access_token"]
    return token


class As:
    """Requests as one user (bearer token)."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kw)

    def post(self, url: str, json: Any = None, headers: dict[str, str] | None = None) -> Any:
        return self.client.post(url, json=json, headers={**self.headers, **(headers or {})})

    def ok(
        self, method: str, url: str, json: Any = None, status: int = 200, params: Any = None
    ) -> Any:
        response = self.client.request(method, url, json=json, headers=self.headers, params=params)
        assert response.status_code == status, (
            f"{method} {url}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None


@dataclass
class World:
    client: TestClient
    users: dict[str, As] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> As:
        return self.users[name]


def make_user(world: World, by: As, name: str, *roles: tuple[int, str]) -> None:
    body = {
        "email": f"{name}@example.be",
        "full_name": name.replace("_", " ").title(),
        "password": PASSWORD,
        "memberships": [{"organisation_id": org, "role": role} for org, role in roles],
    }
    world.user_ids[name] = by.ok("POST", "/api/v1/users", body, 201)["id"]
    world.users[name] = As(world.client, login(world.client, f"{name}@example.be"))


def build_world(client: TestClient, app: FastAPI) -> World:
    with app.state.sessionmaker() as session:
        create_superuser(session, app.state.password_hasher, "root@example.be", "Root", PASSWORD)
    world = World(client)
    root = As(client, login(client, "root@example.be"))
    world.users["root"] = root
    ids = world.ids

    def org(key: str, name: str, kind: str) -> None:
        ids[key] = root.ok("POST", "/api/v1/organisations", {"name": name, "kind": kind}, 201)["id"]

    org("A", "Coopérative de Liège", "cooperative")
    org("B", "Réseau Luxembourg", "cooperative")
    org("P1", "Chèvrerie du Val", "producer")
    org("P2", "Boucherie Dupont", "producer")
    org("P3", "Ferme des Ardennes", "producer")
    for coop, producer in (("A", "P1"), ("B", "P1"), ("A", "P2"), ("B", "P3")):
        root.ok(
            "POST",
            f"/api/v1/organisations/{ids[coop]}/members",
            {"producer_id": ids[producer]},
            204,
        )

    make_user(world, root, "admin_a", (ids["A"], "admin"))
    make_user(world, root, "admin_b", (ids["B"], "admin"))
    admin_a, admin_b = world["admin_a"], world["admin_b"]
    make_user(world, admin_a, "hygiene_a", (ids["A"], "hygiene_officer"))
    make_user(world, admin_a, "driver_a", (ids["A"], "driver"))
    make_user(world, admin_a, "driver_a2", (ids["A"], "driver"))
    make_user(world, admin_b, "hygiene_b", (ids["B"], "hygiene_officer"))
    make_user(world, admin_b, "driver_b", (ids["B"], "driver"))
    make_user(world, admin_a, "producer1", (ids["P1"], "producer"))
    make_user(world, admin_a, "producer2", (ids["P2"], "producer"))
    make_user(world, admin_b, "producer3", (ids["P3"], "producer"))

    van = {"name": "Fourgon 1", "plate": "1-ABC-123", "owner_id": ids["A"]}
    ids["VA"] = admin_a.ok("POST", "/api/v1/vans", van, 201)["id"]
    ids["VA_frais"] = admin_a.ok(
        "POST", f"/api/v1/vans/{ids['VA']}/zones", {"name": "frais", "kind": "compartment"}, 201
    )["id"]
    ids["VA_surgele"] = admin_a.ok(
        "POST", f"/api/v1/vans/{ids['VA']}/zones", {"name": "surgelé", "kind": "thermo_box"}, 201
    )["id"]
    admin_a.ok("POST", f"/api/v1/vans/{ids['VA']}/pool", {"cooperative_id": ids["B"]}, 204)
    van_b = {"name": "Camion Lux", "plate": "1-XYZ-987", "owner_id": ids["B"]}
    ids["VB"] = admin_b.ok("POST", "/api/v1/vans", van_b, 201)["id"]
    ids["VB_frais"] = admin_b.ok(
        "POST", f"/api/v1/vans/{ids['VB']}/zones", {"name": "frais", "kind": "compartment"}, 201
    )["id"]

    def cold_room(key: str, by: As, owner: str, name: str) -> None:
        body = {
            "name": name,
            "owner_id": ids[owner],
            "category": "chilled_retail",
            "address": "Rue 1, 4000 Liège",
        }
        ids[key] = by.ok("POST", "/api/v1/cold-rooms", body, 201)["id"]

    cold_room("CR1", world["producer1"], "P1", "Chambre froide chèvrerie")
    cold_room("CR3", world["producer3"], "P3", "Chambre froide ferme")
    cold_room("CRA", admin_a, "A", "Chambre froide du dépôt")
    world["producer1"].ok(
        "POST", f"/api/v1/cold-rooms/{ids['CR1']}/loans", {"cooperative_id": ids["A"]}, 204
    )

    ids["probe_VA"] = admin_a.ok(
        "POST", "/api/v1/probes", {"probe_id": "van-a-1", "owner_id": ids["A"]}, 201
    )["id"]
    ids["probe_CR1"] = world["producer1"].ok(
        "POST", "/api/v1/probes", {"probe_id": "cr1", "owner_id": ids["P1"]}, 201
    )["id"]
    install_from_month_start(admin_a, ids["probe_VA"], zone_id=ids["VA_frais"])
    install_from_month_start(world["producer1"], ids["probe_CR1"], cold_room_id=ids["CR1"])

    ids["DA"] = plan_delivery(
        world, "admin_a", "A", "driver_a", D1, "CR1", [("L1", "P1"), ("L2", "P2")]
    )
    ids["DB"] = plan_delivery(world, "admin_b", "B", "driver_b", D2, "CR3", [("L3", "P3")])
    return world


def install_from_month_start(by: As, probe: int, **place: int) -> None:
    """Install probe `probe` (its id) in a zone (`zone_id=`) or a cold room (`cold_room_id=`)
    from the first of D1's month."""
    since = {"start": iso(brussels(D1, 0).replace(day=1))}
    by.ok("POST", f"/api/v1/probes/{probe}/installations", {**place, **since}, 201)


def drop_stop(place_kind: str, place_name: str, address: str, at: datetime) -> dict[str, str]:
    """The body of a drop to plan (POST /api/v1/deliveries/{id}/stops)."""
    return {
        "kind": "drop",
        "place_kind": place_kind,
        "place_name": place_name,
        "address": address,
        "planned_at": iso(at),
    }


def plan_delivery(
    world: World,
    planner: str,
    coop: str,
    driver: str,
    day: date,
    cold_room: str,
    lots: list[tuple[str, str]],
) -> int:
    ids, by = world.ids, world[planner]
    body = {
        "cooperative_id": ids[coop],
        "van_id": ids["VA"],
        "driver_id": world.user_ids[driver],
        "day": day.isoformat(),
    }
    delivery = by.ok("POST", "/api/v1/deliveries", body, 201)["id"]
    pickup = by.ok(
        "POST",
        f"/api/v1/deliveries/{delivery}/stops",
        {
            "kind": "pickup",
            "place_kind": "cold_room",
            "cold_room_id": ids[cold_room],
            "place_name": "Chambre froide",
            "address": "Rue 1, 4000 Liège",
            "planned_at": iso(brussels(day, 7)),
        },
        201,
    )["id"]
    drop = by.ok(
        "POST",
        f"/api/v1/deliveries/{delivery}/stops",
        drop_stop("shop", "Épicerie du coin", "Place du Marché 3, 4000 Liège", brussels(day, 10)),
        201,
    )["id"]
    ids[f"{coop}_pickup"], ids[f"{coop}_drop"] = pickup, drop
    for lot, producer in lots:
        load = {
            "lot_reference": f"LOT-{lot}",
            "description": "Fromage de chèvre frais",
            "category": "chilled_retail",
            "quantity": "12.5",
            "unit": "kg",
            "consignor_id": ids[producer],
            "consignee": "Épicerie du coin",
            "label_max_c": 6.0,
            "zone_id": ids["VA_frais"],
            "pickup_stop_id": pickup,
            "drop_stop_id": drop,
        }
        ids[lot] = by.ok("POST", f"/api/v1/deliveries/{delivery}/loads", load, 201)["id"]
    return int(delivery)


def reading(probe_id: str, channel: str, at: datetime, value: float, seq: int) -> Reading:
    return Reading(
        probe_id=probe_id, channel=channel, time_ms=int(at.timestamp() * 1000), seq=seq, value=value
    )


def run_delivery_a(world: World) -> None:
    """Delivery DA happens on D1: departs 06:50, pickup 07:05, drop 10:05, closed 10:30 (Brussels).
    The departure check uses temperatures the driver measured (no readings needed)."""
    ids = world.ids
    drive_delivery_a(world["driver_a"], ids, (ids["A_pickup"], ids["A_drop"]))


def drive_delivery_a(driver: As, ids: dict[str, int], stops: tuple[int, int]) -> None:
    """`run_delivery_a` by `driver`, through the API, for the pickup and drop `stops`."""
    url = f"/api/v1/deliveries/{ids['DA']}"
    departure = {
        "checked_at": iso(brussels(D1, 6, 50)),
        "zones": [{"zone_id": ids["VA_frais"], "temperature_c": 3.5}],
    }
    driver.ok("POST", f"{url}/departure", departure)
    accept = [{"load_id": ids["L1"], "accepted": True}, {"load_id": ids["L2"], "accepted": True}]
    for stop, at in zip(stops, (brussels(D1, 7, 5), brussels(D1, 10, 5)), strict=True):
        handover = {"at": iso(at), "decisions": accept}
        driver.ok("POST", f"{url}/stops/{stop}/handover", handover, 201)
    driver.ok("POST", f"{url}/close", {"closed_at": iso(brussels(D1, 10, 30))})
