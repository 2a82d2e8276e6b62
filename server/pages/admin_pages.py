"""The cooperative admin's forms: a van and its zones, a cold room, a user with a role
(the probe forms: server/pages/admin_probes.py). Each builds the API's schema from what was
typed and calls the domain service the API calls (server/domain/fleet.py, users.py): one
rule for each thing. Only admins (of a cooperative or producer) reach them; the form
layouts and the shared plumbing are in server/pages/admin_forms.py. The users' page
(/admin/users) also deactivates and reactivates accounts and grants and removes roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from server.core.access import Viewer
from server.core.deps import SessionDep
from server.core.models import Organisation, OrganisationKind, Role, User, Van, ZoneKind
from server.domain import categories, fleet, users
from server.domain.users import Grant
from server.pages import i18n
from server.pages.admin_forms import Field, Form, Page, filled, options, owner, show, submit
from server.pages.admin_words import ADMIN_WORDS
from server.pages.home_pages import role_page
from server.pages.web import CsrfChecked, NavLink, visible_or_404
from server.schemas.common import IdPath
from server.schemas.registry import ColdRoomIn, MembershipIn, UserIn, VanIn, ZoneIn

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # /admin (server/pages/home_pages.py) links here
WORDS = ADMIN_WORDS


# -- vans and zones -------------------------------------------------------------------


def van_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    fields = [
        Field("name", "name"),
        Field("plate", "plate", maxlength=20),
        owner(session, visit, OrganisationKind.COOPERATIVE),
    ]
    form = Form("new_van", "/admin/vans", fields, "create", field_of={"conflict": "plate"})
    return Page(session, visit, form)


@router.get("/vans/new", response_class=HTMLResponse)
def new_van(request: Request, session: SessionDep) -> Response:
    return show(request, van_page(request, session))


@router.post("/vans")
async def create_van(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = VanIn.model_validate(filled(values, "name", "plate", "owner_id"))
        van = fleet.create_van(
            session, page.visit.viewer, name=body.name, plate=body.plate, owner_id=body.owner_id
        )
        return f"/admin/vans/{van.id}"

    return await submit(request, lambda: van_page(request, session), act)


def zone_page(request: Request, session: SessionDep, van_id: int) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    van = visible_or_404(session, visit, Van, van_id)
    t = i18n.translator(i18n.page_language(request))
    kinds = options((kind.value, t[f"zone_{kind.value}"]) for kind in ZoneKind)
    fields = [
        Field("name", "zone_name", maxlength=100),
        Field("kind", "zone_kind", "select", options=kinds),
    ]
    form = Form("new_zone", f"/admin/vans/{van.id}/zones", fields, "add_zone")
    form.field_of = {"conflict": "name"}
    zones = list(session.scalars(fleet.zones_of(van)))
    return Page(session, visit, form, "admin/van.html", {"van": van, "zones": zones})


@router.get("/vans/{van_id}", response_class=HTMLResponse)
def van(van_id: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, zone_page(request, session, van_id))


@router.post("/vans/{van_id}/zones")
async def add_zone(
    van_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ZoneIn.model_validate(filled(values, "name", "kind"))
        fleet.create_zone(session, page.visit.viewer, van_id, name=body.name, kind=body.kind)
        return f"/admin/vans/{van_id}"

    return await submit(request, lambda: zone_page(request, session, van_id), act)


# -- cold rooms -----------------------------------------------------------------------


def room_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    lang = i18n.page_language(request)
    known = sorted(categories.profiles().values(), key=lambda p: p.code)
    kinds = options((p.code, p.name_en if lang == "en" else p.name_fr) for p in known)
    fields = [
        Field("name", "name"),
        owner(session, visit),
        Field("category", "category", "select", options=kinds),
        Field("address", "address", required=False, maxlength=500),
    ]
    form = Form("new_room", "/admin/cold-rooms", fields, "create")
    form.field_of = {"unknown_category": "category", "conflict": "name"}
    return Page(session, visit, form)


@router.get("/cold-rooms/new", response_class=HTMLResponse)
def new_room(request: Request, session: SessionDep) -> Response:
    return show(request, room_page(request, session))


@router.post("/cold-rooms")
async def create_room(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ColdRoomIn.model_validate(filled(values, "name", "owner_id", "category", "address"))
        fleet.create_cold_room(
            session,
            page.visit.viewer,
            name=body.name,
            owner_id=body.owner_id,
            category=body.category,
            address=body.address,
        )
        return "/admin#rooms"

    return await submit(request, lambda: room_page(request, session), act)


# -- users ----------------------------------------------------------------------------


def role_fields(request: Request, where: dict[int, Organisation]) -> list[Field]:
    lang = i18n.page_language(request)
    roles = options((role.value, i18n.value_name(role.value, lang)) for role in Role)
    return [
        Field(
            "organisation_id",
            "organisation",
            "select",
            options=options((o.id, o.name) for o in where.values()),
        ),
        Field("role", "role", "select", options=roles),
    ]


def user_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    fields = [
        Field("full_name", "full_name"),
        Field("email", "email", "email", maxlength=254),
        Field("password", "new_password", "password"),
        *role_fields(request, users.managed_organisations(session, visit.viewer)),
    ]
    form = Form("new_user", "/admin/users", fields, "create")
    form.field_of = {"conflict": "email", "validation_error": "role"}
    return Page(session, visit, form)


@router.get("/users/new", response_class=HTMLResponse)
def new_user(request: Request, session: SessionDep) -> Response:
    return show(request, user_page(request, session))


@router.post("/users")
async def create_user(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        grant = filled(values, "organisation_id", "role")
        body = UserIn.model_validate(
            {**filled(values, "email", "full_name", "password"), "memberships": [grant]}
        )
        users.create_user(
            session,
            page.visit.viewer,
            request.app.state.password_hasher,
            email=body.email,
            full_name=body.full_name,
            password=body.password,
            memberships=body.memberships,
        )
        return "/admin#users"

    return await submit(request, lambda: user_page(request, session), act)


def people_page(request: Request, session: SessionDep, acting_on: int | None = None) -> Page:
    """The people of the organisations the visitor manages, each with their status, their
    roles there and the buttons; `acting_on` is the user whose form failed (its error is
    shown in their row)."""
    visit = role_page(request, session, Role.ADMIN)
    where = users.managed_organisations(session, visit.viewer)
    query = users.people_of(where).order_by(None).order_by(User.full_name, User.id)
    people = list(session.scalars(query))
    form = Form("manage_users", "/admin/users", role_fields(request, where), "grant_role")
    context = {"people": people, "where": where, "acting_on": acting_on}
    return Page(session, visit, form, "admin/users.html", context)


@router.get("/users", response_class=HTMLResponse)
def people(request: Request, session: SessionDep) -> Response:
    return show(request, people_page(request, session))


def _on_user(
    request: Request,
    session: SessionDep,
    user_id: int,
    act: Callable[[dict[str, str], Page], object],
) -> Awaitable[Response]:
    """Run one of the users' page buttons for `user_id`, then back to their row."""

    def done(values: dict[str, str], page: Page) -> str:
        act(values, page)
        return f"/admin/users#user-{user_id}"

    return submit(request, lambda: people_page(request, session, user_id), done)


def _account_button(
    request: Request,
    session: SessionDep,
    user_id: int,
    change: Callable[[Session, Viewer, int], object],
) -> Awaitable[Response]:
    """A button that changes the account itself (the domain's `change`)."""
    return _on_user(
        request, session, user_id, lambda _values, page: change(session, page.visit.viewer, user_id)
    )


def _role_button(
    request: Request,
    session: SessionDep,
    user_id: int,
    change: Callable[[Session, Viewer, int, Grant], object],
) -> Awaitable[Response]:
    """A button that changes one of the user's roles: the organisation and role chosen."""

    def act(values: dict[str, str], page: Page) -> None:
        grant = MembershipIn.model_validate(filled(values, "organisation_id", "role"))
        change(session, page.visit.viewer, user_id, grant)

    return _on_user(request, session, user_id, act)


@router.post("/users/{user_id}/deactivate")
async def deactivate_user(
    user_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    return await _account_button(request, session, user_id, users.deactivate)


@router.post("/users/{user_id}/reactivate")
async def reactivate_user(
    user_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    return await _account_button(request, session, user_id, users.reactivate)


@router.post("/users/{user_id}/memberships")
async def grant_role(
    user_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    return await _role_button(request, session, user_id, users.grant_role)


@router.post("/users/{user_id}/memberships/revoke")
async def revoke_role(
    user_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    return await _role_button(request, session, user_id, users.revoke_role)
