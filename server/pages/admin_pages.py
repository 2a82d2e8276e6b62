"""The cooperative admin's forms: a van and its zones, a cold room, a user with a role
(the probe forms: server/pages/admin_probes.py), and their edits: a van's name and plate, a
zone's name, a cold room's name and address. Each builds the API's schema from what was
typed and calls the domain service the API calls (server/domain/fleet.py, users.py): one
rule for each thing. Only admins (of a cooperative or producer) reach them, and the
installation superuser acting in a cooperative (server/pages/admin_organisations.py; the
users' forms: the superuser always, for every organisation); the form layouts and the
shared plumbing are in server/pages/admin_forms.py. The users' page (/admin/users) also
deactivates and reactivates accounts and grants and removes roles.

A rename keeps the former name (server/domain/former_names.py): the records sealed before
it, and their reseals, keep the name in force when their delivery closed; the van's page
lists the former names."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from alerts.limits import limit_for_category
from server.core.access import Viewer, can_manage_org
from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.core.models import (
    ColdRoom,
    Organisation,
    OrganisationKind,
    Role,
    User,
    Van,
    Zone,
    ZoneKind,
    utcnow,
)
from server.domain import categories, fleet, former_names, users
from server.pages import i18n
from server.pages.admin_forms import Field, Form, Page, filled, options, owner, show, submit
from server.pages.admin_organisations import admin_visitor
from server.pages.home_pages import role_page
from server.pages.web import (
    CsrfChecked,
    NavLink,
    PageRefused,
    Visitor,
    decimal,
    visible_or_404,
)
from server.schemas.common import EMAIL_MAX_LENGTH, IdPath
from server.schemas.registry import (
    ColdRoomIn,
    ColdRoomLabelIn,
    MembershipIn,
    UserIn,
    VanIn,
    ZoneIn,
)

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # /admin (server/pages/home_pages.py) links here


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


def zone_page(request: Request, session: SessionDep, van_id: int, editing: bool = False) -> Page:
    """The van, its zones (each with its rename link) and former names; the form adding a
    zone and the one editing the van (`editing`: the one being submitted)."""
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
    edit = Form(
        "edit_van",
        f"/admin/vans/{van.id}",
        [Field("name", "name"), Field("plate", "plate", maxlength=20)],
        "save",
        values={"name": van.name, "plate": van.plate},
        field_of={"conflict": "plate"},
    )
    zones = list(session.scalars(fleet.zones_of(van)))
    former = [
        *former_names.history(session, former_names.Subject.VAN, [van.id]),
        *former_names.history(session, former_names.Subject.ZONE, [z.id for z in zones]),
    ]
    context = {
        "van": van,
        "zones": zones,
        "add": form,
        "edit": edit,
        "former": former,
        "may_edit": visit.viewer.has(van.owner_id, Role.ADMIN),  # a pool van: not theirs
    }
    return Page(session, visit, edit if editing else form, "admin/van.html", context)


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


@router.post("/vans/{van_id}")
async def update_van(
    van_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        owner_id = page.context["van"].owner_id  # not edited: the schema's check only
        body = VanIn.model_validate({**filled(values, "name", "plate"), "owner_id": owner_id})
        fleet.update_van(
            session, page.visit.viewer, van_id, name=body.name, plate=body.plate, now=utcnow()
        )
        return f"/admin/vans/{van_id}"

    return await submit(request, lambda: zone_page(request, session, van_id, True), act)


def administered_zone(session: SessionDep, visit: Visitor, van_id: int, zone_id: int) -> Zone:
    """The zone of a van the visitor administers; else the 404 or 403 page."""
    try:
        return fleet.van_zone(session, visit.viewer, van_id, zone_id)
    except ApiError as refused:
        raise PageRefused(refused.status, visit) from refused


def rename_page(request: Request, session: SessionDep, van_id: int, zone_id: int) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    zone = administered_zone(session, visit, van_id, zone_id)
    form = Form(
        "rename_zone",
        f"/admin/vans/{van_id}/zones/{zone.id}",
        [Field("name", "zone_name", maxlength=100)],
        "save",
        values={"name": zone.name},
        field_of={"conflict": "name"},
    )
    context = {"back": f"/admin/vans/{van_id}", "zone": zone}
    return Page(session, visit, form, context=context)


@router.get("/vans/{van_id}/zones/{zone_id}", response_class=HTMLResponse)
def zone(van_id: IdPath, zone_id: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, rename_page(request, session, van_id, zone_id))


@router.post("/vans/{van_id}/zones/{zone_id}")
async def rename_zone(
    van_id: IdPath, zone_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        kind = page.context["zone"].kind  # not edited: the schema's check only
        body = ZoneIn.model_validate({**filled(values, "name"), "kind": kind})
        fleet.rename_zone(session, page.visit.viewer, van_id, zone_id, name=body.name, now=utcnow())
        return f"/admin/vans/{van_id}"

    return await submit(request, lambda: rename_page(request, session, van_id, zone_id), act)


# -- cold rooms -----------------------------------------------------------------------


# A label storage temperature stricter than the category's, and why (server/domain/fleet.py).
LABEL_FIELDS = (
    Field("label_max_c", "room_label_max_c", "decimal", required=False),
    Field("label_reason", "room_label_reason", required=False),
)
LABEL_ERRORS = {"label_not_stricter": "label_max_c", "validation_error": "label_max_c"}


def label_typed(values: dict[str, str]) -> dict[str, object]:
    """The label fields as typed (« 4,5 » with a decimal comma); empty ones are absent."""
    typed: dict[str, object] = filled(values, "label_reason")
    if decimal(values.get("label_max_c")) is not None:
        typed["label_max_c"] = decimal(values.get("label_max_c"))
    return typed


def room_page(request: Request, session: SessionDep) -> Page:
    visit = role_page(request, session, Role.ADMIN)
    lang = i18n.page_language(request)
    known = sorted(categories.profiles().values(), key=lambda p: p.code)
    kinds = options((p.code, categories.name(p.code, lang)) for p in known)
    fields = [
        Field("name", "name"),
        owner(session, visit),
        Field("category", "category", "select", options=kinds),
        Field("address", "address", required=False, maxlength=500),
        *LABEL_FIELDS,
    ]
    form = Form("new_room", "/admin/cold-rooms", fields, "create")
    form.field_of = {"unknown_category": "category", "conflict": "name", **LABEL_ERRORS}
    return Page(session, visit, form)


@router.get("/cold-rooms/new", response_class=HTMLResponse)
def new_room(request: Request, session: SessionDep) -> Response:
    return show(request, room_page(request, session))


@router.post("/cold-rooms")
async def create_room(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        typed = filled(values, "name", "owner_id", "category", "address")
        body = ColdRoomIn.model_validate({**typed, **label_typed(values)})
        fleet.create_cold_room(session, page.visit.viewer, **body.model_dump())
        return "/admin#rooms"

    return await submit(request, lambda: room_page(request, session), act)


def label_page(request: Request, session: SessionDep, room_id: int, editing: bool = False) -> Page:
    """A cold room, its category's limit, its label temperature and the form to change it;
    the form editing its name and address (`editing`: the one being submitted)."""
    visit = role_page(request, session, Role.ADMIN)
    room = visible_or_404(session, visit, ColdRoom, room_id)
    lang = i18n.page_language(request)
    edit = Form(
        "edit_room",
        f"/admin/cold-rooms/{room.id}",
        [Field("name", "name"), Field("address", "address", required=False, maxlength=500)],
        "save",
        values={"name": room.name, "address": room.address or ""},
    )
    values = {"label_reason": room.label_reason or ""}
    if room.label_max_c is not None:
        values["label_max_c"] = i18n.number(room.label_max_c, lang)
    form = Form(
        "room_label_title",
        f"/admin/cold-rooms/{room.id}/label",
        list(LABEL_FIELDS),
        "room_label_save",
        values=values,
        field_of=dict(LABEL_ERRORS),
    )
    context = {
        "room": room,
        "category": categories.name(room.category, lang),
        "category_limit": limit_for_category(categories.profiles(), room.category),
        "label": form,
        "edit": edit,
        "former": former_names.history(session, former_names.Subject.COLD_ROOM, [room.id]),
        "may_edit": can_manage_org(visit.viewer, room.owner_id),  # a lent room: not theirs
    }
    return Page(session, visit, edit if editing else form, "admin/room.html", context)


@router.get("/cold-rooms/{room_id}", response_class=HTMLResponse)
def room(room_id: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, label_page(request, session, room_id))


@router.post("/cold-rooms/{room_id}/label")
async def set_room_label(
    room_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = ColdRoomLabelIn.model_validate(label_typed(values))
        fleet.set_cold_room_label(
            session, page.visit.viewer, room_id, body.label_max_c, body.label_reason
        )
        return f"/admin/cold-rooms/{room_id}"

    return await submit(request, lambda: label_page(request, session, room_id), act)


@router.post("/cold-rooms/{room_id}")
async def update_room(
    room_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        room = page.context["room"]  # owner and category not edited: the schema's checks only
        kept = {"owner_id": room.owner_id, "category": room.category}
        body = ColdRoomIn.model_validate({**filled(values, "name", "address"), **kept})
        fleet.update_cold_room(
            session,
            page.visit.viewer,
            room_id,
            name=body.name,
            address=body.address,
            now=utcnow(),
        )
        return f"/admin/cold-rooms/{room_id}"

    return await submit(request, lambda: label_page(request, session, room_id, True), act)


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
    visit = admin_visitor(request, session)  # the superuser too: first admins
    fields = [
        Field("full_name", "full_name"),
        Field("email", "email", "email", maxlength=EMAIL_MAX_LENGTH),
        Field("password", "new_password", "password"),
        *role_fields(request, users.managed_organisations(session, visit.viewer)),
    ]
    form = Form("new_user", "/admin/users", fields, "create")
    form.field_of = {"conflict": "email", "validation_error": "role"}
    return Page(session, visit, form)


@router.get("/users/new", response_class=HTMLResponse)
def new_user(request: Request, session: SessionDep) -> Response:
    page = user_page(request, session)
    # « Créer son administrateur » on /admin (the superuser's organisations) chooses both.
    page.form.values = filled(dict(request.query_params), "organisation_id", "role")
    return show(request, page)


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
    visit = admin_visitor(request, session)
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
    change: Callable[[Session, Viewer, int, MembershipIn], object],
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
