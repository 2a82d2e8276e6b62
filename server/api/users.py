"""Users: the admin creates them with their roles, grants and removes roles, deactivates
and reactivates them; everyone reads their own profile."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from server.core.access import Viewer, require
from server.core.crud import commit, paginate
from server.core.deps import CurrentUser, SessionDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import (
    ROLES_BY_KIND,
    AccessToken,
    CooperativeMember,
    Membership,
    Organisation,
    OrganisationKind,
    Role,
    User,
    utcnow,
)
from server.schemas.common import IdPath, Page, Paging, paging
from server.schemas.registry import MembershipIn, UserIn, UserOut

log = logging.getLogger(__name__)

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


# -- a user's life: roles granted and removed, account deactivated and reactivated ------
#
# No audit table exists for the registry: each change is logged here (who, whom, what).


def _administrable(session: Session, viewer: Viewer, organisation_id: int) -> bool:
    """May the viewer manage people of this organisation (its admin, or the admin of a
    cooperative the producer belongs to), as `_may_grant` decides for creation?"""
    if viewer.is_superuser or viewer.has(organisation_id, Role.ADMIN):
        return True
    member_of = session.scalars(
        select(CooperativeMember.cooperative_id).where(
            CooperativeMember.producer_id == organisation_id
        )
    )
    return any(viewer.has(coop, Role.ADMIN) for coop in member_of)


def _target(session: Session, viewer: Viewer, user_id: int) -> User:
    """The user acted upon, if the viewer may see them: someone with a role in an
    organisation they administer; anyone else answers 404 like an id that does not exist."""
    user = session.get(User, user_id)
    if user is None:
        raise ApiError(404, "not_found")
    if viewer.is_superuser:
        return user
    if not any(_administrable(session, viewer, m.organisation_id) for m in user.memberships):
        raise ApiError(404, "not_found")
    return user


def _may_manage_account(session: Session, viewer: Viewer, user: User) -> None:
    """Deactivating or reactivating someone is for the superuser, or for an admin of every
    organisation they have a role in: a driver of two cooperatives is not one admin's alone."""
    if viewer.is_superuser:
        return
    require(not user.is_superuser)
    require(all(_administrable(session, viewer, m.organisation_id) for m in user.memberships))


def _other_active_admins(session: Session, organisation_id: int, user_id: int) -> int:
    count = session.scalar(
        select(func.count())
        .select_from(Membership)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role == Role.ADMIN,
            Membership.user_id != user_id,
            User.is_active.is_(True),
        )
    )
    return count or 0


def _keep_an_admin(session: Session, user: User, organisation_ids: set[int]) -> None:
    """Refuse (409) what would leave one of these organisations without an active admin."""
    for organisation_id in sorted(organisation_ids):
        if _other_active_admins(session, organisation_id, user.id) == 0:
            organisation = session.get(Organisation, organisation_id)
            name = organisation.name if organisation else str(organisation_id)
            raise ApiError(
                409,
                "conflict",
                detail=Both(
                    f"{user.email} est le dernier administrateur actif de « {name} » ; "
                    "nommez d'abord un autre administrateur",
                    f"{user.email} is the last active admin of '{name}'; "
                    "appoint another admin first",
                ),
            )


def _admin_of(user: User) -> set[int]:
    return {m.organisation_id for m in user.memberships if m.role == Role.ADMIN}


@router.post("/{user_id}/deactivate")
def deactivate_user(user_id: IdPath, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Take a user's access away at once: their sessions and tokens are refused from the
    next request, and they can no longer log in. Not oneself, not an organisation's last
    active admin."""
    user = _target(session, viewer, user_id)
    _may_manage_account(session, viewer, user)
    if user.id == viewer.user_id:
        raise ApiError(
            409,
            "conflict",
            detail=Both(
                "vous ne pouvez pas désactiver votre propre compte",
                "you cannot deactivate your own account",
            ),
        )
    if user.is_active:
        _keep_an_admin(session, user, _admin_of(user))
        user.is_active = False
        # current_user() already refuses an inactive user's tokens; revoking them too means
        # a reactivation does not bring old sessions back: the person logs in again.
        session.execute(
            update(AccessToken)
            .where(AccessToken.user_id == user.id, AccessToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        session.commit()
        log.info("user %s deactivated user %s (%s)", viewer.user_id, user.id, user.email)
    return UserOut.model_validate(user)


@router.post("/{user_id}/reactivate")
def reactivate_user(user_id: IdPath, viewer: ViewerDep, session: SessionDep) -> UserOut:
    """Give a deactivated user their access back (they log in again)."""
    user = _target(session, viewer, user_id)
    _may_manage_account(session, viewer, user)
    if not user.is_active:
        user.is_active = True
        session.commit()
        log.info("user %s reactivated user %s (%s)", viewer.user_id, user.id, user.email)
    return UserOut.model_validate(user)


@router.post("/{user_id}/memberships", status_code=201)
def grant_role(
    user_id: IdPath, body: MembershipIn, viewer: ViewerDep, session: SessionDep
) -> UserOut:
    """Give a user one more role (same rule as when creating them)."""
    user = _target(session, viewer, user_id)
    _may_grant(session, viewer, body)
    user.memberships.append(Membership(organisation_id=body.organisation_id, role=body.role))
    commit(session, Both("l'utilisateur a déjà ce rôle", "the user already has this role"))
    log.info(
        "user %s granted role %s in organisation %s to user %s (%s)",
        viewer.user_id,
        body.role,
        body.organisation_id,
        user.id,
        user.email,
    )
    session.refresh(user)
    return UserOut.model_validate(user)


@router.post("/{user_id}/memberships/revoke")
def revoke_role(
    user_id: IdPath, body: MembershipIn, viewer: ViewerDep, session: SessionDep
) -> UserOut:
    """Remove one role (same rule as granting it); its access ends with the next request.
    Not an organisation's last active admin role, nor a user's last role (a user without
    any role would be seen by no admin: deactivate them instead)."""
    user = _target(session, viewer, user_id)
    _may_grant(session, viewer, body)
    held = next(
        (
            m
            for m in user.memberships
            if m.organisation_id == body.organisation_id and m.role == body.role
        ),
        None,
    )
    if held is None:
        raise ApiError(404, "not_found")
    if body.role == Role.ADMIN and user.is_active:
        _keep_an_admin(session, user, {body.organisation_id})
    if len(user.memberships) == 1:
        raise ApiError(
            409,
            "conflict",
            detail=Both(
                "c'est le dernier rôle de cet utilisateur : désactivez plutôt son compte",
                "this is the user's last role: deactivate the account instead",
            ),
        )
    user.memberships.remove(held)
    session.commit()
    log.info(
        "user %s revoked role %s in organisation %s from user %s (%s)",
        viewer.user_id,
        body.role,
        body.organisation_id,
        user.id,
        user.email,
    )
    return UserOut.model_validate(user)
