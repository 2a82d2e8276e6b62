"""Organisations (cooperatives, producers) and producers joining cooperatives: who may
register and edit them, and the check the other services make when they are given an
organisation ("a cooperative, or 404"). A rename keeps the former name: sealed records
name the cooperative and the consignors as they were called then
(server/domain/former_names.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from server.core.access import Viewer, require
from server.core.crud import commit, flush, insert
from server.core.errors import ApiError, phrase
from server.core.models import CooperativeMember, Organisation, OrganisationKind, Role
from server.domain.former_names import Subject, renamed

NAME_TAKEN = phrase("organisation_name_taken")


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
    return insert(session, Organisation(name=name, kind=kind, address=address), NAME_TAKEN)


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
    commit(session, phrase("producer_already_member"))


def administered(session: Session, viewer: Viewer, organisation_id: int) -> Organisation:
    """An organisation the viewer sees (`organisations_of`, else 404 like one that does not
    exist) and administers (else 403): the superuser's any, an admin's own."""
    found = session.scalar(
        organisations_of(viewer).where(Organisation.id == organisation_id).order_by(None)
    )
    if found is None:
        raise ApiError(404, "not_found")
    require(viewer.is_superuser or viewer.has(organisation_id, Role.ADMIN))
    return found


def update_organisation(
    session: Session,
    viewer: Viewer,
    organisation_id: int,
    *,
    name: str,
    address: str | None,
    now: datetime,
) -> Organisation:
    """Correct an organisation's name or address (the superuser, or its admin); its kind
    stays. The former name is kept for the records sealed before."""
    organisation = administered(session, viewer, organisation_id)
    changes = {"name": (organisation.name, name)}
    renamed(session, viewer, Subject.ORGANISATION, organisation.id, changes, now)
    organisation.name, organisation.address = name, address
    commit(session, NAME_TAKEN)
    return organisation


def members_of(cooperative_id: int) -> Select[Organisation]:
    """The producers of the cooperative, by name."""
    joined = select(CooperativeMember.producer_id).where(
        CooperativeMember.cooperative_id == cooperative_id
    )
    return select(Organisation).where(Organisation.id.in_(joined)).order_by(Organisation.name)


def joinable(viewer: Viewer, cooperative_id: int) -> Select[Organisation]:
    """The producers the viewer sees (`organisations_of`) that are not yet members of the
    cooperative, by name: the superuser's every producer, an admin's those of their other
    cooperatives."""
    already = select(CooperativeMember.producer_id).where(
        CooperativeMember.cooperative_id == cooperative_id
    )
    return (
        organisations_of(viewer)
        .where(Organisation.kind == OrganisationKind.PRODUCER, Organisation.id.not_in(already))
        .order_by(None)
        .order_by(Organisation.name)
    )


def create_member(
    session: Session, viewer: Viewer, cooperative_id: int, *, name: str, address: str | None
) -> Organisation:
    """A new producer that joins the cooperative at once (its admin, or the superuser)."""
    require(viewer.is_superuser or viewer.has(cooperative_id, Role.ADMIN))
    cooperative(session, cooperative_id)
    producer = Organisation(name=name, kind=OrganisationKind.PRODUCER, address=address)
    session.add(producer)
    flush(session, NAME_TAKEN)  # its id, in the same transaction as the membership
    session.add(CooperativeMember(cooperative_id=cooperative_id, producer_id=producer.id))
    commit(session, NAME_TAKEN)
    return producer
