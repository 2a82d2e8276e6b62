"""The delivery lifecycle rules: planning (stops, loads), departure check, handover, closing.

planned --(departure check passed)--> departed --(every stop handed over)--> closed
Routes call these functions; each raises ApiError with the reason when a rule says no.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coldchain import clock
from coldchain.readingstore.base import ReadingStore
from server.core.crud import flush
from server.core.errors import ApiError, Both
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
    Stop,
    StopKind,
    Zone,
)
from server.domain import categories
from server.domain.place_readings import zone_temperature
from server.schemas.deliveries import CloseIn, DepartureIn, HandoverIn, LoadIn, StopIn

# How old a zone reading may be to stand for "the temperature now" (departure, handover).
READING_MAX_AGE = timedelta(minutes=15)
# Times given by a client (a phone) may run slightly ahead of the server's clock.
CLOCK_SKEW = timedelta(minutes=5)


def require_status(session: Session, delivery: Delivery, *allowed: DeliveryStatus) -> None:
    """Lock the delivery row (PostgreSQL; SQLite has one writer) and check its state, so
    concurrent changes to one delivery happen one after the other on fresh data."""
    session.refresh(delivery, with_for_update=True)
    if delivery.status not in allowed:
        raise ApiError(409, "delivery_not_editable", state=delivery.status)


def day_start(delivery: Delivery) -> datetime:
    return clock.day_start(delivery.day)


def add_stop(session: Session, delivery: Delivery, body: StopIn) -> Stop:
    require_status(session, delivery, DeliveryStatus.PLANNED)
    if body.planned_at < day_start(delivery):
        raise ApiError(
            422,
            "stop_before_delivery",
            at=body.planned_at.astimezone(clock.zone()).strftime("%d/%m/%Y %H:%M"),
            day=delivery.day.strftime("%d/%m/%Y"),
        )
    if body.cold_room_id is not None:
        room = session.get(ColdRoom, body.cold_room_id)
        if room is None or not _cold_room_serves(session, room, delivery.cooperative_id):
            raise ApiError(404, "not_found")
    last = session.scalar(select(func.max(Stop.sequence)).where(Stop.delivery_id == delivery.id))
    stop = Stop(delivery_id=delivery.id, sequence=(last or 0) + 1, **body.model_dump())
    session.add(stop)
    return stop


def _cold_room_serves(session: Session, room: ColdRoom, cooperative_id: int) -> bool:
    """A pickup is at a cold room of the cooperative, of a member producer, or lent to it."""
    if room.owner_id == cooperative_id:
        return True
    member = session.scalar(
        select(CooperativeMember.id).where(
            CooperativeMember.cooperative_id == cooperative_id,
            CooperativeMember.producer_id == room.owner_id,
        )
    )
    lent = session.scalar(
        select(ColdRoomLoan.id).where(
            ColdRoomLoan.cold_room_id == room.id, ColdRoomLoan.cooperative_id == cooperative_id
        )
    )
    return member is not None or lent is not None


def add_load(session: Session, delivery: Delivery, body: LoadIn) -> Load:
    require_status(session, delivery, DeliveryStatus.PLANNED)
    categories.check(body.category)
    zone = session.get(Zone, body.zone_id)
    if zone is None or zone.van_id != delivery.van_id:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "zone_id : pas une zone du véhicule de la livraison",
                "zone_id: not a zone of the delivery's van",
            ),
        )
    pickup = session.get(Stop, body.pickup_stop_id)
    drop = session.get(Stop, body.drop_stop_id)
    if pickup is None or pickup.delivery_id != delivery.id or pickup.kind != StopKind.PICKUP:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "pickup_stop_id : pas un enlèvement de cette livraison",
                "pickup_stop_id: not a pickup of this delivery",
            ),
        )
    if drop is None or drop.delivery_id != delivery.id or drop.kind != StopKind.DROP:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "drop_stop_id : pas une livraison (dépôt) de cette tournée",
                "drop_stop_id: not a drop of this delivery",
            ),
        )
    if drop.sequence < pickup.sequence:
        raise ApiError(
            422,
            "validation_error",
            detail=Both("le dépôt vient avant l'enlèvement", "the drop comes before the pickup"),
        )
    member = session.scalar(
        select(CooperativeMember.id).where(
            CooperativeMember.cooperative_id == delivery.cooperative_id,
            CooperativeMember.producer_id == body.consignor_id,
        )
    )
    if member is None:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "consignor_id : pas un producteur de la coopérative",
                "consignor_id: not a producer of the cooperative",
            ),
        )
    load = Load(delivery_id=delivery.id, **body.model_dump())
    session.add(load)
    return load


def zone_limits(session: Session, delivery: Delivery) -> dict[int, float]:
    """Each loaded zone's limit: the strictest load planned in it (a lower label temperature
    wins). Zones carrying only ambient goods have no limit."""
    cargo: dict[int, list[tuple[str, float | None]]] = {}
    for load in session.scalars(select(Load).where(Load.delivery_id == delivery.id)):
        cargo.setdefault(load.zone_id, []).append((load.category, load.label_max_c))
    limits = {zone: categories.cargo_max_c(loads) for zone, loads in cargo.items()}
    return {zone: limit for zone, limit in limits.items() if limit is not None}


def depart(
    session: Session,
    store: ReadingStore,
    delivery: Delivery,
    body: DepartureIn,
    user_id: int,
    now: datetime,
) -> list[DepartureCheck]:
    """Check every loaded zone is pre-cooled below its limit, record it, and leave."""
    require_status(session, delivery, DeliveryStatus.PLANNED)
    if session.scalar(select(Load.id).where(Load.delivery_id == delivery.id).limit(1)) is None:
        raise ApiError(
            422,
            "validation_error",
            detail=Both("la livraison n'a aucun chargement", "the delivery has no load"),
        )
    limits = zone_limits(session, delivery)
    at = body.checked_at or now
    if at > now + CLOCK_SKEW:
        raise ApiError(
            422,
            "validation_error",
            detail=Both("checked_at : dans le futur", "checked_at: in the future"),
        )
    given = {z.zone_id: z.temperature_c for z in body.zones}
    unknown = set(given) - set(limits)
    if unknown:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                f"zones sans chargement réfrigéré : {sorted(unknown)}",
                f"zones without a chilled load: {sorted(unknown)}",
            ),
        )
    checks = []
    for zone_id, limit in sorted(limits.items()):
        zone_name = session.get(Zone, zone_id).name  # type: ignore[union-attr]
        temperature = given.get(zone_id)
        source = "manual"
        if temperature is None:
            reading = zone_temperature(session, store, zone_id, at, READING_MAX_AGE)
            if reading is None or reading.value is None:
                raise ApiError(422, "no_zone_reading", zone=zone_name)
            temperature, source = reading.value, "readings"
        if temperature > limit:
            raise ApiError(
                422, "departure_check_failed", zone=zone_name, temperature=temperature, limit=limit
            )
        checks.append(
            DepartureCheck(
                delivery_id=delivery.id,
                zone_id=zone_id,
                checked_by_id=user_id,
                checked_at=at,
                temperature_c=temperature,
                limit_c=limit,
                source=source,
            )
        )
    session.add_all(checks)
    delivery.status = DeliveryStatus.DEPARTED
    delivery.departed_at = at
    return checks


def loads_to_hand_over(session: Session, stop: Stop) -> list[Load]:
    """The loads whose receiver decides at this stop: all those picked up there, or those
    dropped there that came on board (a load refused at its pickup never did)."""
    column = Load.pickup_stop_id if stop.kind == StopKind.PICKUP else Load.drop_stop_id
    loads = list(session.scalars(select(Load).where(column == stop.id).order_by(Load.id)))
    if stop.kind == StopKind.DROP:
        refused = set(
            session.scalars(
                select(LoadDecision.load_id).where(
                    LoadDecision.load_id.in_([load.id for load in loads]),
                    LoadDecision.accepted.is_(False),
                )
            )
        )
        loads = [load for load in loads if load.id not in refused]
    return loads


def hand_over(
    session: Session,
    store: ReadingStore,
    delivery: Delivery,
    stop: Stop,
    body: HandoverIn,
    user_id: int,
    now: datetime,
) -> Handover:
    """Record the handover at a stop: time, zone temperatures, each load accepted or refused."""
    require_status(session, delivery, DeliveryStatus.DEPARTED)
    if session.scalar(select(Handover.id).where(Handover.stop_id == stop.id)) is not None:
        raise ApiError(
            409,
            "conflict",
            detail=Both("cet arrêt a déjà été remis", "this stop was already handed over"),
        )
    at = body.at or now
    if at > now + CLOCK_SKEW:
        raise ApiError(
            422, "validation_error", detail=Both("at : dans le futur", "at: in the future")
        )
    if delivery.departed_at is not None and at < delivery.departed_at:
        raise ApiError(
            422, "validation_error", detail=Both("at : avant le départ", "at: before the departure")
        )
    loads = loads_to_hand_over(session, stop)
    decisions = {d.load_id: d for d in body.decisions}
    expected = {load.id for load in loads}
    if set(decisions) - expected:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                f"chargements absents de cet arrêt : {sorted(set(decisions) - expected)}",
                f"loads not at this stop: {sorted(set(decisions) - expected)}",
            ),
        )
    if expected - set(decisions):
        raise ApiError(
            422,
            "handover_incomplete",
            missing=", ".join(map(str, sorted(expected - set(decisions)))),
        )
    if any(not d.accepted and not d.reason for d in decisions.values()):
        raise ApiError(422, "refusal_needs_reason")
    handover = Handover(
        stop_id=stop.id,
        at=at,
        recorded_by_id=user_id,
        receiver_name=body.receiver_name,
        core_temperature_c=body.core_temperature_c,
    )
    session.add(handover)
    flush(session, Both("cet arrêt a déjà été remis", "this stop was already handed over"))
    for zone_id in sorted({load.zone_id for load in loads}):
        reading = zone_temperature(session, store, zone_id, at, READING_MAX_AGE)
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
    return handover


def close(session: Session, delivery: Delivery, body: CloseIn, user_id: int, now: datetime) -> None:
    """Close after the last handover; the delivery's van readings end here for its viewers."""
    require_status(session, delivery, DeliveryStatus.DEPARTED)
    at = body.closed_at or now
    last = session.scalar(select(func.max(Stop.actual_at)).where(Stop.delivery_id == delivery.id))
    if at > now + CLOCK_SKEW or (last is not None and at < last):
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "closed_at : après la dernière remise et pas dans le futur",
                "closed_at: after the last handover and not in the future",
            ),
        )
    pending = session.scalars(
        select(Stop.sequence)
        .where(Stop.delivery_id == delivery.id, Stop.actual_at.is_(None))
        .order_by(Stop.sequence)
    ).all()
    if pending:
        raise ApiError(409, "stops_pending", pending=", ".join(map(str, pending)))
    delivery.status = DeliveryStatus.CLOSED
    delivery.closed_at = at
    delivery.closed_by_id = user_id
