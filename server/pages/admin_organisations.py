"""The installation superuser's part of /admin: the organisations (cooperatives and
producers), the form that registers one, and per organisation the link to create its first
administrator (the users' form of server/pages/admin_pages.py, organisation and role chosen).

The form builds the API's schema (`OrganisationIn`) and calls the service of
POST /api/v1/organisations (server/domain/organisations.py), so the refusals are the API's
(a name taken: « nom d'organisation déjà utilisé » next to the name). The page itself is for
the superuser only: anyone else gets « Cette page n'est pas pour votre rôle. » (403), a
cooperative's admin included (a producer joining a cooperative is still the API's
POST /organisations then /members)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.deps import SessionDep
from server.core.models import Membership, Organisation, OrganisationKind, Role, User
from server.domain import organisations
from server.pages import i18n
from server.pages.admin_forms import Field, Form, Page, filled, options, show, submit
from server.pages.web import CsrfChecked, NavLink, Visitor, allowed_visitor
from server.schemas.registry import OrganisationIn

router = APIRouter(prefix="/admin", include_in_schema=False)
NAV: tuple[NavLink, ...] = ()  # shown on /admin (server/pages/home_pages.py)

# The words of an organisation's kind, and the role its first account is given.
KIND_WORDS = {
    OrganisationKind.COOPERATIVE: "org_kind_cooperative",
    OrganisationKind.PRODUCER: "org_kind_producer",
}
FIRST_ROLE = {OrganisationKind.COOPERATIVE: Role.ADMIN, OrganisationKind.PRODUCER: Role.PRODUCER}
FIRST_WORD = {
    OrganisationKind.COOPERATIVE: "org_first_admin",
    OrganisationKind.PRODUCER: "org_first_producer",
}


@dataclass(frozen=True)
class Listed:
    """An organisation as /admin lists it for the superuser."""

    organisation: Organisation
    kind: str  # a word key
    admins: list[str]  # the names of the people holding its first role
    first_link: str  # the users' form, organisation and role chosen
    first_word: str  # a word key


def superuser_page(request: Request, session: Session) -> Visitor:
    return allowed_visitor(request, session, lambda visit: visit.viewer.is_superuser)


def organisation_form(request: Request) -> Form:
    t = i18n.translator(i18n.page_language(request))
    kinds = options((kind.value, t[word]) for kind, word in KIND_WORDS.items())
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
                KIND_WORDS[kind],
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
