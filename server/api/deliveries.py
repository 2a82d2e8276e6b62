"""Deliveries: plan (stops, loads), depart, hand over at each stop, close."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.access import (
    can_operate,
    can_plan,
    can_use_van,
    get_visible,
    require,
    visible_deliveries,
    visible_loads,
)
from server.core.crud import commit, paginate
from server.core.db import WRITE
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.errors import ApiError, Both
from server.core.models import (
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
    Van,
    utcnow,
)
from server.domain import categories
from server.domain import deliveries as lifecycle
from server.records.sealing import seal
from server.schemas.common import Day, IdPath, Page, Paging, ShortText, paging
from server.schemas.deliveries import (
    CloseIn,
    DeliveryDetail,
    DeliveryIn,
    DeliveryOut,
    DepartureCheckOut,
    DepartureIn,
    HandoverIn,
    HandoverOut,
    LoadDecisionOut,
    LoadIn,
    LoadOut,
    StopIn,
    StopOut,
    ZoneTemperatureOut,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["deliveries"])


@router.post("/deliveries", status_code=201)
def create_delivery(body: DeliveryIn, viewer: ViewerDep, session: SessionDep) -> DeliveryOut:
    """Plan a delivery: cooperative, van (from its pool), driver, date."""
    require(viewer.has(body.cooperative_id, Role.ADMIN, Role.HYGIENE_OFFICER))
    van = session.get(Van, body.van_id)
    if van is None or not can_use_van(session, body.cooperative_id, van):
        raise ApiError(404, "not_found")
    driver = session.scalar(
        select(Membership.id).where(
            Membership.user_id == body.driver_id,
            Membership.organisation_id == body.cooperative_id,
            Membership.role == Role.DRIVER,
        )
    )
    if driver is None:
        raise ApiError(
            422,
            "validation_error",
            detail=Both(
                "driver_id : pas un chauffeur de la coopérative",
                "driver_id: not a driver of the cooperative",
            ),
        )
    delivery = Delivery(**body.model_dump(), status=DeliveryStatus.PLANNED)
    session.add(delivery)
    commit(session, Both("livraison", "delivery"))
    return DeliveryOut.model_validate(delivery)


@router.get("/deliveries")
def list_deliveries(
    viewer: ViewerDep,
    session: SessionDep,
    page: Annotated[Paging, Depends(paging)],
    day: Annotated[Day | None, Query()] = None,
    status: Annotated[DeliveryStatus | None, Query()] = None,
) -> Page[DeliveryOut]:
    """Deliveries the caller may see, newest day first; filter by day or status."""
    query = select(Delivery).where(visible_deliveries(viewer))
    if day is not None:
        query = query.where(Delivery.day == day)
    if status is not None:
        query = query.where(Delivery.status == status)
    return paginate(session, query.order_by(Delivery.day.desc(), Delivery.id), page, DeliveryOut)


def detail(session: Session, delivery: Delivery) -> DeliveryDetail:
    stops = session.scalars(
        select(Stop).where(Stop.delivery_id == delivery.id).order_by(Stop.sequence)
    ).all()
    loads = session.scalars(
        select(Load).where(Load.delivery_id == delivery.id).order_by(Load.id)
    ).all()
    checks = session.scalars(
        select(DepartureCheck).where(DepartureCheck.delivery_id == delivery.id)
    ).all()
    handovers = []
    for handover in session.scalars(
        select(Handover).where(Handover.stop_id.in_([s.id for s in stops])).order_by(Handover.at)
    ):
        temps = session.scalars(
            select(HandoverZoneTemperature).where(
                HandoverZoneTemperature.handover_id == handover.id
            )
        )
        decisions = session.scalars(
            select(LoadDecision).where(LoadDecision.handover_id == handover.id)
        )
        handovers.append(
            HandoverOut(
                id=handover.id,
                stop_id=handover.stop_id,
                at=handover.at,
                receiver_name=handover.receiver_name,
                core_temperature_c=handover.core_temperature_c,
                zone_temperatures=[ZoneTemperatureOut.model_validate(t) for t in temps],
                decisions=[LoadDecisionOut.model_validate(d) for d in decisions],
            )
        )
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery).model_dump(),
        stops=[StopOut.model_validate(s) for s in stops],
        loads=[LoadOut.model_validate(load) for load in loads],
        departure_checks=[DepartureCheckOut.model_validate(c) for c in checks],
        handovers=handovers,
    )


@router.get("/deliveries/{delivery_id}")
def read_delivery(delivery_id: IdPath, viewer: ViewerDep, session: SessionDep) -> DeliveryDetail:
    """A delivery with its stops, loads, departure checks and handovers."""
    return detail(session, get_visible(session, viewer, Delivery, delivery_id))


@router.post(
    "/deliveries/{delivery_id}/stops",
    status_code=201,
)
def add_stop(delivery_id: IdPath, body: StopIn, viewer: ViewerDep, session: SessionDep) -> StopOut:
    """Add a pickup (at a cold room) or a drop (shop, restaurant, canteen) to a planned delivery."""
    delivery = get_visible(session, viewer, Delivery, delivery_id)
    require(can_plan(viewer, delivery))
    stop = lifecycle.add_stop(session, delivery, body)
    commit(session, Both("arrêt", "stop"))
    return StopOut.model_validate(stop)


@router.post(
    "/deliveries/{delivery_id}/loads",
    status_code=201,
)
def add_load(delivery_id: IdPath, body: LoadIn, viewer: ViewerDep, session: SessionDep) -> LoadOut:
    """Add a lot to a planned delivery (931/2011 traceability fields, category, zone, stops)."""
    delivery = get_visible(session, viewer, Delivery, delivery_id)
    require(can_plan(viewer, delivery))
    load = lifecycle.add_load(session, delivery, body)
    commit(session, Both("chargement", "load"))
    return LoadOut.model_validate(load)


@router.post("/deliveries/{delivery_id}/departure")
def depart(
    delivery_id: IdPath, body: DepartureIn, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> DeliveryDetail:
    """Departure check: every loaded zone pre-cooled below its limit (from the readings,
    or the temperature the driver measured), then the delivery is on its way."""
    delivery = get_visible(session, viewer, Delivery, delivery_id)
    require(can_operate(viewer, delivery))
    lifecycle.depart(session, store, delivery, body, viewer.user_id, utcnow())
    commit(session, Both("contrôle au départ", "departure check"))
    return detail(session, delivery)


@router.post(
    "/deliveries/{delivery_id}/stops/{stop_id}/handover",
    status_code=201,
)
def hand_over(
    delivery_id: IdPath,
    stop_id: IdPath,
    body: HandoverIn,
    viewer: ViewerDep,
    session: SessionDep,
    store: StoreDep,
) -> DeliveryDetail:
    """Record the handover at a stop: time, zone temperatures from the readings, core
    temperature (hand thermometer), each load accepted or refused (with a reason)."""
    delivery = get_visible(session, viewer, Delivery, delivery_id)
    require(can_operate(viewer, delivery))
    stop = session.get(Stop, stop_id)
    if stop is None or stop.delivery_id != delivery.id:
        raise ApiError(404, "not_found")
    lifecycle.hand_over(session, store, delivery, stop, body, viewer.user_id, utcnow())
    commit(session, Both("remise", "handover"))
    return detail(session, delivery)


@router.post("/deliveries/{delivery_id}/close")
def close(
    delivery_id: IdPath, body: CloseIn, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> DeliveryDetail:
    """Close the delivery once every stop is handed over, and seal its HACCP record."""
    delivery = get_visible(session, viewer, Delivery, delivery_id)
    require(can_operate(viewer, delivery))
    lifecycle.close(session, delivery, body, viewer.user_id, utcnow())
    commit(session, Both("clôture", "closing"))
    try:
        # A new transaction: on SQLite it must take the write lock first (server/core/db.py WRITE),
        # or its insert fails at once when another process wrote since it read.
        session.connection(execution_options={WRITE: True})
        if seal(session, store, delivery, categories.profiles(), utcnow()) is not None:
            session.commit()
    except Exception:
        # The delivery stays closed; the sealing timer (server/records/sealing_timer.py) seals it.
        session.rollback()
        log.exception("sealing delivery %d at close failed; left to the sealing timer", delivery.id)
    return detail(session, delivery)


@router.get("/loads")
def list_loads(
    viewer: ViewerDep,
    session: SessionDep,
    page: Annotated[Paging, Depends(paging)],
    lot_reference: Annotated[ShortText | None, Query()] = None,
) -> Page[LoadOut]:
    """Lots the caller may see: a producer sees their own, staff their cooperative's."""
    query = select(Load).where(visible_loads(viewer))
    if lot_reference:
        query = query.where(Load.lot_reference == lot_reference)
    return paginate(session, query.order_by(Load.id), page, LoadOut)
