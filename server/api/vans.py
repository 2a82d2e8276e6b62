"""Vans, their zones (compartments, thermo-boxes) and the pool of cooperatives using them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from server.core.access import get_visible, require, visible_vans
from server.core.crud import commit, flush, paginate
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import Organisation, OrganisationKind, Role, Van, VanPoolEntry, Zone
from server.schemas.common import IdPath, Page, Paging, paging
from server.schemas.registry import PoolIn, VanIn, VanOut, ZoneIn, ZoneOut

router = APIRouter(prefix="/vans", tags=["vans"])


def _cooperative(session: SessionDep, org_id: int) -> Organisation:
    organisation = session.get(Organisation, org_id)
    if organisation is None or organisation.kind != OrganisationKind.COOPERATIVE:
        raise ApiError(404, "not_found")
    return organisation


@router.post("", status_code=201)
def create_van(body: VanIn, viewer: ViewerDep, session: SessionDep) -> VanOut:
    """Register a van of the cooperative (its admin); the owner is in the van's pool."""
    require(viewer.has(body.owner_id, Role.ADMIN))
    _cooperative(session, body.owner_id)
    van = Van(name=body.name, plate=body.plate, owner_id=body.owner_id)
    session.add(van)
    flush(session, Both("plaque déjà enregistrée", "plate already registered"))
    session.add(VanPoolEntry(van_id=van.id, cooperative_id=body.owner_id))
    commit(session, Both("plaque déjà enregistrée", "plate already registered"))
    return VanOut.model_validate(van)


@router.get("")
def list_vans(
    viewer: ViewerDep, session: SessionDep, page: Annotated[Paging, Depends(paging)]
) -> Page[VanOut]:
    """Vans the caller may see: their cooperatives' pool, or the vans they drive."""
    return paginate(session, select(Van).where(visible_vans(viewer)).order_by(Van.id), page, VanOut)


@router.get("/{van_id}")
def read_van(van_id: IdPath, viewer: ViewerDep, session: SessionDep) -> VanOut:
    """One van (404 when not visible to the caller)."""
    return VanOut.model_validate(get_visible(session, viewer, Van, van_id))


@router.get("/{van_id}/zones")
def list_zones(
    van_id: IdPath,
    viewer: ViewerDep,
    session: SessionDep,
    page: Annotated[Paging, Depends(paging)],
) -> Page[ZoneOut]:
    """The van's zones (compartments and thermo-boxes)."""
    van = get_visible(session, viewer, Van, van_id)
    query = select(Zone).where(Zone.van_id == van.id).order_by(Zone.id)
    return paginate(session, query, page, ZoneOut)


@router.post("/{van_id}/zones", status_code=201)
def create_zone(van_id: IdPath, body: ZoneIn, viewer: ViewerDep, session: SessionDep) -> ZoneOut:
    """Add a compartment or a thermo-box to the van (admin of the owner)."""
    van = get_visible(session, viewer, Van, van_id)
    require(viewer.has(van.owner_id, Role.ADMIN))
    zone = Zone(van_id=van.id, name=body.name, kind=body.kind)
    session.add(zone)
    commit(
        session,
        Both("nom de zone déjà utilisé dans ce véhicule", "zone name already used in this van"),
    )
    return ZoneOut.model_validate(zone)


@router.post("/{van_id}/pool", status_code=204)
def share_van(van_id: IdPath, body: PoolIn, viewer: ViewerDep, session: SessionDep) -> None:
    """Let another cooperative use the van (admin of the owning cooperative)."""
    van = get_visible(session, viewer, Van, van_id)
    require(viewer.has(van.owner_id, Role.ADMIN))
    _cooperative(session, body.cooperative_id)
    session.add(VanPoolEntry(van_id=van.id, cooperative_id=body.cooperative_id))
    commit(
        session,
        Both("coopérative déjà dans le pool du véhicule", "cooperative already in the van's pool"),
    )
