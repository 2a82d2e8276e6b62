"""Which language a reader gets. The pages: the switch's cookie (server/pages/i18n.py). A
document at export (a sealed record's PDF, a producer's extract, an inspection ZIP): the
one asked for (`?lang=fr|nl|en`, the export form's choice: an inspector of the FAVV gets
Dutch), else the pages' language (the cookie), else Accept-Language, else the site's
default. The catalogues say which languages exist (server/core/catalogue.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Request

from server.core import catalogue
from server.core.errors import language

LANG_COOKIE = "coldchain_lang"  # the pages' switch (server/pages/home_pages.py)
LangQuery = Annotated[
    Literal["fr", "nl", "en"] | None,
    Query(alias="lang", description="The document's language: fr, nl or en."),
]


def document_language(request: Request, asked: str | None) -> str:
    for chosen in (asked, request.cookies.get(LANG_COOKIE)):
        if chosen in catalogue.LANGUAGES:
            return chosen
    default = str(getattr(request.app.state, "default_language", catalogue.LANGUAGES[0]))
    return language(request, default if default in catalogue.LANGUAGES else catalogue.LANGUAGES[0])
