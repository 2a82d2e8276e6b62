"""Where a probe is: one place at a time. The overlap rule lives here and only here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from server.core.access import Viewer, require
from server.core.errors import ApiError, invalid, require_period
from server.core.models import (
    ColdRoom,
    ColdRoomLoan,
    Installation,
    Probe,
    Role,
    Van,
    VanPoolEntry,
    Zone,
)


def check_no_overlap(
    session: Session,
    probe: Probe,
    start: datetime,
    end: datetime | None,
    ignore_id: int | None = None,
) -> None:
    """Refuse a period [start, end) that overlaps another installation of the probe."""
    require_period(start, end)
    # Serialise installations of one probe (PostgreSQL row lock; SQLite has one writer).
    session.scalar(select(Probe.id).where(Probe.id == probe.id).with_for_update())
    query = select(Installation).where(
        Installation.probe_id == probe.id,
        or_(Installation.end.is_(None), Installation.end > start),
    )
    if end is not None:
        query = query.where(Installation.start < end)
    if ignore_id is not None:
        query = query.where(Installation.id != ignore_id)
    other = session.scalars(query.order_by(Installation.start)).first()
    if other is not None:
        raise ApiError(409, "probe_already_installed", probe=probe.probe_id, other=other.id)


def check_place(
    session: Session, viewer: Viewer, zone_id: int | None, cold_room_id: int | None
) -> None:
    """The caller administers the place (their van or pool van, their or a lent cold room)."""
    if (zone_id is None) == (cold_room_id is None):
        raise invalid("zone_or_cold_room")
    admin_of = viewer.orgs_with(Role.ADMIN)
    if zone_id is not None:
        zone = session.get(Zone, zone_id)
        van = session.get(Van, zone.van_id) if zone else None
        if van is None:
            raise ApiError(404, "not_found")
        pooled = session.scalar(
            select(VanPoolEntry.id).where(
                VanPoolEntry.van_id == van.id, VanPoolEntry.cooperative_id.in_(admin_of)
            )
        )
        require(van.owner_id in admin_of or pooled is not None)
        return
    room = session.get(ColdRoom, cold_room_id)
    if room is None:
        raise ApiError(404, "not_found")
    lent = session.scalar(
        select(ColdRoomLoan.id).where(
            ColdRoomLoan.cold_room_id == room.id, ColdRoomLoan.cooperative_id.in_(admin_of)
        )
    )
    require(viewer.has(room.owner_id, Role.ADMIN, Role.PRODUCER) or lent is not None)


def place_at(installations: list[Installation], time: datetime) -> Installation | None:
    """The installation in force at `time` (installations of one probe never overlap)."""
    for installation in installations:
        if installation.start <= time and (installation.end is None or time < installation.end):
            return installation
    return None
