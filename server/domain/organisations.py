"""Organisations (cooperatives, producers) and producers joining cooperatives: who may
register them, and the check the other services make when they are given an organisation
("a cooperative, or 404")."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from server.core.access import Viewer, require
from server.core.crud import commit, insert
from server.core.errors import ApiError, Both
from server.core.models import CooperativeMember, Organisation, OrganisationKind, Role


def of_kind(session: Session, organisation_id: int, kind: OrganisationKind) -> Organisation:
    """The organisation if it exists and is of this kind; 404 otherwise (a van's pool, a
    cold room's loan, a membership name one)."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or organisation.kind != kind:
        raise ApiError(404, "not_found")
    return organisation


def cooperative(session: Session, organisation_id: int) -> Organisation:
    return of_kind(session, organisation_id, OrganisationKind.COOPERATIVE)


def create_organisation(
    session: Session, viewer: Viewer, *, name: str, kind: str, address: str | None
) -> Organisation:
    """A cooperative or a producer (superuser), or a producer joining the caller's
    cooperative (its admin: `add_member` after)."""
    require(
        viewer.is_superuser
        or (kind == OrganisationKind.PRODUCER and bool(viewer.orgs_with(Role.ADMIN)))
    )
    return insert(
        session,
        Organisation(name=name, kind=kind, address=address),
        Both("nom d'organisation déjà utilisé", "organisation name already used"),
    )


def organisations_of(viewer: Viewer) -> Select[Organisation]:
    """The viewer's organisations and the producers of their cooperatives (all of them
    for the superuser), by id."""
    query = select(Organisation).order_by(Organisation.id)
    if viewer.is_superuser:
        return query
    members = select(CooperativeMember.producer_id).where(
        CooperativeMember.cooperative_id.in_(viewer.roles)
    )
    return query.where(or_(Organisation.id.in_(viewer.roles), Organisation.id.in_(members)))


def add_member(session: Session, viewer: Viewer, cooperative_id: int, producer_id: int) -> None:
    """A producer joins the cooperative (the cooperative's admin)."""
    require(viewer.is_superuser or viewer.has(cooperative_id, Role.ADMIN))
    cooperative(session, cooperative_id)
    of_kind(session, producer_id, OrganisationKind.PRODUCER)
    session.add(CooperativeMember(cooperative_id=cooperative_id, producer_id=producer_id))
    commit(session, Both("ce producteur est déjà membre", "producer already a member"))
