"""People: the admin creates them with their roles, grants and removes roles, deactivates
and reactivates them. Whose people a viewer manages is decided here only: the
organisations they administer and, for a cooperative's admin, its member producers.

No audit table exists for the registry: each change is logged here (who, whom, what)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from argon2 import PasswordHasher
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from server.core.access import Viewer, require
from server.core.crud import commit, insert
from server.core.db import release
from server.core.errors import ApiError, Value, conflict, invalid, phrase
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
from server.schemas.registry import MembershipIn

log = logging.getLogger(__name__)


def full_name(session: Session, user_id: int | None) -> str | None:
    """Who did something, as records and documents name them (None: nobody, or gone)."""
    user = session.get(User, user_id) if user_id is not None else None
    return user.full_name if user else None


def managed_organisations(session: Session, viewer: Viewer) -> dict[int, Organisation]:
    """The organisations whose people the viewer manages: those they administer (by name),
    then the member producers of the cooperatives among them (by name); every organisation
    for the superuser (by name)."""
    if viewer.is_superuser:
        everyone = session.scalars(select(Organisation).order_by(Organisation.name))
        return {o.id: o for o in everyone}
    administered = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.id.in_(viewer.orgs_with(Role.ADMIN)))
            .order_by(Organisation.name)
        )
    )
    coops = [o.id for o in administered if o.kind == OrganisationKind.COOPERATIVE]
    members = session.scalars(
        select(Organisation)
        .join(CooperativeMember, CooperativeMember.producer_id == Organisation.id)
        .where(CooperativeMember.cooperative_id.in_(coops))
        .order_by(Organisation.name)
    )
    return {o.id: o for o in [*administered, *members]}


def _administrable(session: Session, viewer: Viewer, organisation_id: int) -> bool:
    """May the viewer manage people of this organisation (the superuser may)?"""
    if viewer.is_superuser or viewer.has(organisation_id, Role.ADMIN):
        return True
    member_of = session.scalars(
        select(CooperativeMember.cooperative_id).where(
            CooperativeMember.producer_id == organisation_id
        )
    )
    return any(viewer.has(coop, Role.ADMIN) for coop in member_of)


def people_of(organisation_ids: Iterable[int]) -> Select[User]:
    """The people holding a role in one of these organisations, by id."""
    holders = select(Membership.user_id).where(
        Membership.organisation_id.in_(list(organisation_ids))
    )
    return select(User).where(User.id.in_(holders)).order_by(User.id)


def people(session: Session, viewer: Viewer) -> Select[User]:
    """The people the viewer manages (everyone for the superuser), by id."""
    if viewer.is_superuser:
        return select(User).order_by(User.id)
    return people_of(managed_organisations(session, viewer))


def _may_grant(session: Session, viewer: Viewer, grant: MembershipIn) -> None:
    organisation = session.get(Organisation, grant.organisation_id)
    if organisation is None:
        raise ApiError(404, "not_found")
    if grant.role not in ROLES_BY_KIND[OrganisationKind(organisation.kind)]:
        raise invalid("role_not_in_kind", role=Value(grant.role), kind=Value(organisation.kind))
    require(_administrable(session, viewer, organisation.id))


def create_user(
    session: Session,
    viewer: Viewer,
    hasher: PasswordHasher,
    *,
    email: str,
    full_name: str,
    password: str,
    memberships: Sequence[MembershipIn],
) -> User:
    """A user with their roles (by the admin of each organisation, or of a cooperative
    the producer belongs to)."""
    for grant in memberships:
        _may_grant(session, viewer, grant)
    release(session)  # no transaction (on SQLite: the write lock) open while hashing
    password_hash = hasher.hash(password)
    for grant in memberships:  # checked again in the writing transaction: still allowed
        _may_grant(session, viewer, grant)
    user = User(email=email, full_name=full_name, password_hash=password_hash)
    distinct = {(g.organisation_id, g.role): g for g in memberships}
    user.memberships = [Membership(organisation_id=o, role=r) for o, r in distinct]
    return insert(session, user, phrase("email_taken"))


def _target(session: Session, viewer: Viewer, user_id: int) -> User:
    """The user acted upon, if the viewer manages them; anyone else answers 404 like an
    id that does not exist."""
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


def _keep_an_admin(session: Session, user: User, organisation_ids: Iterable[int]) -> None:
    """Refuse (409) what would leave one of these organisations without an active admin."""
    for organisation_id in sorted(organisation_ids):
        if _other_active_admins(session, organisation_id, user.id) == 0:
            organisation = session.get(Organisation, organisation_id)
            name = organisation.name if organisation else str(organisation_id)
            raise conflict("last_active_admin", email=user.email, name=name)


def deactivate(session: Session, viewer: Viewer, user_id: int) -> User:
    """Take a user's access away at once: their sessions and tokens are refused from the
    next request, and they can no longer log in. Not oneself, not an organisation's last
    active admin."""
    user = _target(session, viewer, user_id)
    _may_manage_account(session, viewer, user)
    if user.id == viewer.user_id:
        raise conflict("own_account")
    if user.is_active:
        _keep_an_admin(
            session, user, {m.organisation_id for m in user.memberships if m.role == Role.ADMIN}
        )
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
    return user


def reactivate(session: Session, viewer: Viewer, user_id: int) -> User:
    """Give a deactivated user their access back (they log in again)."""
    user = _target(session, viewer, user_id)
    _may_manage_account(session, viewer, user)
    if not user.is_active:
        user.is_active = True
        session.commit()
        log.info("user %s reactivated user %s (%s)", viewer.user_id, user.id, user.email)
    return user


def grant_role(session: Session, viewer: Viewer, user_id: int, grant: MembershipIn) -> User:
    """One more role (same rule as when creating the user)."""
    user = _target(session, viewer, user_id)
    _may_grant(session, viewer, grant)
    user.memberships.append(Membership(organisation_id=grant.organisation_id, role=grant.role))
    commit(session, phrase("role_held"))
    log.info(
        "user %s granted role %s in organisation %s to user %s (%s)",
        viewer.user_id,
        grant.role,
        grant.organisation_id,
        user.id,
        user.email,
    )
    session.refresh(user)
    return user


def revoke_role(session: Session, viewer: Viewer, user_id: int, grant: MembershipIn) -> User:
    """Remove one role (same rule as granting it); its access ends with the next request.
    Not an organisation's last active admin role, nor a user's last role (a user without
    any role would be seen by no admin: deactivate them instead)."""
    user = _target(session, viewer, user_id)
    _may_grant(session, viewer, grant)
    held = next(
        (
            m
            for m in user.memberships
            if m.organisation_id == grant.organisation_id and m.role == grant.role
        ),
        None,
    )
    if held is None:
        raise ApiError(404, "not_found")
    if grant.role == Role.ADMIN and user.is_active:
        _keep_an_admin(session, user, {grant.organisation_id})
    if len(user.memberships) == 1:
        raise conflict("last_role")
    user.memberships.remove(held)
    session.commit()
    log.info(
        "user %s revoked role %s in organisation %s from user %s (%s)",
        viewer.user_id,
        grant.role,
        grant.organisation_id,
        user.id,
        user.email,
    )
    return user
