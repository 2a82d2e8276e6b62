"""The pages' language (French first, Dutch and English available), their words (the
`pages` catalogue, server/core/catalogue.py) and how values are shown: times in the site's
zone, temperatures with their unit, decimal commas in French and Dutch."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain import clock
from server.core import catalogue, errors, languages, numbers
from server.core.db import begin_writing
from server.core.deps import current_access_token, current_user, session_cookie_token
from server.core.errors import ApiError, language, message
from server.core.models import User
from server.records.wording import Words

LANG_COOKIE = languages.LANG_COOKIE
LANG_COOKIE_AGE_S = 365 * 86400
LANGUAGES = catalogue.LANGUAGES


def page_language(request: Request) -> str:
    """The language chosen with the switch (cookie, set again from the user's stored choice
    at login), else Accept-Language, else the configured default, else French."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    default: str = request.app.state.default_language
    return language(request, default if default in LANGUAGES else "fr")


def remember(response: Response, lang: str | None) -> None:
    """The pages' language cookie set to `lang` (nothing for None or an unknown code)."""
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=LANG_COOKIE_AGE_S, samesite="lax")


def stored_language(session: Session, email: str) -> str | None:
    """The language a user chose (User.language), None if never: read at login, so that the
    choice follows them to another phone or computer."""
    chosen = session.scalar(select(User.language).where(User.email == email))
    return chosen if chosen in LANGUAGES else None


def store_choice(request: Request, session: Session, lang: str) -> None:
    """Keep the signed-in user's choice of language (nobody signed in: the cookie only)."""
    try:  # as server/pages/web.py's `visitor`
        token = session_cookie_token(request, request.app.state.settings.server)
        user_id = current_user(session, current_access_token(session, token)).id
    except ApiError:
        return
    begin_writing(session)
    user = session.get(User, user_id)
    if user is not None and user.language != lang:
        user.language = lang
    session.commit()


def celsius(value: float | None, lang: str) -> str:
    """« 2,5 °C » (server/core/numbers.py: the same for the pages and the PDF records)."""
    return numbers.celsius(value, lang)


def number(value: str | float, lang: str) -> str:
    """A quantity as people write it: 12.500 -> « 12,5 » in French, "12.5" in English."""
    return numbers.decimal(value, lang)


def quantity(amount: str | float, unit: str, lang: str) -> str:
    """A load's quantity with its unit as the records write it (server/records/wording.py,
    the one home of unit names): « 12 pièces », "12 stuks", "12 pieces"; « 8 kg »."""
    return Words(lang).quantity(amount, unit)


def local_time(value: datetime | None, lang: str, with_date: bool = True) -> str:
    """The site's wall-clock time (stored times are UTC)."""
    if value is None:
        return "—"
    local = value.astimezone(clock.zone())
    if not with_date:
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M" if lang == "en" else "%d/%m/%Y %H:%M")


# The short words of a span: (day, hour, minutes after an hour) per language.
SPAN_UNITS = {"fr": ("j", "h", ""), "nl": ("d", "u", ""), "en": ("d", "h", " min")}


def duration(minutes: int, lang: str) -> str:
    """A span as people say it: « 12 min », « 1 h 05 », « 2 j 3 h » (Dutch: 1 u 05, 2 d 3 u;
    English: 1 h 05 min, 2 d 3 h)."""
    day, hour, after = SPAN_UNITS.get(lang, SPAN_UNITS["fr"])
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} {hour} {rest:02d}{after}"
    days, hours = divmod(hours, 24)
    return f"{days} {day} {hours} {hour}"


def translator(lang: str) -> Mapping[str, str]:
    """The pages' words in `lang` (server/locale/<lang>/LC_MESSAGES/pages.po): `t.<key>`
    in the templates."""
    return catalogue.words("pages", lang)


def refusal(refused: ApiError, lang: str) -> str:
    """The API's refusal as the page says it: its message in `lang` (its reason too, a
    state by its name, « La livraison est en route »: server/core/errors.py)."""
    return message(refused.code, lang, refused.params)


def value_name(value: str | None, lang: str) -> str:
    return "—" if value is None else errors.value_name(value, lang)
