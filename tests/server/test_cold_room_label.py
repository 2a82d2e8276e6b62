"""A cold room's label storage temperature through the API (server/api/cold_rooms.py,
server/domain/fleet.py, server/domain/categories.py `check_label`): set at creation or
afterwards, stricter than the category's limit only, refused otherwise with the French
message of the one error body; only the room's managers may set it. SQLite and PostgreSQL."""

from __future__ import annotations

from tests.server.world import World

REASON = "étiquette du fromage au lait cru : ≤ 4 °C"


def room_body(world: World, **extra: object) -> dict[str, object]:
    return {
        "name": "Chambre des fromages",
        "owner_id": world.ids["P1"],
        "category": "chilled_retail",  # 7 °C (AR 13/07/2014)
        **extra,
    }


def test_a_label_stricter_than_the_category_is_kept_and_a_looser_one_refused(
    world: World,
) -> None:
    producer = world["producer1"]
    made = producer.ok(
        "POST",
        "/api/v1/cold-rooms",
        room_body(world, label_max_c=4.0, label_reason=REASON),
        201,
    )
    assert (made["label_max_c"], made["label_reason"]) == (4.0, REASON)
    assert producer.ok("GET", f"/api/v1/cold-rooms/{made['id']}")["label_reason"] == REASON

    looser = producer.post("/api/v1/cold-rooms", room_body(world, label_max_c=8.0))
    assert looser.status_code == 422, looser.text
    error = looser.json()["error"]
    assert error["code"] == "label_not_stricter"
    assert error["message"] == (
        "La température d'étiquette (8 °C) doit être plus basse que la limite de la catégorie "
        "« Denrées réfrigérées (commerce de détail, défaut belge) » (7 °C) : une étiquette rend "
        "la limite plus stricte, jamais plus souple."
    )
    english = producer.post(
        "/api/v1/cold-rooms",
        room_body(world, label_max_c=7.0),  # equal is not stricter
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 422
    assert english.json()["error"]["message"].startswith(
        "The label temperature (7 °C) must be lower than the limit of the category"
    )


def test_the_label_is_set_changed_and_removed_on_an_existing_room(world: World) -> None:
    url = f"/api/v1/cold-rooms/{world.ids['CR1']}/label"
    producer = world["producer1"]
    answer = producer.ok("PUT", url, {"label_max_c": 4.5, "label_reason": REASON})
    assert (answer["label_max_c"], answer["label_reason"]) == (4.5, REASON)
    refused = producer.client.put(url, json={"label_max_c": 12.5}, headers=producer.headers)
    assert refused.status_code == 422
    assert "(12,5 °C) doit être plus basse" in refused.json()["error"]["message"]
    kept = producer.ok("GET", f"/api/v1/cold-rooms/{world.ids['CR1']}")
    assert kept["label_max_c"] == 4.5  # a refusal changes nothing
    cleared = producer.ok("PUT", url, {})
    assert (cleared["label_max_c"], cleared["label_reason"]) == (None, None)


def test_other_label_refusals(world: World) -> None:
    producer = world["producer1"]
    for body, words in (
        ({"label_reason": REASON}, "motif d'étiquette sans température"),
        ({"label_max_c": "NaN"}, "Données invalides"),
        ({"label_max_c": 4.0, "label_reason": "x" * 201}, "Données invalides"),
    ):
        answer = producer.client.put(
            f"/api/v1/cold-rooms/{world.ids['CR1']}/label", json=body, headers=producer.headers
        )
        assert answer.status_code == 422, (body, answer.text)
        assert words in answer.json()["error"]["message"], answer.text
    eggs = producer.post(
        "/api/v1/cold-rooms", room_body(world, category="shell_eggs", label_max_c=4.0)
    )
    assert eggs.status_code == 422  # under the eggs' 5 °C minimum: nothing could be right
    assert "au-dessus du minimum" in eggs.json()["error"]["message"]
    url = f"/api/v1/cold-rooms/{world.ids['CR1']}/label"
    # Coop A sees the room (lent to it) but does not manage it; coop B's admin does not see it.
    assert (
        world["admin_a"].client.put(url, json={}, headers=world["admin_a"].headers).status_code
        == 403
    )
    assert (
        world["admin_b"].client.put(url, json={}, headers=world["admin_b"].headers).status_code
        == 404
    )
