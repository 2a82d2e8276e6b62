"""Users: the admin creates them with their roles; everyone reads their own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.access import Viewer, require
from server.crud import commit, paginate
from server.deps import CurrentUser, SessionDep, ViewerDep
from server.errors import ApiError, Both
from server.models import (
    ROLES_BY_KIND,
    CooperativeMember,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
)
from server.schemas.common import Page, Paging, paging
from server.schemas.registry import MembershipIn, UserIn, UserOut

router = APIRouter(prefix="/users", tags=["users"])


def _may_grant(session: Session, viewer: Viewer, grant: MembershipIn) -> None:
    organisation = session.get(Organisation, grant.organisation_id)
    if organisation is None:
        raise ApiError(404, "not_found")
    if grant.role not in ROLES_BY_KIND[OrganisationKind(organisation.kind)]:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                f"le rôle {grant.role} n'existe pas dans un type {organisation.kind}",
                f"role {grant.role} does not exist in a {organisation.kind}",
            ),
        )
    if viewer.is_superuser or viewer.has(organisation.id, Role.ADMIN):
        return
    # A cooperative's admin registers the people of its member producers.
    member_of = session.scalars(
        select(CooperativeMember.cooperative_id).where(
            CooperativeMember.producer_id == organisation.id
        )
    )
    require(any(viewer.has(coop, Role.ADMIN) for coop in member_of))


@router.post("", status_code=201)
def create_user(body: UserIn, request: Request, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Create a user with their roles (by the admin of each organisation, or of a
    cooperative the producer belongs to)."""
    for grant in body.memberships:
        _may_grant(session, viewer, grant)
    user = User(
        email=body.email,
        full_name=body.full_name,
        password_hash=request.app.state.password_hasher.hash(body.password),
    )
    user.memberships = [
        Membership(organisation_id=g.organisation_id, role=g.role)
        for g in {(g.organisation_id, g.role): g for g in body.memberships}.values()
    ]
    session.add(user)
    commit(session, Both("adresse e-mail déjà enregistrée", "email already registered"))
    return UserOut.model_validate(user)


@router.get("/me")
def read_me(user: CurrentUser) -> UserOut:
    """The caller's profile and roles."""
    return UserOut.model_validate(user)


@router.get("")
def list_users(
    viewer: ViewerDep, session: SessionDep, page: Annotated[Paging, Depends(paging)]
) -> Page[UserOut]:
    """People of the organisations the caller administers."""
    administered = viewer.orgs_with(Role.ADMIN)
    query = select(User).order_by(User.id)
    if not viewer.is_superuser:
        query = query.where(
            User.id.in_(
                select(Membership.user_id).where(Membership.organisation_id.in_(administered))
            )
        )
    return paginate(session, query, page, UserOut)
