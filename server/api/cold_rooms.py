"""Cold rooms of producers and cooperatives, and their loans to cooperatives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import select

from server.core.access import can_manage_org, get_visible, require, visible_cold_rooms
from server.core.crud import commit, paginate
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import ColdRoom, ColdRoomLoan, Organisation, OrganisationKind
from server.domain import categories
from server.schemas.common import IdPath, Page, Paging, paging
from server.schemas.registry import ColdRoomIn, ColdRoomOut, LoanIn

router = APIRouter(prefix="/cold-rooms", tags=["cold rooms"])


@router.post("", status_code=201)
def create_cold_room(body: ColdRoomIn, viewer: ViewerDep, session: SessionDep) -> ColdRoomOut:
    """Register a cold room of a producer or a cooperative, with its product category."""
    require(can_manage_org(viewer, body.owner_id))
    categories.check(body.category)
    room = ColdRoom(
        name=body.name, owner_id=body.owner_id, category=body.category, address=body.address
    )
    session.add(room)
    commit(session, Both("chambre froide", "cold room"))
    return ColdRoomOut.model_validate(room)


@router.get("")
def list_cold_rooms(
    viewer: ViewerDep, session: SessionDep, page: Annotated[Paging, Depends(paging)]
) -> Page[ColdRoomOut]:
    """Cold rooms the caller may see: their own, and those lent to their cooperative."""
    query = select(ColdRoom).where(visible_cold_rooms(viewer)).order_by(ColdRoom.id)
    return paginate(session, query, page, ColdRoomOut)


@router.get("/{cold_room_id}")
def read_cold_room(cold_room_id: IdPath, viewer: ViewerDep, session: SessionDep) -> ColdRoomOut:
    """One cold room (404 when not visible to the caller)."""
    return ColdRoomOut.model_validate(get_visible(session, viewer, ColdRoom, cold_room_id))


@router.post("/{cold_room_id}/loans", status_code=204)
def lend_cold_room(
    cold_room_id: IdPath, body: LoanIn, viewer: ViewerDep, session: SessionDep
) -> None:
    """Lend the cold room to a cooperative: its admin and hygiene officer will see it."""
    room = get_visible(session, viewer, ColdRoom, cold_room_id)
    require(can_manage_org(viewer, room.owner_id))
    cooperative = session.get(Organisation, body.cooperative_id)
    if cooperative is None or cooperative.kind != OrganisationKind.COOPERATIVE:
        raise ApiError(404, "not_found")
    session.add(ColdRoomLoan(cold_room_id=room.id, cooperative_id=body.cooperative_id))
    commit(
        session,
        Both(
            "chambre froide déjà prêtée à cette coopérative",
            "cold room already lent to this cooperative",
        ),
    )
