"""Page plumbing: templates, the signed-in user from the session cookie (the server's
own auth dependencies, called directly), rendering with language and formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from server.access import Viewer
from server.deps import current_access_token, current_user, presented_token
from server.errors import ApiError
from server.models import AccessToken, Role, User
from server.pages import i18n

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True)
class Visitor:
    user: User
    viewer: Viewer
    access: AccessToken

    def has_role(self, role: str) -> bool:
        return bool(self.viewer.orgs_with(role))


class NeedLogin(Exception):
    """Raised by `visitor()`; the pages router answers with a redirect to /login."""


class PageRefused(Exception):
    """Not for this role (403) or not visible / not there (404): an HTML page, not JSON."""

    def __init__(self, status: int, visit: Visitor) -> None:
        super().__init__(status)
        self.status = status
        self.visit = visit


def visitor(request: Request, session: Session) -> Visitor:
    settings = request.app.state.settings.server
    try:
        token = presented_token(request, settings, None)
        access = current_access_token(session, token)
        user = current_user(session, access)
    except ApiError as error:
        raise NeedLogin from error
    return Visitor(user, Viewer.of(user), access)


def home_of(visit: Visitor) -> str:
    """The first page of the user's main role."""
    for role, path in (
        (Role.DRIVER, "/driver"),
        (Role.HYGIENE_OFFICER, "/hygiene"),
        (Role.PRODUCER, "/producer"),
        (Role.ADMIN, "/admin"),
    ):
        if visit.has_role(role):
            return path
    return "/admin"  # no role (an installation superuser): the page says it is not theirs


def render(
    request: Request,
    name: str,
    visit: Visitor | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = i18n.page_language(request)
    nav = []
    if visit is not None:
        for role, path, word in (
            (Role.DRIVER, "/driver", "my_truck"),
            (Role.PRODUCER, "/producer", "my_rooms"),
            (Role.HYGIENE_OFFICER, "/hygiene", "review"),
            (Role.ADMIN, "/admin", "admin"),
        ):
            if visit.has_role(role):
                nav.append((path, word))
    return templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": i18n.translator(lang),
            "v": lambda value: i18n.value_name(value, lang),
            "temp": lambda value: i18n.celsius(value, lang),
            "num": lambda value: i18n.number(value, lang),
            "when": lambda value: i18n.local_time(value, lang),
            "hour": lambda value: i18n.local_time(value, lang, with_date=False),
            "visit": visit,
            "nav": nav,
            **context,
        },
        status_code=status_code,
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
