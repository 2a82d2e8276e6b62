"""A cold room's label temperature on the pages (the real app, the world of
tests/server/world.py): the admin's new-room form takes it and says next to the field, in
French, why a looser one is refused; the room's page shows the category's limit and the
label and changes it; the admin's list of rooms shows it with its reason; the producer sees
it on « Mes chambres froides » as the limit in force, with the reason."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from server.core.models import ColdRoom
from tests.pages.conftest import FormBrowser, form_browsers
from tests.pages.test_admin_pages import field_error, typed
from tests.server.world import World

REASON = "étiquette du fromage au lait cru : ≤ 4 °C"


@pytest.fixture
def browsers(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids  # the world's users exist before they sign in
    yield from form_browsers(app, "admin_a", "admin_b", "producer1")


@pytest.fixture
def admin(browsers: dict[str, FormBrowser]) -> FormBrowser:
    return browsers["admin_a"]


def test_the_new_room_form_takes_a_label_and_refuses_a_looser_one(
    app: FastAPI, world: World, admin: FormBrowser
) -> None:
    sent = {
        "name": "Chambre des fromages",
        "owner_id": str(world.ids["A"]),
        "category": "chilled_retail",
        "label_max_c": "8,5",
        "label_reason": REASON,
    }
    looser = admin.post("/admin/cold-rooms", sent)
    assert looser.status_code == 422
    assert field_error(looser.text, "new_room", "label_max_c").startswith(
        "La température d'étiquette (8,5 °C) doit être plus basse que la limite de la catégorie"
    )
    assert typed(looser.text, "new_room", "label_reason") == REASON  # what was typed stays
    made = admin.post("/admin/cold-rooms", {**sent, "label_max_c": "4"})
    assert made.status_code == 303, made.text
    with app.state.sessionmaker() as session:
        room = session.scalars(select(ColdRoom).where(ColdRoom.name == sent["name"])).one()
    assert (room.label_max_c, room.label_reason) == (4.0, REASON)
    listed = html.unescape(admin.get("/admin").text)
    assert f"≤ 4,0 °C — {REASON}" in listed
    assert f'href="/admin/cold-rooms/{room.id}"' in listed


def test_the_room_page_shows_and_changes_the_label(
    world: World, browsers: dict[str, FormBrowser], admin: FormBrowser
) -> None:
    room = world.ids["CRA"]
    page = html.unescape(admin.get(f"/admin/cold-rooms/{room}").text)
    assert "Limite de la catégorie" in page and "≤ 7,0 °C" in page
    assert "aucune : limite de la catégorie" in page
    url = f"/admin/cold-rooms/{room}/label"
    wrong = admin.post(url, {"label_max_c": "beaucoup", "label_reason": ""})
    assert wrong.status_code == 422
    assert field_error(wrong.text, "room_label_title", "label_max_c") == "doit être un nombre"
    alone = admin.post(url, {"label_max_c": "", "label_reason": REASON})
    assert "sans température" in field_error(alone.text, "room_label_title", "label_max_c")
    done = admin.post(url, {"label_max_c": "3,5", "label_reason": REASON})
    assert done.status_code == 303 and done.headers["location"] == f"/admin/cold-rooms/{room}"
    page = html.unescape(admin.get(f"/admin/cold-rooms/{room}").text)
    assert f"≤ 3,5 °C — {REASON}" in page
    assert typed(page, "room_label_title", "label_max_c") == "3,5"
    cleared = admin.post(url, {"label_max_c": "", "label_reason": ""})
    assert cleared.status_code == 303
    assert "aucune : limite de la catégorie" in html.unescape(
        admin.get(f"/admin/cold-rooms/{room}").text
    )
    assert browsers["admin_b"].get(f"/admin/cold-rooms/{room}").status_code == 404  # not theirs


def test_the_producer_sees_the_label_as_the_limit_in_force(
    world: World, browsers: dict[str, FormBrowser]
) -> None:
    label = {"label_max_c": 4.0, "label_reason": REASON}
    world["producer1"].ok("PUT", f"/api/v1/cold-rooms/{world.ids['CR1']}/label", label)
    for path in ("/producer", "/live/producer"):  # the page, and its live parts
        page = html.unescape(browsers["producer1"].get(path).text)
        assert "Limite : ≤ 4,0 °C" in page, path
        assert f"Température d'étiquette — {REASON}" in page, path
