"""The one list of page modules (server/pages/app.py PAGES): each brings its routes and its
menu links (their words in the `pages` catalogue), and nothing else needs to know about it."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from server.pages import i18n
from server.pages.app import PAGES
from server.pages.web import NavLink


def test_the_menu_lists_each_roles_pages_in_the_order_of_a_day(app: FastAPI) -> None:
    menu: tuple[NavLink, ...] = app.state.page_menu
    assert [(link.role, link.path) for link in menu] == [
        ("driver", "/driver"),
        ("driver", "/deliveries"),
        ("producer", "/producer"),
        ("producer", "/lots"),
        ("hygiene_officer", "/hygiene"),
        ("hygiene_officer", "/inspection"),
        ("admin", "/admin"),
    ]
    words = i18n.translator("fr")
    assert [words[link.word] for link in menu] == [
        "Mon camion maintenant",
        "Mes livraisons du jour",
        "Mes chambres froides",
        "Mes lots",
        "Alertes à revoir",
        "Export pour inspection (AFSCA)",
        "Administration",
    ]


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_every_page_module_is_mounted_with_its_menu_words(app: FastAPI, lang: str) -> None:
    # FastAPI keeps each included router as one entry (`original_router`), not copies.
    included = [getattr(route, "original_router", None) for route in app.routes]
    words = i18n.translator(lang)
    for page in PAGES:
        assert any(router is page.router for router in included)
        assert page.router.routes
        assert {link.word for link in page.NAV} <= set(words)
