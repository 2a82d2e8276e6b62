"""Organisations (cooperatives, producers) and cooperative membership of producers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import or_, select

from server.core.access import require
from server.core.crud import commit, paginate
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import CooperativeMember, Organisation, OrganisationKind, Role
from server.schemas.common import IdPath, Page, Paging, paging
from server.schemas.registry import MemberIn, OrganisationIn, OrganisationOut

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.post("", status_code=201)
def create_organisation(
    body: OrganisationIn, viewer: ViewerDep, session: SessionDep
) -> OrganisationOut:
    """Register a cooperative or a producer (superuser), or a producer joining the
    caller's cooperative (its admin: use POST /organisations/{id}/members after)."""
    require(
        viewer.is_superuser
        or (body.kind == OrganisationKind.PRODUCER and bool(viewer.orgs_with(Role.ADMIN)))
    )
    organisation = Organisation(name=body.name, kind=body.kind, address=body.address)
    session.add(organisation)
    commit(session, Both("nom d'organisation déjà utilisé", "organisation name already used"))
    return OrganisationOut.model_validate(organisation)


@router.get("")
def list_organisations(
    viewer: ViewerDep, session: SessionDep, page: Annotated[Paging, Depends(paging)]
) -> Page[OrganisationOut]:
    """The caller's organisations and the producers of their cooperatives."""
    members = select(CooperativeMember.producer_id).where(
        CooperativeMember.cooperative_id.in_(viewer.roles)
    )
    query = select(Organisation).order_by(Organisation.id)
    if not viewer.is_superuser:
        query = query.where(or_(Organisation.id.in_(viewer.roles), Organisation.id.in_(members)))
    return paginate(session, query, page, OrganisationOut)


@router.post("/{cooperative_id}/members", status_code=204)
def add_member(
    cooperative_id: IdPath, body: MemberIn, viewer: ViewerDep, session: SessionDep
) -> None:
    """A producer joins the cooperative (admin of the cooperative)."""
    require(viewer.is_superuser or viewer.has(cooperative_id, Role.ADMIN))
    cooperative = session.get(Organisation, cooperative_id)
    producer = session.get(Organisation, body.producer_id)
    if cooperative is None or cooperative.kind != OrganisationKind.COOPERATIVE:
        raise ApiError(404, "not_found")
    if producer is None or producer.kind != OrganisationKind.PRODUCER:
        raise ApiError(404, "not_found")
    session.add(CooperativeMember(cooperative_id=cooperative_id, producer_id=body.producer_id))
    commit(session, Both("ce producteur est déjà membre", "producer already a member"))
