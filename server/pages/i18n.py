"""The pages' language (French first, English available), their words (the `pages`
catalogue, server/core/catalogue.py) and how values are shown: times in the site's zone,
temperatures with their unit, French decimal commas."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fastapi import Request

from coldchain import clock
from server.core import catalogue, numbers
from server.core.errors import language

LANG_COOKIE = "coldchain_lang"
LANGUAGES = catalogue.LANGUAGES


def page_language(request: Request) -> str:
    """The language chosen with the switch (cookie), else Accept-Language, else French."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    default: str = request.app.state.default_language
    return language(request, default if default in LANGUAGES else "fr")


def celsius(value: float | None, lang: str) -> str:
    """« 2,5 °C » (server/core/numbers.py: the same for the pages and the PDF records)."""
    return numbers.celsius(value, lang)


def number(value: str | float, lang: str) -> str:
    """A quantity as people write it: 12.500 -> « 12,5 » in French, "12.5" in English."""
    return numbers.decimal(value, lang)


def local_time(value: datetime | None, lang: str, with_date: bool = True) -> str:
    """The site's wall-clock time (stored times are UTC)."""
    if value is None:
        return "—"
    local = value.astimezone(clock.zone())
    if not with_date:
        return local.strftime("%H:%M")
    return local.strftime("%d/%m/%Y %H:%M" if lang == "fr" else "%Y-%m-%d %H:%M")


def duration(minutes: int, lang: str) -> str:
    """A span as people say it: « 12 min », « 1 h 05 », « 2 j 3 h » (English: 2 d 3 h)."""
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d}" + ("" if lang == "fr" else " min")
    days, hours = divmod(hours, 24)
    return f"{days} {'j' if lang == 'fr' else 'd'} {hours} h"


def translator(lang: str) -> Mapping[str, str]:
    """The pages' words in `lang` (server/locale/<lang>/LC_MESSAGES/pages.po): `t.<key>`
    in the templates."""
    return catalogue.words("pages", lang)


def value_name(value: str | None, lang: str) -> str:
    if value is None:
        return "—"
    return catalogue.words("pages", lang, "value").get(value, value)
