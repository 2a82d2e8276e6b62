"""Cold rooms of producers and cooperatives, and their loans to cooperatives. The rules:
server/domain/fleet.py."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from server.api.paging import PagingDep, paginate
from server.core.access import get_visible, visible_cold_rooms
from server.core.deps import SessionDep, ViewerDep
from server.core.models import ColdRoom
from server.domain import fleet
from server.schemas.common import IdPath, Page
from server.schemas.registry import ColdRoomIn, ColdRoomLabelIn, ColdRoomOut, LoanIn

router = APIRouter(prefix="/cold-rooms", tags=["cold rooms"])


@router.post("", status_code=201)
def create_cold_room(body: ColdRoomIn, viewer: ViewerDep, session: SessionDep) -> ColdRoomOut:
    """Register a cold room of a producer or a cooperative, with its product category (and,
    optionally, a label storage temperature lower than the category's limit, with why)."""
    room = fleet.create_cold_room(session, viewer, **body.model_dump())
    return ColdRoomOut.model_validate(room)


@router.get("")
def list_cold_rooms(viewer: ViewerDep, session: SessionDep, page: PagingDep) -> Page[ColdRoomOut]:
    """Cold rooms the caller may see: their own, and those lent to their cooperative."""
    query = select(ColdRoom).where(visible_cold_rooms(viewer)).order_by(ColdRoom.id)
    return paginate(session, query, page, ColdRoomOut)


@router.get("/{cold_room_id}")
def read_cold_room(cold_room_id: IdPath, viewer: ViewerDep, session: SessionDep) -> ColdRoomOut:
    """One cold room (404 when not visible to the caller)."""
    return ColdRoomOut.model_validate(get_visible(session, viewer, ColdRoom, cold_room_id))


@router.put("/{cold_room_id}/label")
def set_label(
    cold_room_id: IdPath, body: ColdRoomLabelIn, viewer: ViewerDep, session: SessionDep
) -> ColdRoomOut:
    """Set (or, with nulls, remove) the cold room's label storage temperature: it must be
    lower than its category's limit, which it then replaces (docs/alerts.md)."""
    room = fleet.set_cold_room_label(
        session, viewer, cold_room_id, body.label_max_c, body.label_reason
    )
    return ColdRoomOut.model_validate(room)


@router.post("/{cold_room_id}/loans", status_code=204)
def lend_cold_room(
    cold_room_id: IdPath, body: LoanIn, viewer: ViewerDep, session: SessionDep
) -> None:
    """Lend the cold room to a cooperative: its admin and hygiene officer will see it."""
    fleet.lend_cold_room(session, viewer, cold_room_id, body.cooperative_id)
