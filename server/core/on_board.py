"""When a load is on board its zone — the one rule the alert worker's limits (lots on board,
server/alerting/places.py) and a producer's view of a shared van (server/core/access.py)
both follow: from the pickup handover, if the load was accepted there, until the drop
handover if it was accepted there, else (refused at the drop and brought back) until the
delivery closed; None while it is still on board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from server.core.models import Delivery, Handover, Load, LoadDecision, Stop


@dataclass(frozen=True)
class Aboard:
    load: Load
    on: datetime
    off: datetime | None  # None: still on board


def aboard(session: Session, *where: ColumnElement[bool]) -> list[Aboard]:
    """The loads (filtered by `where`, on `Load`) that have been on board, with when."""
    pickup, drop = aliased(Stop), aliased(Stop)
    rows = session.execute(
        select(Load, Delivery, pickup, drop)
        .join(Delivery, Delivery.id == Load.delivery_id)
        .join(pickup, pickup.id == Load.pickup_stop_id)
        .join(drop, drop.id == Load.drop_stop_id)
        .where(pickup.actual_at.is_not(None), *where)
    ).all()
    accepted = {
        (decision.load_id, handover.stop_id): decision.accepted
        for decision, handover in session.execute(
            select(LoadDecision, Handover)
            .join(Handover, Handover.id == LoadDecision.handover_id)
            .where(LoadDecision.load_id.in_(select(Load.id).where(*where)))
        )
    }
    out: list[Aboard] = []
    for load, delivery, pickup_stop, drop_stop in rows:
        if pickup_stop.actual_at is None or not accepted.get((load.id, pickup_stop.id)):
            continue  # not loaded (yet, or refused at pickup): never on board
        if drop_stop.actual_at is not None and accepted.get((load.id, drop_stop.id)):
            out.append(Aboard(load, pickup_stop.actual_at, drop_stop.actual_at))
        else:  # still on board, or refused at the drop and brought back until closing
            out.append(Aboard(load, pickup_stop.actual_at, delivery.closed_at))
    return out
