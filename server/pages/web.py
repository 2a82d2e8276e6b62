"""Page plumbing: templates, the signed-in user from the session cookie (the server's
own auth dependencies, called directly) and whether the page is theirs, rendering with
language and formatting helpers, the forms' CSRF protection, and what every form does
with what was typed (read off the event loop; Brussels wall times, decimal commas).

CSRF (server/core/csrf.py): every POST form of the pages carries a hidden token and every
POST route checks it before doing anything; a missing or wrong token gets the 403 page
« Formulaire expiré ou invalide, rechargez la page » (logged, and counted by reason in
`app.state.csrf_refused`).

- In a template, inside each ``<form method="post">``: ``{{ csrf_field() }}``
  (``render`` provides it; ``csrf_token()`` gives the bare value).
- In a route of a signed-in page, a parameter ``_csrf: CsrfChecked`` (FastAPI reads the
  form once; the route may read ``await request.form()`` again). A route that reads the
  form itself (e.g. in a thread) may instead call ``check_csrf(request, form.get("csrf"))``
  first; it raises ``CsrfRefused``, which server/pages/app.py answers with the page.
- The login form has no session yet: ``LoginCsrfChecked`` (a signed double-submit cookie,
  set by ``render`` when the form is shown).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from coldchain import clock
from server.core import csrf
from server.core.access import Viewer, get_visible
from server.core.deps import current_access_token, current_user, session_cookie_token
from server.core.errors import ApiError
from server.core.models import AccessToken, Role, User
from server.domain import categories
from server.pages import i18n

log = logging.getLogger(__name__)
T = TypeVar("T")

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


@dataclass(frozen=True)
class NavLink:
    """A link of the header's menu, shown to the users holding `role` somewhere: a page
    module lists its own in `NAV` (server/pages/app.py gathers them)."""

    role: str
    path: str
    word: str  # its title: a key of the words


# The menu lists each role's pages together, roles in this order (then in the order of
# server/pages/app.py's PAGES).
NAV_ROLES = (Role.DRIVER, Role.PRODUCER, Role.HYGIENE_OFFICER, Role.ADMIN)


def menu(links: Iterable[NavLink]) -> tuple[NavLink, ...]:
    """The header's menu from the page modules' links."""
    return tuple(sorted(links, key=lambda link: NAV_ROLES.index(Role(link.role))))


@dataclass(frozen=True)
class Visitor:
    user: User
    viewer: Viewer
    access: AccessToken

    def has_role(self, role: str) -> bool:
        return bool(self.viewer.orgs_with(role))

    def sees_link(self, link: NavLink) -> bool:
        """The header shows the link: the user holds its role somewhere, or it is the
        admin's page and the user is the installation superuser (server/pages/admin_*)."""
        return self.has_role(link.role) or (self.viewer.is_superuser and link.role == Role.ADMIN)


def administers(visit: Visitor) -> bool:
    """The admin pages are for the admins, and for the installation superuser (it creates
    the organisations and their first admins; server/domain/organisations.py, users.py)."""
    return visit.has_role(Role.ADMIN) or visit.viewer.is_superuser


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
        token = session_cookie_token(request, settings)
        access = current_access_token(session, token)
        user = current_user(session, access)
    except ApiError as error:
        raise NeedLogin from error
    return Visitor(user, Viewer.of(user), access)


def allowed_visitor(request: Request, session: Session, may: Callable[[Visitor], bool]) -> Visitor:
    """The signed-in visitor if the page is for them (`may`); else the 403 page, which says
    it is not for their role."""
    visit = visitor(request, session)
    if not may(visit):
        raise PageRefused(403, visit)
    return visit


def visible_or_404(session: Session, visit: Visitor, model: type[T], row_id: int) -> T:
    """The row if the visitor may see it; else the 404 page (access.py: a row one may not
    see answers like one that is not there)."""
    try:
        return get_visible(session, visit.viewer, model, row_id)
    except ApiError as missing:
        raise PageRefused(missing.status, visit) from missing


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
    return "/admin"  # no role: the installation superuser's page (else it says not theirs)


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
        links: tuple[NavLink, ...] = getattr(request.app.state, "page_menu", ())
        nav = [(link.path, link.word) for link in links if visit.sees_link(link)]
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "languages": i18n.LANGUAGES,  # the switch: one link per catalogue language
            "t": i18n.translator(lang),
            "v": lambda value: i18n.value_name(value, lang),
            "category": lambda code: categories.name(code, lang),
            "temp": lambda value: i18n.celsius(value, lang),
            "num": lambda value: i18n.number(value, lang),
            "qty": lambda amount, unit: i18n.quantity(amount, unit, lang),
            "when": lambda value: i18n.local_time(value, lang),
            "hour": lambda value: i18n.local_time(value, lang, with_date=False),
            "span": lambda minutes: i18n.duration(minutes, lang),
            "visit": visit,
            "nav": nav,
            "csrf_token": lambda: csrf_token(request, signed_in=visit is not None),
            "csrf_field": lambda: csrf_field(request, signed_in=visit is not None),
            # When what the page shows was read: the « no connection » notice of live.js says
            # it (live pages give their own); without it the delivery page said « date de . ».
            "live_at": i18n.local_time(clock.utcnow(), lang, with_date=False),
            **context,
        },
        status_code=status_code,
    )
    new_nonce = getattr(request.state, "csrf_new_nonce", None)
    # The login form was drawn: its double-submit cookie, unless a script fetched it (a
    # signed-out tab's live.js or offline.js, redirected to /login): that copy is never
    # submitted, and its cookie replaced the one of the form the person was filling in
    # another tab, whose login then failed as a forged form.
    if new_nonce is not None and not fetched_by_script(request):
        settings = request.app.state.settings.server
        response.set_cookie(
            csrf.PRE_SESSION_COOKIE,
            new_nonce,
            httponly=True,
            samesite="lax",
            secure=settings.session_cookie_secure,
        )
    return response


def fetched_by_script(request: Request) -> bool:
    """Asked by a page's script, not by a person opening a page. Browsers say it in
    Sec-Fetch-Mode, but only over HTTPS or to localhost; on a LAN over plain HTTP our own
    scripts say it (X-Coldchain-Script: static/live.js, static/offline.js). A fetch keeps
    its headers through a redirect, to /login included."""
    if request.headers.get("x-coldchain-script"):
        return True
    return request.headers.get("sec-fetch-mode", "navigate") != "navigate"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_instant(text: str) -> datetime | str:
    """A datetime-local field (Brussels wall time) as an aware datetime; the text itself
    if it is not one, empty included (the schema then says, in French, what is wrong)."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=clock.zone())
    except ValueError:
        return text


def local_input(value: datetime | None) -> str:
    """An aware datetime as a datetime-local field shows it (Brussels wall time)."""
    return value.astimezone(clock.zone()).strftime("%Y-%m-%dT%H:%M") if value else ""


def decimal(text: str | None) -> str | None:
    """« 0,3 » as typed in French (a phone's decimal comma) is 0.3; empty: not given."""
    return text.strip().replace(",", ".") if text and text.strip() else None


async def handle_form(
    request: Request, handle: Callable[[dict[str, str]], Response], longest: int = 5000
) -> Response:
    """Read the posted form (its CSRF token aside: checked by `CsrfChecked` already), each
    value cut to `longest` characters, then `handle` it off the event loop: the database
    work blocks, as in FastAPI's own sync routes."""
    raw = await request.form()  # parsed once, kept by the request
    values = {key: str(value)[:longest] for key, value in raw.items() if key != csrf.FIELD}
    return await run_in_threadpool(handle, values)


class CsrfRefused(Exception):
    """A page form without its valid token: server/pages/app.py answers with a 403 page."""


class LoginFormExpired(CsrfRefused):
    """The login form without its valid token (its pre-session cookie replaced by another
    tab's login form, or gone): answered with the login form again (home_pages.py)."""


def _binding(request: Request, signed_in: bool) -> tuple[str, str]:
    """What the token is bound to: the session (signed-in forms) or the pre-session cookie
    (the login form), created here if the browser has none yet."""
    if signed_in:
        token = session_cookie_token(request, request.app.state.settings.server)
        return (csrf.SESSION, token or "")
    nonce = csrf.valid_nonce(request.cookies.get(csrf.PRE_SESSION_COOKIE))
    if nonce is None:
        nonce = getattr(request.state, "csrf_new_nonce", None) or csrf.new_nonce()
        request.state.csrf_new_nonce = nonce
    return (csrf.PRE_SESSION, nonce)


def csrf_token(request: Request, signed_in: bool = True) -> str:
    purpose, binding = _binding(request, signed_in)
    return csrf.token_for(request.app.state.settings.server, purpose, binding)


def csrf_field(request: Request, signed_in: bool = True) -> Markup:
    token = csrf_token(request, signed_in)  # URL-safe base64: nothing to escape
    return Markup(f'<input type="hidden" name="{csrf.FIELD}" value="{token}">')


def check_csrf(request: Request, presented: object, signed_in: bool = True) -> None:
    """Raise CsrfRefused unless `presented` is this session's (or pre-session's) token."""
    settings = request.app.state.settings.server
    sent = presented if isinstance(presented, str) else None
    if signed_in:
        token = session_cookie_token(request, settings)
        binding = (csrf.SESSION, token) if token else None
    else:
        nonce = csrf.valid_nonce(request.cookies.get(csrf.PRE_SESSION_COOKIE))
        binding = (csrf.PRE_SESSION, nonce) if nonce else None
    if sent and binding and csrf.matches(settings, binding[0], binding[1], sent):
        return
    reason = "missing" if not sent else "no_session" if binding is None else "wrong"
    counts = getattr(request.app.state, "csrf_refused", None)
    if counts is None:
        counts = request.app.state.csrf_refused = Counter()
    counts[reason] += 1
    client = request.client.host if request.client else "?"
    log.warning(
        "CSRF: %s %s from %s refused (%s)", request.method, request.url.path, client, reason
    )
    raise CsrfRefused(reason)


async def _form_token(request: Request) -> object:
    return (await request.form()).get(csrf.FIELD)  # parsed once, kept by the request


async def _check_signed_in_form(request: Request) -> None:
    check_csrf(request, await _form_token(request))


async def _check_login_form(request: Request) -> None:
    try:
        check_csrf(request, await _form_token(request), signed_in=False)
    except CsrfRefused as refused:
        raise LoginFormExpired(*refused.args) from refused


CsrfChecked = Annotated[None, Depends(_check_signed_in_form)]
LoginCsrfChecked = Annotated[None, Depends(_check_login_form)]
