"""Deliveries: plan (stops, loads), depart, hand over at each stop, close. The rules:
server/domain/deliveries.py; closing also seals the record (server/records/sealing.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.api.paging import PagingDep, paginate
from server.core.access import get_visible, visible_deliveries, visible_loads
from server.core.deps import SessionDep, StoreDep, ViewerDep
from server.core.models import Delivery, DeliveryStatus, Load, utcnow
from server.domain import deliveries
from server.records.sealing import close_and_seal
from server.schemas.common import Day, IdPath, Page, ShortText
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

router = APIRouter(tags=["deliveries"])


@router.post("/deliveries", status_code=201)
def create_delivery(body: DeliveryIn, viewer: ViewerDep, session: SessionDep) -> DeliveryOut:
    """Plan a delivery: cooperative, van (from its pool), driver, date."""
    delivery = deliveries.plan(
        session,
        viewer,
        cooperative_id=body.cooperative_id,
        van_id=body.van_id,
        driver_id=body.driver_id,
        day=body.day,
    )
    return DeliveryOut.model_validate(delivery)


@router.get("/deliveries")
def list_deliveries(
    viewer: ViewerDep,
    session: SessionDep,
    page: PagingDep,
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
    """The delivery as the API shows it, from the domain's one reading of it."""
    file = deliveries.file_of(session, delivery)
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery).model_dump(),
        stops=[StopOut.model_validate(s) for s in file.stops],
        loads=[LoadOut.model_validate(load) for load in file.loads],
        departure_checks=[DepartureCheckOut.model_validate(c) for c in file.departure_checks],
        handovers=[
            HandoverOut(
                id=done.handover.id,
                stop_id=done.handover.stop_id,
                at=done.handover.at,
                receiver_name=done.handover.receiver_name,
                core_temperature_c=done.handover.core_temperature_c,
                zone_temperatures=[
                    ZoneTemperatureOut.model_validate(t) for t in done.zone_temperatures
                ],
                decisions=[LoadDecisionOut.model_validate(d) for d in done.decisions],
            )
            for done in file.handovers.values()
        ],
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
    return StopOut.model_validate(deliveries.add_stop(session, viewer, delivery_id, body))


@router.post(
    "/deliveries/{delivery_id}/loads",
    status_code=201,
)
def add_load(delivery_id: IdPath, body: LoadIn, viewer: ViewerDep, session: SessionDep) -> LoadOut:
    """Add a lot to a planned delivery (931/2011 traceability fields, category, zone, stops)."""
    return LoadOut.model_validate(deliveries.add_load(session, viewer, delivery_id, body))


@router.post("/deliveries/{delivery_id}/departure")
def depart(
    delivery_id: IdPath, body: DepartureIn, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> DeliveryDetail:
    """Departure check: every loaded zone pre-cooled below its limit (from the readings,
    or the temperature the driver measured), then the delivery is on its way."""
    delivery = deliveries.depart(session, store, viewer, delivery_id, body, utcnow())
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
    """Record the handover at the next stop (stops are handed over in their order): time,
    zone temperatures from the readings, core temperature (hand thermometer), each load
    accepted or refused (with a reason)."""
    delivery = deliveries.hand_over(session, store, viewer, delivery_id, stop_id, body, utcnow())
    return detail(session, delivery)


@router.post("/deliveries/{delivery_id}/close")
def close(
    delivery_id: IdPath, body: CloseIn, viewer: ViewerDep, session: SessionDep, store: StoreDep
) -> DeliveryDetail:
    """Close the delivery once every stop is handed over, and seal its HACCP record."""
    delivery = close_and_seal(session, store, viewer, delivery_id, body.closed_at, utcnow())
    return detail(session, delivery)


@router.get("/loads")
def list_loads(
    viewer: ViewerDep,
    session: SessionDep,
    page: PagingDep,
    lot_reference: Annotated[ShortText | None, Query()] = None,
) -> Page[LoadOut]:
    """Lots the caller may see: a producer sees their own, staff their cooperative's."""
    query = select(Load).where(visible_loads(viewer))
    if lot_reference:
        query = query.where(Load.lot_reference == lot_reference)
    return paginate(session, query.order_by(Load.id), page, LoadOut)
