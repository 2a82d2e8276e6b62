"""The JSON routes Grafana's second data source reads (server/api/grafana.py, docs/grafana.md):
places with their probes, the limit in force, the alerts as annotations; and what another
cooperative does not see. On the real app (SQLite and PostgreSQL) with the world of
tests/server/world.py; the alerts are rows shaped as the alert worker writes them
(tests/records/support.py `frais_alert`)."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI

from server.core.models.alerts import Alert
from tests.grafana.dashboards import DASHBOARDS, REGISTRY_UID, load, queries, substitute
from tests.records.support import frais_alert
from tests.server.world import D1, D2, World, brussels, run_delivery_a


def ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


DAY = {"from": ms(brussels(D1, 0)), "to": ms(brussels(D2, 0))}


def store_alerts(app: FastAPI, world: World) -> None:
    """Coop A's warning in zone « frais » of van VA during its delivery DA, and a critical
    alert still going on at producer P1's cold room (lent to cooperative A)."""
    ids = world.ids
    with app.state.sessionmaker() as session:
        session.add(frais_alert(ids, "grafana-frais"))
        session.add(
            Alert(
                uid="grafana-cr1",
                kind="temperature_excursion",
                channel="air",
                severity="critical",
                engine_status="open",
                state="open",
                location_key=f"cold_room-{ids['CR1']}",
                cold_room_id=ids["CR1"],
                owner_id=ids["P1"],
                probe_id="cr1",
                start_at=brussels(D1, 14),
                detected_at=brussels(D1, 14),
                last_out_at=brussels(D1, 15),
                detected_late=False,
                peak=9.0,
                text_fr="Chambre froide chèvrerie : 9,0 °C depuis 60 min",
                text_en="Chambre froide chèvrerie: 9.0 °C for 60 min",
                record={},
            )
        )
        session.commit()


def test_places_probes_limits_and_refusals(world: World) -> None:
    ids = world.ids
    places = world["admin_a"].ok("GET", "/api/v1/grafana/places")
    by_key = {p["place"]: p for p in places}
    assert by_key[f"cold_room-{ids['CR1']}"] == {
        "place": f"cold_room-{ids['CR1']}",
        "kind": "cold_room",
        "name": "Chambre froide chèvrerie",
        "probes": ["cr1"],
    }
    assert by_key[f"zone-{ids['VA_frais']}"]["name"] == "Fourgon 1 — frais"
    assert by_key[f"zone-{ids['VA_frais']}"]["probes"] == ["van-a-1"]
    rooms = world["admin_a"].ok("GET", "/api/v1/grafana/places", params={"kind": "cold_room"})
    assert {p["kind"] for p in rooms} == {"cold_room"}
    assert {p["name"] for p in rooms} == {"Chambre froide chèvrerie", "Chambre froide du dépôt"}

    # Cooperative B sees its van and the pooled van VA, none of the cold rooms (A's, and
    # the producers' rooms not lent to B); producer P3 sees its own room.
    seen_by_b = {p["place"] for p in world["admin_b"].ok("GET", "/api/v1/grafana/places")}
    assert seen_by_b == {
        f"zone-{ids['VA_frais']}",
        f"zone-{ids['VA_surgele']}",
        f"zone-{ids['VB_frais']}",
    }
    seen_by_p3 = world["producer3"].ok("GET", "/api/v1/grafana/places")
    assert [(p["place"], p["probes"]) for p in seen_by_p3] == [(f"cold_room-{ids['CR3']}", [])]
    for place in (f"cold_room-{ids['CRA']}", f"cold_room-{ids['CR1']}"):
        response = world["admin_b"].get(f"/api/v1/grafana/places/{place}/probes", params=DAY)
        assert response.status_code == 404
        response = world["admin_b"].get("/api/v1/grafana/limits", params={"place": place, **DAY})
        assert response.status_code == 404

    probes = world["producer1"].ok(
        "GET", f"/api/v1/grafana/places/cold_room-{ids['CR1']}/probes", params=DAY
    )
    assert [p["probe"] for p in probes] == ["cr1"]
    assert probes[0]["end"] is None and probes[0]["start"] < DAY["from"]

    # A cold room: its category's limit (chilled_retail, 7 °C) over the whole period.
    room = world["producer1"].ok(
        "GET", "/api/v1/grafana/limits", params={"place": f"cold_room-{ids['CR1']}", **DAY}
    )
    assert room == [
        {"time": DAY["from"], "max_c": 7.0, "min_c": None},
        {"time": DAY["to"], "max_c": 7.0, "min_c": None},
    ]
    # A van zone: the strictest lot on board (labels at 6 °C from the pickup at 07:05 to the
    # drop at 10:05), else the empty zone's category (ambient: no limit).
    run_delivery_a(world)
    zone = world["admin_a"].ok(
        "GET", "/api/v1/grafana/limits", params={"place": f"zone-{ids['VA_frais']}", **DAY}
    )
    assert zone == [
        {"time": DAY["from"], "max_c": None, "min_c": None},
        {"time": ms(brussels(D1, 7, 5)), "max_c": 6.0, "min_c": None},
        {"time": ms(brussels(D1, 10, 5)), "max_c": None, "min_c": None},
        {"time": DAY["to"], "max_c": None, "min_c": None},
    ]

    # Refused: no login, bad input (a clear 422), a place that does not exist.
    assert world.client.get("/api/v1/grafana/places").status_code == 401
    assert world.client.get("/api/v1/grafana/annotations", params=DAY).status_code == 401
    user = world["admin_a"]
    backwards = {"from": DAY["to"], "to": DAY["from"]}
    response = user.get("/api/v1/grafana/annotations", params=backwards)
    assert response.status_code == 422
    assert (
        response.json()["error"]["message"] == "Données invalides : « to » doit être après « from »"
    )
    for params in (
        {"place": "zone-x", **DAY},
        {"place": "van-1", **DAY},
        {"place": f"zone-{world.ids['VA_frais']}", "from": "hier", "to": DAY["to"]},
        {"place": f"zone-{world.ids['VA_frais']}", "from": 0, "to": 10**15},
    ):
        assert user.get("/api/v1/grafana/limits", params=params).status_code == 422, params
    assert user.get("/api/v1/grafana/places/zone-99999/probes", params=DAY).status_code == 404
    assert user.get("/api/v1/grafana/places/zone-x/probes", params=DAY).status_code == 422


def test_annotations_are_the_alerts_each_user_sees(app: FastAPI, world: World) -> None:
    ids = world.ids
    store_alerts(app, world)
    frais, cr1 = f"zone-{ids['VA_frais']}", f"cold_room-{ids['CR1']}"
    seen = world["hygiene_a"].ok("GET", "/api/v1/grafana/annotations", params=DAY)
    assert seen == [
        {
            "time": ms(brussels(D1, 8)),
            "end": ms(brussels(D1, 8, 10)),
            "place": frais,
            "kind": "temperature_excursion",
            "severity": "warning",
            "text": "Zone frais : 6,5 °C pendant 10 min",
        },
        {
            "time": ms(brussels(D1, 14)),
            "end": None,  # still going on
            "place": cr1,
            "kind": "temperature_excursion",
            "severity": "critical",
            "text": "Chambre froide chèvrerie : 9,0 °C depuis 60 min",
        },
    ]
    english = world["hygiene_a"].get(
        "/api/v1/grafana/annotations",
        params={"place": frais, **DAY},
        headers={"Accept-Language": "en"},
    )
    assert [a["text"] for a in english.json()] == ["Zone frais: 6.5 °C for 10 min"]
    # A later period: only the alert still going on; an earlier one: nothing.
    after = {"from": DAY["to"], "to": DAY["to"] + 3_600_000}
    later = world["hygiene_a"].ok("GET", "/api/v1/grafana/annotations", params=after)
    assert [a["place"] for a in later] == [cr1]
    before = {"from": DAY["from"] - 3_600_000, "to": DAY["from"]}
    assert world["hygiene_a"].ok("GET", "/api/v1/grafana/annotations", params=before) == []

    # Producer P1: its cold room's alert, not the van's.
    seen_by_p1 = world["producer1"].ok("GET", "/api/v1/grafana/annotations", params=DAY)
    assert [a["place"] for a in seen_by_p1] == [cr1]
    # Cooperative B and producer P3: neither (A's delivery on the pooled van, P1's room).
    for other in ("hygiene_b", "admin_b", "producer3"):
        assert world[other].ok("GET", "/api/v1/grafana/annotations", params=DAY) == [], other
    at_frais = world["hygiene_b"].ok(
        "GET", "/api/v1/grafana/annotations", params={"place": frais, **DAY}
    )
    assert at_frais == []  # the pooled van's zone, seen by B, but the alert is A's
    response = world["hygiene_b"].get("/api/v1/grafana/annotations", params={"place": cr1, **DAY})
    assert response.status_code == 404

    # Every query the dashboards send to the server (Infinity data source), with Grafana's
    # variables substituted as Grafana would: answers rows holding the columns it selects.
    place_of = {"cold-rooms.json": cr1, "van-zones.json": frais}
    sent = 0
    for path in DASHBOARDS:
        board = load(path)
        values = {"place": [place_of.get(path.name, "")]}
        for query in queries(board, path.name):
            if query.uid != REGISTRY_UID:
                continue
            url = substitute(query.text, values, DAY["from"], DAY["to"])
            assert url.startswith("/api/v1/grafana/") and "$" not in url, url
            rows = world["hygiene_a"].ok("GET", url)
            assert rows, f"{query.where}: no rows for {url}"
            selectors = {c["selector"] for c in query.target["columns"]}
            assert all(selectors <= row.keys() for row in rows), (query.where, selectors)
            sent += 1
    assert sent == 11  # 5 per place dashboard (2 variables, limits, alerts table, annotations)
