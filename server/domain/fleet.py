"""The fleet: vans, their zones (compartments, thermo-boxes), the pool of cooperatives
using a van, and cold rooms with their loans to cooperatives. Who may register what
(server/core/access.py), and what is refused (a plate taken, a zone name used twice in a
van, an unknown product category), with the French (and English) reason.

Editing keeps history where records depend on it: a van, a zone or a cold room renamed (a
van's plate corrected) keeps its former value with the instant it changed
(server/domain/former_names.py), and a sealed record, or a later reseal of it, names them as
they were called when its delivery closed. A zone's kind and a cold room's category are not
edited (the records and the alert limits judge by them: register a new one instead)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from server.core.access import (
    Viewer,
    can_manage_org,
    get_allowed,
    require,
    visible_cold_rooms,
    visible_vans,
)
from server.core.crud import commit, flush, insert
from server.core.errors import ApiError, phrase
from server.core.models import ColdRoom, ColdRoomLoan, Role, Van, VanPoolEntry, Zone
from server.domain import categories
from server.domain.former_names import Subject, renamed
from server.domain.organisations import cooperative

PLATE_TAKEN = phrase("plate_taken")
ZONE_NAME_TAKEN = phrase("zone_name_taken")


def create_van(session: Session, viewer: Viewer, *, name: str, plate: str, owner_id: int) -> Van:
    """A van of the cooperative (its admin); the owner is in the van's pool."""
    require(viewer.has(owner_id, Role.ADMIN))
    cooperative(session, owner_id)
    van = Van(name=name, plate=plate, owner_id=owner_id)
    session.add(van)
    flush(session, PLATE_TAKEN)
    session.add(VanPoolEntry(van_id=van.id, cooperative_id=owner_id))
    commit(session, PLATE_TAKEN)
    return van


def zones_of(van: Van) -> Select[Zone]:
    return select(Zone).where(Zone.van_id == van.id).order_by(Zone.id)


@dataclass(frozen=True)
class Seen:
    """The vans and cold rooms a viewer sees, by name; each van's zones, by id."""

    vans: list[Van]
    zones: dict[int, list[Zone]]  # van id -> its zones
    rooms: list[ColdRoom]


def seen_by(session: Session, viewer: Viewer) -> Seen:
    """What the viewer's pages list and offer (the admin's, the inspection form)."""
    vans = list(session.scalars(select(Van).where(visible_vans(viewer)).order_by(Van.name, Van.id)))
    zones: dict[int, list[Zone]] = {}
    for zone in session.scalars(
        select(Zone).where(Zone.van_id.in_([v.id for v in vans])).order_by(Zone.id)
    ):
        zones.setdefault(zone.van_id, []).append(zone)
    rooms = session.scalars(
        select(ColdRoom).where(visible_cold_rooms(viewer)).order_by(ColdRoom.name)
    )
    return Seen(vans, zones, list(rooms))


def _administered_van(session: Session, viewer: Viewer, van_id: int) -> Van:
    """A van the viewer sees (else 404) whose owner they administer (else 403)."""
    return get_allowed(
        session, viewer, Van, van_id, lambda van: viewer.has(van.owner_id, Role.ADMIN)
    )


def create_zone(session: Session, viewer: Viewer, van_id: int, *, name: str, kind: str) -> Zone:
    """A compartment or a thermo-box of the van (admin of its owner)."""
    van = _administered_van(session, viewer, van_id)
    return insert(session, Zone(van_id=van.id, name=name, kind=kind), ZONE_NAME_TAKEN)


def update_van(
    session: Session, viewer: Viewer, van_id: int, *, name: str, plate: str, now: datetime
) -> Van:
    """Rename the van or correct its plate (admin of its owner); the former values stay for
    the records sealed before."""
    van = _administered_van(session, viewer, van_id)
    changes = {"name": (van.name, name), "plate": (van.plate, plate)}
    renamed(session, viewer, Subject.VAN, van.id, changes, now)
    van.name, van.plate = name, plate
    commit(session, PLATE_TAKEN)
    return van


def van_zone(session: Session, viewer: Viewer, van_id: int, zone_id: int) -> Zone:
    """A zone of a van the viewer administers (404 if the zone is not that van's)."""
    van = _administered_van(session, viewer, van_id)
    zone = session.get(Zone, zone_id)
    if zone is None or zone.van_id != van.id:
        raise ApiError(404, "not_found")
    return zone


def rename_zone(
    session: Session, viewer: Viewer, van_id: int, zone_id: int, *, name: str, now: datetime
) -> Zone:
    """Rename a zone (admin of the van's owner); the former name stays for the records."""
    zone = van_zone(session, viewer, van_id, zone_id)
    renamed(session, viewer, Subject.ZONE, zone.id, {"name": (zone.name, name)}, now)
    zone.name = name
    commit(session, ZONE_NAME_TAKEN)
    return zone


def share_van(session: Session, viewer: Viewer, van_id: int, cooperative_id: int) -> None:
    """Another cooperative may use the van (admin of the owning cooperative)."""
    van = _administered_van(session, viewer, van_id)
    cooperative(session, cooperative_id)
    session.add(VanPoolEntry(van_id=van.id, cooperative_id=cooperative_id))
    commit(session, phrase("cooperative_in_pool"))


def create_cold_room(
    session: Session,
    viewer: Viewer,
    *,
    name: str,
    owner_id: int,
    category: str,
    address: str | None,
    label_max_c: float | None = None,
    label_reason: str | None = None,
) -> ColdRoom:
    """A cold room of a producer or a cooperative, with its product category and, if a
    product stored there says so on its label, a stricter storage temperature and why."""
    require(can_manage_org(viewer, owner_id))
    categories.check(category)
    categories.check_label(category, label_max_c, label_reason)
    room = ColdRoom(
        name=name,
        owner_id=owner_id,
        category=category,
        address=address,
        label_max_c=label_max_c,
        label_reason=label_reason,
    )
    return insert(session, room, phrase("what_cold_room"))


def managed_cold_room(session: Session, viewer: Viewer, cold_room_id: int) -> ColdRoom:
    """A cold room the viewer sees (else 404) and manages (else 403)."""
    return get_allowed(
        session, viewer, ColdRoom, cold_room_id, lambda r: can_manage_org(viewer, r.owner_id)
    )


def update_cold_room(
    session: Session,
    viewer: Viewer,
    cold_room_id: int,
    *,
    name: str,
    address: str | None,
    now: datetime,
) -> ColdRoom:
    """Rename the cold room or correct its address (who manages it); the former name stays.
    Its category is not changed here: the limits already judged depend on it."""
    room = managed_cold_room(session, viewer, cold_room_id)
    renamed(session, viewer, Subject.COLD_ROOM, room.id, {"name": (room.name, name)}, now)
    room.name, room.address = name, address
    commit(session, phrase("what_cold_room"))
    return room


def set_cold_room_label(
    session: Session,
    viewer: Viewer,
    cold_room_id: int,
    label_max_c: float | None,
    label_reason: str | None,
) -> ColdRoom:
    """Give the cold room a label storage temperature stricter than its category's (with its
    reason), or take it away (None): the alert worker applies it at its next refresh."""
    room = managed_cold_room(session, viewer, cold_room_id)
    categories.check_label(room.category, label_max_c, label_reason)
    room.label_max_c, room.label_reason = label_max_c, label_reason
    commit(session, phrase("what_cold_room"))
    return room


def lend_cold_room(
    session: Session, viewer: Viewer, cold_room_id: int, cooperative_id: int
) -> None:
    """Lend the cold room to a cooperative: its admin and hygiene officer will see it."""
    room = managed_cold_room(session, viewer, cold_room_id)
    cooperative(session, cooperative_id)
    session.add(ColdRoomLoan(cold_room_id=room.id, cooperative_id=cooperative_id))
    commit(session, phrase("cold_room_lent"))
