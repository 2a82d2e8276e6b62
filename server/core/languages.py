"""Which language a reader gets. The pages: the switch's cookie (server/pages/i18n.py). A
document at export (a sealed record's PDF, a producer's extract, an inspection ZIP) and an
API error's message: the one asked for (`?lang=fr|nl|en`, the export form's choice: an
inspector of the FAVV gets Dutch), else the pages' language (the cookie), else the choice
stored for the signed-in user (bearer token or the pages' session cookie: `User.language`), else
Accept-Language, else the site's default. The catalogues say which languages exist
(server/core/catalogue.py)."""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import Query, Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.exc import SQLAlchemyError

from server.core import catalogue
from server.core.deps import current_access_token, current_user, session_cookie_token
from server.core.errors import ApiError, language

log = logging.getLogger(__name__)

LANG_COOKIE = "coldchain_lang"  # the pages' switch (server/pages/home_pages.py)
LangQuery = Annotated[
    Literal["fr", "nl", "en"] | None,
    Query(alias="lang", description="The document's language: fr, nl or en."),
]


def document_language(request: Request, asked: str | None) -> str:
    return reader_language(request, asked)


def api_language(request: Request) -> str:
    """An API error's language (server/core/errors.py `install`): `?lang=` as asked."""
    return reader_language(request, request.query_params.get("lang"))


def reader_language(request: Request, asked: str | None) -> str:
    for chosen in (asked, request.cookies.get(LANG_COOKIE)):
        if chosen in catalogue.LANGUAGES:
            return chosen
    stored = signed_in_choice(request)
    if stored in catalogue.LANGUAGES:
        return stored
    default = str(getattr(request.app.state, "default_language", catalogue.LANGUAGES[0]))
    return language(request, default if default in catalogue.LANGUAGES else catalogue.LANGUAGES[0])


def signed_in_choice(request: Request) -> str | None:
    """The language stored for the signed-in user: of the bearer token (an API client), else
    of the pages' session cookie (the offline queue's calls, server/pages/static/*.js). None
    when nobody is signed in or the user never chose (`User.language` is set by the pages'
    switch)."""
    state = request.app.state
    settings = getattr(getattr(state, "settings", None), "server", None)
    if settings is None:
        return None
    # The header read as HTTPBearer reads it (server/core/deps.py `_bearer`).
    scheme, bearer = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and bearer:
        token: str | None = bearer
    elif request.cookies.get(settings.session_cookie_name) is not None:
        token = session_cookie_token(request, settings)
    else:
        return None
    try:
        with state.sessionmaker() as session:
            return current_user(session, current_access_token(session, token)).language
    except ApiError:  # an expired or revoked session: nobody signed in
        return None
    except SQLAlchemyError:  # the database failing: the answer goes out all the same
        log.warning("reader's stored language unread", exc_info=True)
        return None
