"""Vans, their zones (compartments, thermo-boxes) and the pool of cooperatives using them.
The rules: server/domain/fleet.py."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from server.api.paging import PagingDep, paginate
from server.core.access import get_visible, visible_vans
from server.core.deps import SessionDep, ViewerDep
from server.core.models import Van
from server.domain import fleet
from server.schemas.common import IdPath, Page
from server.schemas.registry import PoolIn, VanIn, VanOut, ZoneIn, ZoneOut

router = APIRouter(prefix="/vans", tags=["vans"])


@router.post("", status_code=201)
def create_van(body: VanIn, viewer: ViewerDep, session: SessionDep) -> VanOut:
    """Register a van of the cooperative (its admin); the owner is in the van's pool."""
    van = fleet.create_van(
        session, viewer, name=body.name, plate=body.plate, owner_id=body.owner_id
    )
    return VanOut.model_validate(van)


@router.get("")
def list_vans(viewer: ViewerDep, session: SessionDep, page: PagingDep) -> Page[VanOut]:
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
    page: PagingDep,
) -> Page[ZoneOut]:
    """The van's zones (compartments and thermo-boxes)."""
    van = get_visible(session, viewer, Van, van_id)
    return paginate(session, fleet.zones_of(van), page, ZoneOut)


@router.post("/{van_id}/zones", status_code=201)
def create_zone(van_id: IdPath, body: ZoneIn, viewer: ViewerDep, session: SessionDep) -> ZoneOut:
    """Add a compartment or a thermo-box to the van (admin of the owner)."""
    zone = fleet.create_zone(session, viewer, van_id, name=body.name, kind=body.kind)
    return ZoneOut.model_validate(zone)


@router.post("/{van_id}/pool", status_code=204)
def share_van(van_id: IdPath, body: PoolIn, viewer: ViewerDep, session: SessionDep) -> None:
    """Let another cooperative use the van (admin of the owning cooperative)."""
    fleet.share_van(session, viewer, van_id, body.cooperative_id)
