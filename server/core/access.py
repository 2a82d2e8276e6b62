"""Who may see and do what: the ONE place for authorisation and tenant isolation.

Every route fetches rows through the `visible_*` conditions or `get_visible` below,
so no query reaches another cooperative's data by accident. The rules (docs/domain.md):

- admin / hygiene officer of cooperative C: C's deliveries, the vans C may use (pool),
  their temperatures only while C's deliveries used them, C's cold rooms and those lent to C.
- driver: the deliveries they drive and those vans, temperatures while they drove them.
- producer: their cold rooms, their own lots, and a van zone's temperatures only while
  their goods were on board.
Rows a user may not see answer 404, like rows that do not exist (no probing for ids).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from coldchain import clock
from server.core.errors import ApiError
from server.core.models import (
    ColdRoom,
    ColdRoomLoan,
    Delivery,
    Load,
    Probe,
    Role,
    User,
    Van,
    VanPoolEntry,
    Zone,
)
from server.core.on_board import aboard

STAFF = frozenset({Role.ADMIN, Role.HYGIENE_OFFICER})

Interval = tuple[datetime, datetime | None]  # [start, end), end None = still running
EVER: list[Interval] = [(datetime(1970, 1, 1, tzinfo=UTC), None)]


@dataclass(frozen=True)
class Viewer:
    user_id: int
    is_superuser: bool
    roles: dict[int, frozenset[str]] = field(default_factory=dict)  # organisation -> roles

    @classmethod
    def of(cls, user: User) -> Viewer:
        roles: dict[int, set[str]] = {}
        for membership in user.memberships:
            roles.setdefault(membership.organisation_id, set()).add(membership.role)
        return cls(user.id, user.is_superuser, {k: frozenset(v) for k, v in roles.items()})

    def orgs_with(self, *wanted: str) -> set[int]:
        return {org for org, roles in self.roles.items() if roles.intersection(wanted)}

    @property
    def staff_coops(self) -> set[int]:
        return self.orgs_with(*STAFF)

    @property
    def producers(self) -> set[int]:
        return self.orgs_with(Role.PRODUCER)

    def has(self, org_id: int, *wanted: str) -> bool:
        return bool(self.roles.get(org_id, frozenset()).intersection(wanted))


def require(allowed: bool) -> None:
    if not allowed:
        raise ApiError(403, "forbidden")


# --- Visibility conditions (used in every list and every fetch by id) -------------------


def visible_deliveries(viewer: Viewer) -> ColumnElement[bool]:
    return or_(
        Delivery.cooperative_id.in_(viewer.staff_coops),
        and_(
            Delivery.driver_id == viewer.user_id,
            Delivery.cooperative_id.in_(viewer.orgs_with(Role.DRIVER)),
        ),
    )


def visible_loads(viewer: Viewer) -> ColumnElement[bool]:
    own_deliveries = select(Delivery.id).where(visible_deliveries(viewer))
    return or_(Load.delivery_id.in_(own_deliveries), Load.consignor_id.in_(viewer.producers))


def visible_vans(viewer: Viewer) -> ColumnElement[bool]:
    pooled = select(VanPoolEntry.van_id).where(VanPoolEntry.cooperative_id.in_(viewer.staff_coops))
    driven = select(Delivery.van_id).where(
        Delivery.driver_id == viewer.user_id,
        Delivery.cooperative_id.in_(viewer.orgs_with(Role.DRIVER)),
    )
    return or_(Van.owner_id.in_(viewer.staff_coops), Van.id.in_(pooled), Van.id.in_(driven))


def visible_cold_rooms(viewer: Viewer) -> ColumnElement[bool]:
    lent = select(ColdRoomLoan.cold_room_id).where(
        ColdRoomLoan.cooperative_id.in_(viewer.staff_coops)
    )
    owners = viewer.staff_coops | viewer.producers
    return or_(ColdRoom.owner_id.in_(owners), ColdRoom.id.in_(lent))


def visible_probes(viewer: Viewer) -> ColumnElement[bool]:
    return Probe.owner_id.in_(viewer.staff_coops | viewer.producers)


CONDITIONS: dict[type[Any], Any] = {
    Delivery: visible_deliveries,
    Load: visible_loads,
    Van: visible_vans,
    ColdRoom: visible_cold_rooms,
    Probe: visible_probes,
}

T = TypeVar("T")


def get_visible(session: Session, viewer: Viewer, model: type[T], row_id: int) -> T:
    """The row if it exists and the viewer may see it; 404 otherwise."""
    condition = CONDITIONS[model](viewer)
    mapped: Any = model
    row = session.scalar(select(mapped).where(mapped.id == row_id, condition))
    if row is None:
        raise ApiError(404, "not_found")
    return cast(T, row)


def get_allowed(
    session: Session, viewer: Viewer, model: type[T], row_id: int, allowed: Callable[[T], bool]
) -> T:
    """The row if the viewer sees it (else 404, like a row that does not exist) and
    `allowed(row)` says they may act on it (else 403)."""
    row = get_visible(session, viewer, model, row_id)
    require(allowed(row))
    return row


# --- Who may change what ----------------------------------------------------------------


def can_manage_org(viewer: Viewer, org_id: int) -> bool:
    """Registers vans, cold rooms, probes, users of the organisation."""
    return viewer.has(org_id, Role.ADMIN, Role.PRODUCER)


def can_plan(viewer: Viewer, delivery: Delivery) -> bool:
    return viewer.has(delivery.cooperative_id, *STAFF)


def can_operate(viewer: Viewer, delivery: Delivery) -> bool:
    """Departure check, handovers, closing: the driver, or the cooperative's staff."""
    return can_plan(viewer, delivery) or (
        delivery.driver_id == viewer.user_id and viewer.has(delivery.cooperative_id, Role.DRIVER)
    )


def extract_producers(viewer: Viewer, cooperative_id: int, consignors: Iterable[int]) -> set[int]:
    """The producers (among a sealed record's consignors) whose extract of the record the
    viewer may read (server/records/producer_extract.py): any of them for the record's
    cooperative's staff; a producer only their own organisation's."""
    present = set(consignors)
    if viewer.has(cooperative_id, *STAFF):
        return present
    return present & viewer.producers


def can_use_van(session: Session, cooperative_id: int, van: Van) -> bool:
    if van.owner_id == cooperative_id:
        return True
    entry = session.scalar(
        select(VanPoolEntry.id).where(
            VanPoolEntry.van_id == van.id, VanPoolEntry.cooperative_id == cooperative_id
        )
    )
    return entry is not None


# --- Reading windows: when the viewer may see a place's temperatures -------------------


def delivery_window(delivery: Delivery) -> Interval:
    """From the start of the delivery day (pre-cooling before departure) until closing."""
    start = clock.day_start(delivery.day)
    if delivery.closed_at is not None:
        return (start, delivery.closed_at)
    if delivery.departed_at is not None:
        return (start, None)
    return (start, start + timedelta(days=1))


def cold_room_windows(session: Session, viewer: Viewer, cold_room_id: int) -> list[Interval]:
    get_visible(session, viewer, ColdRoom, cold_room_id)
    return EVER


def zone_windows(session: Session, viewer: Viewer, zone_id: int) -> list[Interval]:
    """Intervals in which the viewer may see this zone's readings; 404 if none at all."""
    zone = session.get(Zone, zone_id)
    if zone is None:
        raise ApiError(404, "not_found")
    used_by_viewer = list(
        session.scalars(
            select(Delivery).where(Delivery.van_id == zone.van_id, visible_deliveries(viewer))
        )
    )
    # While another cooperative's delivery is on the road with this van, its temperatures
    # are that delivery's, even inside the viewer's delivery day (a van shared the same day).
    others_on_road = session.scalars(
        select(Delivery).where(
            Delivery.van_id == zone.van_id,
            Delivery.departed_at.is_not(None),
            Delivery.id.not_in([d.id for d in used_by_viewer]),
        )
    )
    windows = subtract(
        [delivery_window(d) for d in used_by_viewer],
        [(d.departed_at, d.closed_at) for d in others_on_road if d.departed_at is not None],
    )
    windows.extend(on_board_windows(session, viewer, zone_id))
    if not windows:
        raise ApiError(404, "not_found")
    return windows


def on_board_windows(session: Session, viewer: Viewer, zone_id: int) -> list[Interval]:
    """When the viewer's own lots were in the zone (server/core/on_board.py)."""
    own = aboard(session, Load.zone_id == zone_id, Load.consignor_id.in_(viewer.producers))
    return [(each.on, each.off) for each in own]


_FAR = datetime(9999, 1, 1, tzinfo=UTC)  # stands for "still running" while subtracting


def subtract(windows: list[Interval], holes: list[Interval]) -> list[Interval]:
    """The parts of `windows` outside every hole (all half-open, end None = running)."""
    result = [(start, end or _FAR) for start, end in windows]
    for hole_start, hole_end in holes:
        hole_stop = hole_end or _FAR
        cut: list[tuple[datetime, datetime]] = []
        for start, end in result:
            if hole_stop <= start or end <= hole_start:
                cut.append((start, end))
                continue
            if start < hole_start:
                cut.append((start, hole_start))
            if hole_stop < end:
                cut.append((hole_stop, end))
        result = cut
    return [(start, None if end == _FAR else end) for start, end in result]


def seen_until(windows: list[Interval], now: datetime) -> datetime:
    """The last instant of the windows the viewer may see now: `now` while one still runs
    (or there are none), else the latest end (a driver's van after the closing, a producer's
    zone after unloading). A probe that goes on recording past it is not silent: the viewer
    only no longer sees it."""
    ends = [end for _start, end in windows]
    if not ends or any(end is None or end >= now for end in ends):
        return now
    return max(end for end in ends if end is not None)


def clip(
    windows: list[Interval], start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) inside the windows, merged and sorted."""
    parts = sorted(
        (max(start, w_start), min(end, w_end) if w_end else end) for w_start, w_end in windows
    )
    merged: list[tuple[datetime, datetime]] = []
    for a, b in parts:
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged
