"""The organisations in /admin. The installation superuser's part: the organisations
(cooperatives and producers), the form that registers one, and per organisation the link
to create its first administrator (the users' form of server/pages/admin_pages.py,
organisation and role chosen), its edit page, and for a cooperative « Agir pour cette
coopérative ».

Acting in a cooperative: the superuser holds no role anywhere, and the services of the
fleet, probes and people (server/domain/*.py) leave those to the organisation's admins. A
superuser who acts in cooperative C is, for the admin pages only (`admin_visitor`: the
pages that call `role_page(..., Role.ADMIN)` and /admin), C's admin: the same forms, the
same services, the same refusals as C's own admin, and nothing of the API changes. The
choice is a cookie honoured for the superuser only (for anyone else it gives nothing, and
the superuser may do it all anyway); /admin says in whose name one acts and stops it.

The edit page of an organisation (/admin/organisations/<id>): its name and address (the
superuser, or its admin: a cooperative's admin their own cooperative, never another one,
which answers 404 like one that does not exist), and for a cooperative its member
producers: a new producer that joins it, or one the visitor already sees (the superuser:
every producer; an admin: those of their other cooperatives). The forms build the API's
schemas (`OrganisationIn`, `MemberIn`) and call the services of POST /api/v1/organisations
and /members (server/domain/organisations.py), so the refusals are the API's (a name
taken: « nom d'organisation déjà utilisé » next to the name). Creating organisations is the
superuser's only: anyone else gets « Cette page n'est pas pour votre rôle. » (403)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.deps import SessionDep
from server.core.errors import ApiError
from server.core.models import Membership, Organisation, OrganisationKind, Role, User, utcnow
from server.domain import organisations
from server.pages import i18n
from server.pages.admin_forms import Field, Form, Page, filled, options, show, submit
from server.pages.web import (
    CsrfChecked,
    NavLink,
    PageRefused,
    Visitor,
    administers,
    allowed_visitor,
    see_other,
)
from server.schemas.common import IdPath
from server.schemas.registry import MemberIn, OrganisationIn

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # shown on /admin (server/pages/home_pages.py)

# The role an organisation's first account is given (its kind is named by its value name,
# the pages catalogue's context `value`, like every stored value).
FIRST_ROLE = {OrganisationKind.COOPERATIVE: Role.ADMIN, OrganisationKind.PRODUCER: Role.PRODUCER}
FIRST_WORD = {
    OrganisationKind.COOPERATIVE: "org_first_admin",
    OrganisationKind.PRODUCER: "org_first_producer",
}


@dataclass(frozen=True)
class Listed:
    """An organisation as /admin lists it for the superuser."""

    organisation: Organisation
    kind: str  # its code (cooperative, producer): the page names it
    admins: list[str]  # the names of the people holding its first role
    first_link: str  # the users' form, organisation and role chosen
    first_word: str  # a word key


ACTING_COOKIE = "coldchain_acting"  # the cooperative the superuser acts in (its id)


def superuser_page(request: Request, session: Session) -> Visitor:
    return allowed_visitor(request, session, lambda visit: visit.viewer.is_superuser)


def acting_in(request: Request, session: Session, visit: Visitor) -> Organisation | None:
    """The cooperative the superuser chose to act in, if any (and still there)."""
    chosen = request.cookies.get(ACTING_COOKIE, "")
    if not visit.viewer.is_superuser or not chosen.isdigit():
        return None
    found = session.get(Organisation, int(chosen))
    return found if found is not None and found.kind == OrganisationKind.COOPERATIVE else None


def admin_visitor(request: Request, session: Session) -> Visitor:
    """The visitor of the admin pages: an admin, or the superuser, who is, while acting in
    a cooperative, its admin for these pages (the module's docstring)."""
    visit = allowed_visitor(request, session, administers)
    acting = acting_in(request, session, visit)
    if acting is None:
        return visit
    roles = dict(visit.viewer.roles)
    roles[acting.id] = roles.get(acting.id, frozenset()) | {Role.ADMIN}
    return replace(visit, viewer=replace(visit.viewer, roles=roles))


def organisation_form(request: Request) -> Form:
    lang = i18n.page_language(request)
    kinds = options(
        (kind.value, i18n.value_name(kind.value, lang).capitalize()) for kind in FIRST_ROLE
    )
    fields = [
        Field("name", "name"),
        Field("kind", "org_kind", "select", options=kinds),
        Field("address", "address", required=False, maxlength=500),
    ]
    form = Form("new_organisation", "/admin/organisations", fields, "create")
    form.field_of = {"conflict": "name"}
    return form


def listing(session: Session, visit: Visitor) -> list[Listed]:
    """The organisations the superuser sees (the domain's `organisations_of`: all), each with
    who holds its first role and the link that creates such a person."""
    found = list(session.scalars(organisations.organisations_of(visit.viewer)))
    holders: dict[tuple[int, str], list[str]] = {}
    for user, membership in session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id.in_([o.id for o in found]))
        .order_by(User.full_name)
    ).all():
        holders.setdefault((membership.organisation_id, membership.role), []).append(user.full_name)
    shown = []
    for organisation in found:
        kind = OrganisationKind(organisation.kind)
        role = FIRST_ROLE[kind]
        shown.append(
            Listed(
                organisation,
                kind.value,
                holders.get((organisation.id, role), []),
                f"/admin/users/new?organisation_id={organisation.id}&role={role.value}",
                FIRST_WORD[kind],
            )
        )
    return shown


def organisation_page(request: Request, session: Session) -> Page:
    return Page(session, superuser_page(request, session), organisation_form(request))


@router.get("/organisations/new", response_class=HTMLResponse)
def new_organisation(request: Request, session: SessionDep) -> Response:
    return show(request, organisation_page(request, session))


@router.post("/organisations")
async def create_organisation(
    request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = OrganisationIn.model_validate(filled(values, "name", "kind", "address"))
        made = organisations.create_organisation(
            session, page.visit.viewer, name=body.name, kind=body.kind, address=body.address
        )
        return f"/admin#org-{made.id}"

    return await submit(request, lambda: organisation_page(request, session), act)


@router.post("/organisations/{organisation_id}/act")
def act_in(
    organisation_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    """« Agir pour cette coopérative »: the superuser's admin pages are now its admin's."""
    visit = superuser_page(request, session)
    try:
        organisations.cooperative(session, organisation_id)
    except ApiError as missing:
        raise PageRefused(missing.status, visit) from missing
    settings = request.app.state.settings.server
    done = see_other("/admin")
    done.set_cookie(
        ACTING_COOKIE,
        str(organisation_id),
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
    return done


@router.post("/acting/stop")
def stop_acting(request: Request, session: SessionDep, _csrf: CsrfChecked) -> Response:
    superuser_page(request, session)
    done = see_other("/admin#organisations")
    done.delete_cookie(ACTING_COOKIE)
    return done


# -- one organisation: its name and address; a cooperative's member producers ---------------


def administered(session: Session, visit: Visitor, organisation_id: int) -> Organisation:
    """The organisation if the visitor administers it; else the 404 (not theirs to see) or
    403 page (server/domain/organisations.py `administered`)."""
    try:
        return organisations.administered(session, visit.viewer, organisation_id)
    except ApiError as refused:
        raise PageRefused(refused.status, visit) from refused


def edit_page(request: Request, session: Session, organisation_id: int, which: str = "") -> Page:
    """The organisation's edit form and, for a cooperative, its members and the two forms
    that make a producer one; `which` names the form being submitted (its errors shown)."""
    visit = admin_visitor(request, session)
    found = administered(session, visit, organisation_id)
    base = f"/admin/organisations/{found.id}"
    edit = Form(
        "edit_organisation",
        base,
        [Field("name", "name"), Field("address", "address", required=False, maxlength=500)],
        "save",
        values={"name": found.name, "address": found.address or ""},
        field_of={"conflict": "name"},
    )
    context: dict[str, Any] = {
        "organisation": found,
        "kind": OrganisationKind(found.kind).value,
    }
    forms = {"edit": edit}
    if found.kind == OrganisationKind.COOPERATIVE:
        forms["new_member"] = Form(
            "new_member",
            f"{base}/members/new",
            [Field("name", "name"), Field("address", "address", required=False, maxlength=500)],
            "add_member",
            field_of={"conflict": "name"},
        )
        others = list(session.scalars(organisations.joinable(visit.viewer, found.id)))
        if others or which == "member":  # (its refusal is shown even when none is left)
            forms["member"] = Form(
                "existing_member",
                f"{base}/members",
                [
                    Field(
                        "producer_id",
                        "producer",
                        "select",
                        options=options((o.id, o.name) for o in others),
                    )
                ],
                "add_member",
                field_of={"conflict": "producer_id"},
            )
        context["members"] = list(session.scalars(organisations.members_of(found.id)))
    context["forms"] = forms
    return Page(session, visit, forms.get(which, edit), "admin/organisation.html", context)


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
def organisation(organisation_id: IdPath, request: Request, session: SessionDep) -> Response:
    return show(request, edit_page(request, session, organisation_id))


@router.post("/organisations/{organisation_id}")
async def update_organisation(
    organisation_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        kind = page.context["organisation"].kind  # not edited: the schema's check only
        body = OrganisationIn.model_validate({**filled(values, "name", "address"), "kind": kind})
        organisations.update_organisation(
            session,
            page.visit.viewer,
            organisation_id,
            name=body.name,
            address=body.address,
            now=utcnow(),
        )
        return f"/admin/organisations/{organisation_id}"

    return await submit(request, lambda: edit_page(request, session, organisation_id), act)


@router.post("/organisations/{organisation_id}/members/new")
async def add_new_member(
    organisation_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        typed = {**filled(values, "name", "address"), "kind": OrganisationKind.PRODUCER}
        body = OrganisationIn.model_validate(typed)
        organisations.create_member(
            session, page.visit.viewer, organisation_id, name=body.name, address=body.address
        )
        return f"/admin/organisations/{organisation_id}#members"

    return await submit(
        request, lambda: edit_page(request, session, organisation_id, "new_member"), act
    )


@router.post("/organisations/{organisation_id}/members")
async def add_member(
    organisation_id: IdPath, request: Request, session: SessionDep, _csrf: CsrfChecked
) -> Response:
    def act(values: dict[str, str], page: Page) -> str:
        body = MemberIn.model_validate(filled(values, "producer_id"))
        organisations.add_member(session, page.visit.viewer, organisation_id, body.producer_id)
        return f"/admin/organisations/{organisation_id}#members"

    return await submit(
        request, lambda: edit_page(request, session, organisation_id, "member"), act
    )
