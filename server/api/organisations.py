"""Organisations (cooperatives, producers) and cooperative membership of producers. The
rules: server/domain/organisations.py."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.paging import PagingDep, paginate
from server.core.deps import SessionDep, ViewerDep
from server.domain import organisations
from server.schemas.common import IdPath, Page
from server.schemas.registry import MemberIn, OrganisationIn, OrganisationOut

router = APIRouter(prefix="/organisations", tags=["organisations"])


@router.post("", status_code=201)
def create_organisation(
    body: OrganisationIn, viewer: ViewerDep, session: SessionDep
) -> OrganisationOut:
    """Register a cooperative or a producer (superuser), or a producer joining the
    caller's cooperative (its admin: use POST /organisations/{id}/members after)."""
    organisation = organisations.create_organisation(
        session, viewer, name=body.name, kind=body.kind, address=body.address
    )
    return OrganisationOut.model_validate(organisation)


@router.get("")
def list_organisations(
    viewer: ViewerDep, session: SessionDep, page: PagingDep
) -> Page[OrganisationOut]:
    """The caller's organisations and the producers of their cooperatives."""
    return paginate(session, organisations.organisations_of(viewer), page, OrganisationOut)


@router.post("/{cooperative_id}/members", status_code=204)
def add_member(
    cooperative_id: IdPath, body: MemberIn, viewer: ViewerDep, session: SessionDep
) -> None:
    """A producer joins the cooperative (admin of the cooperative)."""
    organisations.add_member(session, viewer, cooperative_id, body.producer_id)
