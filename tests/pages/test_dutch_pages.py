"""Pages in Dutch end to end (the switch's cookie, as a user's stored choice sets it at
login): a refusal of the domain shown next to the form's field in Dutch, the delivery's
handover said as Dutch says it, no French « : » between a name and its value, and the
loads' units named as the Dutch records name them."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from server.core.languages import LANG_COOKIE
from server.pages import i18n
from tests.pages.conftest import FormBrowser, form_browsers
from tests.server.world import World, run_delivery_a


@pytest.fixture
def dutch(app: FastAPI, world: World) -> Iterator[dict[str, FormBrowser]]:
    assert world.user_ids
    for browsers in form_browsers(app, "admin_a", "driver_a"):
        for browser in browsers.values():
            browser.client.cookies.set(LANG_COOKIE, "nl")
        yield browsers


def text_of(page: str) -> str:
    """What a reader sees: the page without its tags, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_a_dutch_user_reads_dutch_refusals_and_words(
    world: World, dutch: dict[str, FormBrowser]
) -> None:
    admin = dutch["admin_a"]
    taken = {"name": "Fourgon 2", "plate": "1-ABC-123", "owner_id": str(world.ids["A"])}
    again = admin.post("/admin/vans", taken)  # the world's van has that plate
    assert again.status_code == 409
    error = re.search(r'id="error-new_van-plate">⚠ ([^<]*)</p>', again.text)
    assert error is not None and html.unescape(error.group(1)) == (
        "Conflict met de bestaande gegevens: nummerplaat al geregistreerd"
    )

    run_delivery_a(world)
    page = text_of(dutch["driver_a"].get(f"/deliveries/{world.ids['DA']}").text)
    assert "✔ Overgedragen om 07:05" in page and "✔ Overgedragen om 10:05" in page
    assert re.search(r"\w :\s", page) is None, re.findall(r".{30}\w :\s.{20}", page)
    assert "12,5 kg" in page


@pytest.mark.parametrize(
    ("lang", "unit", "said"),
    [
        ("nl", "pièces", "12 stuks"),
        ("nl", "pièce", "1 stuk"),
        ("fr", "pcs", "12 pièces"),
        ("en", "pièces", "12 pieces"),
        ("nl", "kg", "12 kg"),
    ],
)
def test_the_pages_name_units_as_the_records_do(lang: str, unit: str, said: str) -> None:
    amount = "1" if said.startswith("1 ") else "12.000"
    assert i18n.quantity(amount, unit, lang) == said
