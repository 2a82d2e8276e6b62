"""The delivery lifecycle and every delivery rule: planning (the delivery, its stops, its
loads), the departure check, the handovers (in the stops' order), closing; and the one
reading of a delivery with everything recorded about it (`file_of`), which the API, the
pages and the sealed records use.

planned --(departure check passed)--> departed --(every stop handed over, in order)--> closed

The services (`plan`, `add_stop`, `add_load`, `depart`, `hand_over`, `close`) check who may
do it (server/core/access.py), apply the rules and commit; each raises ApiError with the
reason (French and English) when a rule says no, so the API and the pages refuse the same
things with the same words. Closing also seals the record: server/records/sealing.py
`close_and_seal` calls `close` here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from alerts.judgement import Bounds, judge
from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.core.access import (
    Viewer,
    can_operate,
    can_plan,
    can_use_van,
    get_allowed,
    require,
    visible_deliveries,
)
from server.core.crud import commit, flush, insert
from server.core.errors import ApiError, Figure, Value, invalid, phrase
from server.core.models import (
    ColdRoom,
    ColdRoomLoan,
    CooperativeMember,
    Delivery,
    DeliveryStatus,
    DepartureCheck,
    Handover,
    HandoverZoneTemperature,
    Load,
    LoadDecision,
    Membership,
    Role,
    Stop,
    StopKind,
    User,
    Van,
    Zone,
)
from server.domain import categories
from server.domain.place_readings import PlaceReading, zone_temperature
from server.schemas.deliveries import DepartureIn, HandoverIn, LoadIn, StopIn

# How old a zone reading may be to stand for "the temperature now" (departure, handover).
READING_MAX_AGE = timedelta(minutes=15)
# Times given by a client (a phone) may run slightly ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)
ALREADY_HANDED_OVER = phrase("stop_already_handed_over")


# -- a delivery with everything recorded about it ---------------------------------------


@dataclass(frozen=True)
class HandedOver:
    handover: Handover
    zone_temperatures: list[HandoverZoneTemperature]  # by zone
    decisions: list[LoadDecision]  # as recorded


@dataclass(frozen=True)
class DeliveryFile:
    """A delivery, its stops (in their order), loads (by id), departure checks (by zone)
    and handovers (by stop, in the order they happened), read at once by `file_of`."""

    delivery: Delivery
    stops: list[Stop]
    loads: list[Load]
    departure_checks: list[DepartureCheck]
    handovers: dict[int, HandedOver]

    def stop(self, stop_id: int) -> Stop | None:
        return next((s for s in self.stops if s.id == stop_id), None)

    def decision(self, load_id: int, stop_id: int) -> LoadDecision | None:
        """What the receiver at that stop decided for the load (None: not handed over yet)."""
        done = self.handovers.get(stop_id)
        if done is None:
            return None
        return next((d for d in done.decisions if d.load_id == load_id), None)

    def next_stop(self) -> Stop | None:
        """The stop to hand over next: stops are handed over in their order, so the first
        one without a handover (None when every stop is handed over)."""
        return next((s for s in self.stops if s.id not in self.handovers), None)

    def loads_at(self, stop: Stop) -> list[tuple[Load, bool]]:
        """The loads whose receiver decides at this stop, each with whether it is on board
        for that: at a pickup all of them; at a drop those that came on board (a load
        refused at its pickup never did)."""
        if stop.kind == StopKind.PICKUP:
            return [(load, True) for load in self.loads if load.pickup_stop_id == stop.id]
        refused = {
            d.load_id for done in self.handovers.values() for d in done.decisions if not d.accepted
        }
        return [
            (load, load.id not in refused) for load in self.loads if load.drop_stop_id == stop.id
        ]

    def to_hand_over(self, stop: Stop) -> list[Load]:
        return [load for load, aboard in self.loads_at(stop) if aboard]

    def on_board(self, load: Load, until: datetime) -> tuple[datetime, datetime] | None:
        """When the load was in the van: from its accepted pickup until its accepted drop,
        or until `until` (closing, or now) when it is still on board or was refused at the
        drop. None when it never came on board (not picked up yet, or refused there)."""
        picked = self.handovers.get(load.pickup_stop_id)
        pickup = self.decision(load.id, load.pickup_stop_id)
        if picked is None or pickup is None or not pickup.accepted:
            return None
        dropped = self.handovers.get(load.drop_stop_id)
        drop = self.decision(load.id, load.drop_stop_id)
        if dropped is not None and drop is not None and drop.accepted:
            return picked.handover.at, dropped.handover.at
        return picked.handover.at, until


def seen_with_van_and_driver(viewer: Viewer) -> Select[Delivery, Van, User]:
    """The deliveries the viewer sees, each with its van and driver (the pages' lists)."""
    return (
        select(Delivery, Van, User)
        .join(Van, Van.id == Delivery.van_id)
        .join(User, User.id == Delivery.driver_id)
        .where(visible_deliveries(viewer))
    )


def file_of(session: Session, delivery: Delivery) -> DeliveryFile:
    """The delivery with its stops, loads, departure checks and handovers (their zone
    temperatures and decisions): six queries whatever the number of stops."""
    stops = list(
        session.scalars(select(Stop).where(Stop.delivery_id == delivery.id).order_by(Stop.sequence))
    )
    loads = list(
        session.scalars(select(Load).where(Load.delivery_id == delivery.id).order_by(Load.id))
    )
    checks = list(
        session.scalars(
            select(DepartureCheck)
            .where(DepartureCheck.delivery_id == delivery.id)
            .order_by(DepartureCheck.zone_id, DepartureCheck.id)
        )
    )
    handovers = list(
        session.scalars(
            select(Handover)
            .where(Handover.stop_id.in_([s.id for s in stops]))
            .order_by(Handover.at, Handover.id)
        )
    )
    ids = [h.id for h in handovers]
    temperatures: dict[int, list[HandoverZoneTemperature]] = {i: [] for i in ids}
    for t in session.scalars(
        select(HandoverZoneTemperature)
        .where(HandoverZoneTemperature.handover_id.in_(ids))
        .order_by(HandoverZoneTemperature.zone_id, HandoverZoneTemperature.id)
    ):
        temperatures[t.handover_id].append(t)
    decisions: dict[int, list[LoadDecision]] = {i: [] for i in ids}
    for d in session.scalars(
        select(LoadDecision).where(LoadDecision.handover_id.in_(ids)).order_by(LoadDecision.id)
    ):
        decisions[d.handover_id].append(d)
    return DeliveryFile(
        delivery=delivery,
        stops=stops,
        loads=loads,
        departure_checks=checks,
        handovers={
            h.stop_id: HandedOver(h, temperatures[h.id], decisions[h.id]) for h in handovers
        },
    )


# -- the rules --------------------------------------------------------------------------


def require_status(session: Session, delivery: Delivery, *allowed: DeliveryStatus) -> None:
    """Lock the delivery row (PostgreSQL; SQLite has one writer) and check its state, so
    concurrent changes to one delivery happen one after the other on fresh data."""
    session.refresh(delivery, with_for_update=True)
    if delivery.status not in allowed:
        raise ApiError(409, "delivery_not_editable", state=Value(delivery.status))


def day_start(delivery: Delivery) -> datetime:
    return clock.day_start(delivery.day)


def _planned_by(session: Session, viewer: Viewer, delivery_id: int) -> Delivery:
    """A delivery the viewer sees (else 404) and plans: its cooperative's staff (else 403)."""
    return get_allowed(session, viewer, Delivery, delivery_id, partial(can_plan, viewer))


def operated_by(session: Session, viewer: Viewer, delivery_id: int) -> Delivery:
    """A delivery the viewer sees (else 404) and operates: its driver or its cooperative's
    staff (else 403)."""
    return get_allowed(session, viewer, Delivery, delivery_id, partial(can_operate, viewer))


def plan(
    session: Session,
    viewer: Viewer,
    *,
    cooperative_id: int,
    van_id: int,
    driver_id: int,
    day: date,
) -> Delivery:
    """A delivery of the cooperative (its staff): a van from its pool, one of its drivers."""
    require(viewer.has(cooperative_id, Role.ADMIN, Role.HYGIENE_OFFICER))
    van = session.get(Van, van_id)
    if van is None or not can_use_van(session, cooperative_id, van):
        raise ApiError(404, "not_found")
    driver = session.scalar(
        select(Membership.id).where(
            Membership.user_id == driver_id,
            Membership.organisation_id == cooperative_id,
            Membership.role == Role.DRIVER,
        )
    )
    if driver is None:
        raise invalid("not_a_driver")
    delivery = Delivery(
        cooperative_id=cooperative_id,
        van_id=van_id,
        driver_id=driver_id,
        day=day,
        status=DeliveryStatus.PLANNED,
    )
    return insert(session, delivery, phrase("what_delivery"))


def add_stop(session: Session, viewer: Viewer, delivery_id: int, stop: StopIn) -> Stop:
    """A pickup (at a cold room the cooperative may use) or a drop, planned on the
    delivery's day or after; numbered after the last one."""
    delivery = _planned_by(session, viewer, delivery_id)
    require_status(session, delivery, DeliveryStatus.PLANNED)
    if stop.planned_at < day_start(delivery):
        raise ApiError(
            422,
            "stop_before_delivery",
            at=clock.local(stop.planned_at).strftime("%d/%m/%Y %H:%M"),
            day=delivery.day.strftime("%d/%m/%Y"),
        )
    if stop.cold_room_id is not None:
        room = session.get(ColdRoom, stop.cold_room_id)
        if room is None or not _cold_room_serves(session, room, delivery.cooperative_id):
            raise ApiError(404, "not_found")
    last = session.scalar(select(func.max(Stop.sequence)).where(Stop.delivery_id == delivery.id))
    row = Stop(
        delivery_id=delivery.id,
        sequence=(last or 0) + 1,
        kind=stop.kind,
        place_kind=stop.place_kind,
        cold_room_id=stop.cold_room_id,
        place_name=stop.place_name,
        address=stop.address,
        planned_at=stop.planned_at,
    )
    return insert(session, row, phrase("what_stop"))


def _is_member(session: Session, cooperative_id: int, producer_id: int) -> bool:
    member = session.scalar(
        select(CooperativeMember.id).where(
            CooperativeMember.cooperative_id == cooperative_id,
            CooperativeMember.producer_id == producer_id,
        )
    )
    return member is not None


def _cold_room_serves(session: Session, room: ColdRoom, cooperative_id: int) -> bool:
    """A pickup is at a cold room of the cooperative, of a member producer, or lent to it."""
    if room.owner_id == cooperative_id or _is_member(session, cooperative_id, room.owner_id):
        return True
    lent = session.scalar(
        select(ColdRoomLoan.id).where(
            ColdRoomLoan.cold_room_id == room.id, ColdRoomLoan.cooperative_id == cooperative_id
        )
    )
    return lent is not None


def add_load(session: Session, viewer: Viewer, delivery_id: int, load: LoadIn) -> Load:
    """A lot on a planned delivery: a known category, a zone of the delivery's van, picked
    up at one of its pickups and dropped at a later drop, from a producer of the cooperative."""
    delivery = _planned_by(session, viewer, delivery_id)
    require_status(session, delivery, DeliveryStatus.PLANNED)
    categories.check(load.category)
    zone = session.get(Zone, load.zone_id)
    if zone is None or zone.van_id != delivery.van_id:
        raise invalid("not_a_zone_of_the_van")
    pickup = session.get(Stop, load.pickup_stop_id)
    drop = session.get(Stop, load.drop_stop_id)
    if pickup is None or pickup.delivery_id != delivery.id or pickup.kind != StopKind.PICKUP:
        raise invalid("not_a_pickup")
    if drop is None or drop.delivery_id != delivery.id or drop.kind != StopKind.DROP:
        raise invalid("not_a_drop")
    if drop.sequence < pickup.sequence:
        raise invalid("drop_before_pickup")
    if not _is_member(session, delivery.cooperative_id, load.consignor_id):
        raise invalid("not_a_member_producer")
    row = Load(
        delivery_id=delivery.id,
        lot_reference=load.lot_reference,
        description=load.description,
        category=load.category,
        quantity=load.quantity,
        unit=load.unit,
        consignor_id=load.consignor_id,
        consignee=load.consignee,
        label_max_c=load.label_max_c,
        zone_id=load.zone_id,
        pickup_stop_id=load.pickup_stop_id,
        drop_stop_id=load.drop_stop_id,
    )
    return insert(session, row, phrase("what_load"))


def reading_now(
    session: Session, store: ReadingStore, zone_id: int, at: datetime
) -> PlaceReading | None:
    """The zone's temperature standing for "now" at `at` (the departure check's default,
    a handover's zone temperatures): its latest reading of the last READING_MAX_AGE that
    has a value; None without one."""
    reading = zone_temperature(session, store, zone_id, at, READING_MAX_AGE)
    return reading if reading is not None and reading.value is not None else None


def _reported_time(given: datetime | None, now: datetime, field: str) -> datetime:
    """The time a report gives (`field`), else now; a phone's clock may run a little ahead
    of the server's (CLOCK_SKEW), not more."""
    at = given or now
    if at > now + CLOCK_SKEW:
        raise invalid("in_the_future", field=field)
    return at


def zone_limits(loads: Iterable[Load]) -> dict[int, float]:
    """Each loaded zone's limit: the strictest load planned in it (a lower label temperature
    wins). Zones carrying only ambient goods have no limit."""
    cargo: dict[int, list[tuple[str, float | None]]] = {}
    for load in loads:
        cargo.setdefault(load.zone_id, []).append((load.category, load.label_max_c))
    limits = {zone: categories.cargo_max_c(loads) for zone, loads in cargo.items()}
    return {zone: limit for zone, limit in limits.items() if limit is not None}


def depart(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    delivery_id: int,
    report: DepartureIn,
    now: datetime,
) -> Delivery:
    """Check every loaded zone is pre-cooled below its limit (the temperature the driver
    measured, else the zone's readings), record it, and leave."""
    delivery = operated_by(session, viewer, delivery_id)
    require_status(session, delivery, DeliveryStatus.PLANNED)
    loads = list(session.scalars(select(Load).where(Load.delivery_id == delivery.id)))
    if not loads:
        raise invalid("no_load")
    limits = zone_limits(loads)
    at = _reported_time(report.checked_at, now, "checked_at")
    given = {z.zone_id: z.temperature_c for z in report.zones}
    unknown = set(given) - set(limits)
    if unknown:
        raise invalid("zones_without_chilled_load", zones=sorted(unknown))
    checks = []
    for zone_id, limit in sorted(limits.items()):
        zone_name = session.get(Zone, zone_id).name  # type: ignore[union-attr]
        temperature = given.get(zone_id)
        source = "manual"
        if temperature is None:
            reading = reading_now(session, store, zone_id, at)
            if reading is None or reading.value is None:
                raise ApiError(422, "no_zone_reading", zone=zone_name)
            temperature, source = reading.value, "readings"
        # Not in transport yet: pre-cooled to the limit itself, no transport tolerance.
        if judge(temperature, Bounds(limit, None), in_transport=False).above:
            raise ApiError(
                422,
                "departure_check_failed",
                zone=zone_name,
                temperature=Figure(temperature, 1),  # °C, one decimal as everywhere
                limit=Figure(limit, 1),
            )
        checks.append(
            DepartureCheck(
                delivery_id=delivery.id,
                zone_id=zone_id,
                checked_by_id=viewer.user_id,
                checked_at=at,
                temperature_c=temperature,
                limit_c=limit,
                source=source,
            )
        )
    session.add_all(checks)
    delivery.status = DeliveryStatus.DEPARTED
    delivery.departed_at = at
    commit(session, phrase("what_departure_check"))
    return delivery


def hand_over(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    delivery_id: int,
    stop_id: int,
    report: HandoverIn,
    now: datetime,
) -> Delivery:
    """Record the handover at the next stop: time, zone temperatures (from the readings),
    core temperature, each load on board accepted or refused (a refusal with its reason)."""
    delivery = operated_by(session, viewer, delivery_id)
    stop = session.get(Stop, stop_id)
    if stop is None or stop.delivery_id != delivery.id:
        raise ApiError(404, "not_found")
    require_status(session, delivery, DeliveryStatus.DEPARTED)
    file = file_of(session, delivery)  # read under the lock: fresh handovers
    if stop.id in file.handovers:
        raise ApiError(409, "conflict", detail=ALREADY_HANDED_OVER)
    expected = file.next_stop()
    if expected is not None and expected.id != stop.id:
        # The form is only offered at the next stop; a stop skipped would leave the loads
        # on board of the stops before it without their receivers' decisions.
        raise ApiError(
            409, "handover_out_of_order", sequence=expected.sequence, place=expected.place_name
        )
    at = _reported_time(report.at, now, "at")
    if delivery.departed_at is not None and at < delivery.departed_at:
        raise invalid("before_departure", field="at")
    loads = file.to_hand_over(stop)
    decisions = {d.load_id: d for d in report.decisions}
    expected_loads = {load.id for load in loads}
    if set(decisions) - expected_loads:
        extra = sorted(set(decisions) - expected_loads)
        raise invalid("loads_not_at_stop", loads=extra)
    if expected_loads - set(decisions):
        raise ApiError(
            422,
            "handover_incomplete",
            missing=", ".join(map(str, sorted(expected_loads - set(decisions)))),
        )
    if any(not d.accepted and not d.reason for d in decisions.values()):
        raise ApiError(422, "refusal_needs_reason")
    handover = Handover(
        stop_id=stop.id,
        at=at,
        recorded_by_id=viewer.user_id,
        receiver_name=report.receiver_name,
        core_temperature_c=report.core_temperature_c,
    )
    session.add(handover)
    flush(session, ALREADY_HANDED_OVER)
    for zone_id in sorted({load.zone_id for load in loads}):
        reading = reading_now(session, store, zone_id, at)
        if reading is not None and reading.value is not None:
            session.add(
                HandoverZoneTemperature(
                    handover_id=handover.id,
                    zone_id=zone_id,
                    channel=reading.channel,
                    temperature_c=reading.value,
                    measured_at=reading.time,
                )
            )
    for decision in decisions.values():
        session.add(
            LoadDecision(
                handover_id=handover.id,
                load_id=decision.load_id,
                accepted=decision.accepted,
                reason=decision.reason,
            )
        )
    stop.actual_at = at
    commit(session, phrase("what_handover"))
    return delivery


def close(
    session: Session, viewer: Viewer, delivery_id: int, closed_at: datetime | None, now: datetime
) -> Delivery:
    """Close after the last handover; the delivery's van readings end here for its viewers.
    (The sealed record: server/records/sealing.py `close_and_seal`.)"""
    delivery = operated_by(session, viewer, delivery_id)
    require_status(session, delivery, DeliveryStatus.DEPARTED)
    at = closed_at or now
    last = session.scalar(select(func.max(Stop.actual_at)).where(Stop.delivery_id == delivery.id))
    if at > now + CLOCK_SKEW or (last is not None and at < last):
        raise invalid("closed_at_bounds")
    pending = session.scalars(
        select(Stop.sequence)
        .where(Stop.delivery_id == delivery.id, Stop.actual_at.is_(None))
        .order_by(Stop.sequence)
    ).all()
    if pending:
        raise ApiError(409, "stops_pending", pending=", ".join(map(str, pending)))
    delivery.status = DeliveryStatus.CLOSED
    delivery.closed_at = at
    delivery.closed_by_id = viewer.user_id
    commit(session, phrase("what_closing"))
    return delivery
