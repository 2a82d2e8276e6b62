"""Readings land on the place the probe was at their DEVICE time, with the calibration in
force at that time, whatever the order in which readings and registry entries arrive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coldchain.readingstore.sqlite import SqliteReadingStore
from server.domain.place_readings import from_ms, to_ms
from tests.server.world import D1, D2, World, brussels, iso, reading


def _times(response: object) -> list[tuple[str, float | None]]:
    body = response.json()  # type: ignore[attr-defined]
    return [(r["time"], r["value"]) for r in body["readings"]]


def _z(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_probe_move_and_late_reading(world: World, reading_store: SqliteReadingStore) -> None:
    admin, ids = world["admin_a"], world.ids
    probe = admin.ok("POST", "/api/v1/probes", {"probe_id": "mover", "owner_id": ids["A"]}, 201)
    installs = f"/api/v1/probes/{probe['id']}/installations"
    in_van = admin.ok(
        "POST", installs, {"zone_id": ids["VA_frais"], "start": iso(brussels(D1, 8))}, 201
    )
    before, in_zone, at_move, after = (brussels(D1, h) for h in (7, 9, 12, 13))
    reading_store.write(
        reading("mover", "air", t, v, i)
        for i, (t, v) in enumerate([(before, 1.0), (in_zone, 2.0), (at_move, 3.0), (after, 4.0)])
    )
    zone_url = f"/api/v1/zones/{ids['VA_frais']}/readings"
    room_url = f"/api/v1/cold-rooms/{ids['CRA']}/readings"
    day = {"start": iso(brussels(D1, 0)), "end": iso(brussels(D2, 0)), "channel": "air"}
    zone = [
        r for r in admin.ok("GET", zone_url + "?" + _q(day))["readings"] if r["probe_id"] == "mover"
    ]
    # Not yet told about the move: everything from 08:00 on is in the van.
    assert [r["value"] for r in zone] == [2.0, 3.0, 4.0]

    # The admin records the move to the depot's cold room at 12:00, after the facts.
    admin.ok("POST", f"{installs}/{in_van['id']}/end", {"end": iso(at_move)})
    admin.ok("POST", installs, {"cold_room_id": ids["CRA"], "start": iso(at_move)}, 201)
    # A reading measured in the van at 10:00 arrives a day late (the van was out of coverage).
    reading_store.write([reading("mover", "air", brussels(D1, 10), 2.5, 10)])

    zone = [
        r for r in admin.ok("GET", zone_url + "?" + _q(day))["readings"] if r["probe_id"] == "mover"
    ]
    room = admin.ok("GET", room_url + "?" + _q(day))["readings"]
    assert [(r["time"], r["value"]) for r in zone] == [
        (_z(in_zone), 2.0),
        (_z(brussels(D1, 10)), 2.5),
    ]
    assert [(r["time"], r["value"]) for r in room] == [(_z(at_move), 3.0), (_z(after), 4.0)]
    assert {r["probe_id"] for r in room} == {"mover"}

    # Each reading of the probe names its place; 07:00 was before any installation.
    attributed = admin.ok("GET", f"/api/v1/probes/{probe['id']}/readings?" + _q(day))
    assert attributed["probe_id"] == "mover" and attributed["truncated"] is False
    places = [(r["value"], r["zone_id"], r["cold_room_id"]) for r in attributed["readings"]]
    assert places == [
        (1.0, None, None),
        (2.0, ids["VA_frais"], None),
        (2.5, ids["VA_frais"], None),
        (3.0, None, ids["CRA"]),
        (4.0, None, ids["CRA"]),
    ]


def test_probe_cannot_be_at_two_places(world: World) -> None:
    admin, ids = world["admin_a"], world.ids
    probe = admin.ok("POST", "/api/v1/probes", {"probe_id": "twice", "owner_id": ids["A"]}, 201)
    url = f"/api/v1/probes/{probe['id']}/installations"
    first = admin.ok(
        "POST",
        url,
        {"zone_id": ids["VA_frais"], "start": iso(brussels(D1, 8)), "end": iso(brussels(D1, 12))},
        201,
    )
    admin.ok("POST", url, {"cold_room_id": ids["CRA"], "start": iso(brussels(D1, 12))}, 201)

    overlapping = {"zone_id": ids["VA_surgele"], "start": iso(brussels(D1, 11))}
    response = admin.post(url, overlapping)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "probe_already_installed"
    assert (
        error["message"] == "La sonde twice est déjà installée ailleurs sur cette période "
        f"(installation {first['id']})."
    )
    english = admin.post(url, overlapping, headers={"Accept-Language": "en-GB,en;q=0.9,fr;q=0.5"})
    assert english.json()["error"]["message"].startswith(
        "Probe twice is already installed elsewhere"
    )
    # Stretching the first installation over the second one is refused the same way.
    stretched = admin.post(f"{url}/{first['id']}/end", {"end": iso(brussels(D1, 14))})
    assert stretched.status_code == 409
    # Touching intervals are fine ([08:00, 12:00) then [12:00, ...)); a reversed one is not.
    reversed_ = admin.post(
        url,
        {"zone_id": ids["VA_surgele"], "start": iso(brussels(D1, 6)), "end": iso(brussels(D1, 5))},
    )
    assert reversed_.status_code == 422
    both = admin.post(
        url,
        {
            "zone_id": ids["VA_surgele"],
            "cold_room_id": ids["CRA"],
            "start": iso(brussels(D1, 1)),
            "end": iso(brussels(D1, 2)),
        },
    )
    assert both.status_code == 422
    naive = admin.post(url, {"zone_id": ids["VA_surgele"], "start": "2026-03-10T01:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["details"][0]["problem"] == (
        "l'heure doit indiquer son fuseau (par ex. +01:00 ou Z)"
    )


def test_calibration_in_force_per_reading_time(
    world: World, reading_store: SqliteReadingStore
) -> None:
    producer, ids = world["producer1"], world.ids
    calibrations = f"/api/v1/probes/{ids['probe_CR1']}/calibrations"

    def calibration(channel: str, offset: float, at: datetime) -> dict[str, object]:
        return {
            "channel": channel,
            "offset": offset,
            "calibrated_at": iso(at),
            "reference_instrument": "Testo 735 n° 1234",
            "performed_by": "Labo Wallon",
            "next_due": "2027-03-10",
        }

    def calibrate(channel: str, offset: float, at: datetime) -> int:
        return int(producer.ok("POST", calibrations, calibration(channel, offset, at), 201)["id"])

    air1 = calibrate("air", 0.5, brussels(D1, 0))
    air2 = calibrate("air", -0.3, brussels(D1, 12))
    product = calibrate("product", 1.0, brussels(D1, 6))
    samples = [
        ("air", brussels(D1, 0) - timedelta(hours=12), 4.0),
        ("air", brussels(D1, 6), 4.0),
        ("air", brussels(D1, 13), 4.0),
        ("product", brussels(D1, 5), 4.0),
        ("product", brussels(D1, 7), 4.0),
    ]
    reading_store.write(reading("cr1", ch, t, v, i) for i, (ch, t, v) in enumerate(samples))
    url = f"/api/v1/cold-rooms/{ids['CR1']}/readings?" + _q(
        {"start": iso(brussels(D1, 0) - timedelta(days=1)), "end": iso(brussels(D2, 0))}
    )
    rows = producer.ok("GET", url)["readings"]
    assert [(r["channel"], r["raw_value"], r["value"], r["calibration_id"]) for r in rows] == [
        ("air", 4.0, 4.0, None),  # before any calibration: raw
        ("product", 4.0, 4.0, None),  # product channel calibrated only from 06:00
        ("air", 4.0, 4.5, air1),
        ("product", 4.0, 5.0, product),
        ("air", 4.0, 3.7, air2),
    ]
    # A calibration recorded today for 03:00 applies to the 06:00 reading, not to later ones.
    air_back = calibrate("air", 0.2, brussels(D1, 3))
    rows = producer.ok("GET", url + "&channel=air")["readings"]
    assert [(r["value"], r["calibration_id"]) for r in rows] == [
        (4.0, None),
        (4.2, air_back),
        (3.7, air2),
    ]

    bad = producer.post(calibrations, calibration("colour", 0.1, brussels(D1, 1)))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    huge = producer.post(calibrations, calibration("air", 1e308, brussels(D1, 1)))
    assert huge.status_code == 422
    listed = producer.ok("GET", calibrations)["data"]
    assert [c["id"] for c in listed] == [air1, air_back, product, air2]


def test_latest_values(world: World, reading_store: SqliteReadingStore) -> None:
    producer, ids = world["producer1"], world.ids
    now = datetime.now(UTC)
    reading_store.write(
        [
            reading("cr1", "air", now - timedelta(minutes=10), 3.0, 1),
            reading("cr1", "air", now - timedelta(minutes=5), 3.2, 2),
            reading("cr1", "humidity", now - timedelta(minutes=5), 80.0, 3),
        ]
    )
    latest = producer.ok("GET", f"/api/v1/cold-rooms/{ids['CR1']}/readings/latest")
    assert latest["place"] == f"cold_room:{ids['CR1']}"
    assert {r["channel"]: r["value"] for r in latest["readings"]} == {"air": 3.2, "humidity": 80.0}
    assert (
        world["producer3"].get(f"/api/v1/cold-rooms/{ids['CR1']}/readings/latest").status_code
        == 404
    )


def test_latest_follows_a_moved_probe(world: World, reading_store: SqliteReadingStore) -> None:
    admin, ids = world["admin_a"], world.ids
    now = datetime.now(UTC)
    probe = admin.ok("POST", "/api/v1/probes", {"probe_id": "mover2", "owner_id": ids["A"]}, 201)
    url = f"/api/v1/probes/{probe['id']}/installations"
    span = {"start": iso(now - timedelta(hours=3)), "end": iso(now - timedelta(hours=1))}
    admin.ok("POST", url, {"cold_room_id": ids["CRA"], **span}, 201)
    admin.ok("POST", url, {"cold_room_id": ids["CR1"], "start": iso(now - timedelta(hours=1))}, 201)
    reading_store.write(
        [
            reading("mover2", "air", now - timedelta(hours=2), 5.0, 1),
            reading("mover2", "air", now - timedelta(minutes=30), 2.0, 2),
        ]
    )
    depot = admin.ok("GET", f"/api/v1/cold-rooms/{ids['CRA']}/readings/latest")["readings"]
    lent = admin.ok("GET", f"/api/v1/cold-rooms/{ids['CR1']}/readings/latest")["readings"]
    assert [(r["probe_id"], r["value"]) for r in depot] == [("mover2", 5.0)]
    assert [(r["probe_id"], r["value"]) for r in lent] == [("mover2", 2.0)]


def _q(params: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


@given(st.integers(min_value=946_684_800_000, max_value=4_102_444_800_000))
def test_millisecond_times_round_trip_exactly(ms: int) -> None:
    """Device times are integer milliseconds; boundaries (a move at 12:00:00.000) must not
    shift by one because of float arithmetic."""
    assert to_ms(from_ms(ms)) == ms
    assert from_ms(ms).tzinfo is UTC
