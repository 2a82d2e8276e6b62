"""What the delivery page shows, gathered from the API's own reading of the delivery
(server/api/deliveries.py `read_delivery`) plus the names people read (van, zones,
producers, categories) and, before departure, each loaded zone's limit and reading as the
departure check itself will take them (server/domain/deliveries.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from server.core.models import Delivery, DeliveryStatus, Organisation, Stop, User, Van, Zone
from server.domain import categories
from server.domain import deliveries as lifecycle
from server.domain.place_readings import PlaceReading, zone_temperature
from server.schemas.deliveries import DeliveryDetail, HandoverOut, LoadDecisionOut, LoadOut, StopOut


@dataclass(frozen=True)
class ZoneToCheck:
    id: int
    name: str
    limit_c: float
    reading: PlaceReading | None  # what the check takes if the driver types nothing


@dataclass
class Problems:
    """A refused form: which one, what was typed, errors by field and for the whole form."""

    form: str  # "departure", "handover", "close"
    values: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    stop_id: int | None = None


@dataclass
class DeliveryView:
    detail: DeliveryDetail
    van: Van
    driver_name: str
    zones: dict[int, str]
    consignors: dict[int, str]
    category_names: dict[str, str]
    may_operate: bool
    to_check: list[ZoneToCheck]
    handovers: dict[int, HandoverOut]  # by stop
    decisions: dict[tuple[int, int], LoadDecisionOut]  # (load, stop) -> decision
    next_stop: StopOut | None
    next_loads: list[tuple[LoadOut, bool]]  # (load, still on board)
    all_handed_over: bool

    def stop(self, stop_id: int) -> StopOut | None:
        return next((s for s in self.detail.stops if s.id == stop_id), None)

    def drawn_fields(self, problems: Problems) -> set[str]:
        """The fields of `problems.form` this page draws (their errors go next to them)."""
        if not self.may_operate:
            return set()
        if problems.form == "departure":
            return {f"temperature_{z.id}" for z in self.to_check}
        if problems.form == "handover" and self.next_stop is not None:
            if problems.stop_id != self.next_stop.id:
                return set()
            aboard = [load.id for load, on in self.next_loads if on]
            return {"receiver_name", "core_temperature_c"} | {
                f"{kind}_{load_id}" for load_id in aboard for kind in ("decision", "reason")
            }
        return set()


def build(
    session: Session,
    store: ReadingStore,
    detail: DeliveryDetail,
    delivery: Delivery,
    viewer_may: bool,
    now: datetime,
    lang: str,
) -> DeliveryView:
    van = session.get(Van, detail.van_id)
    driver = session.get(User, detail.driver_id)
    assert van is not None and driver is not None  # foreign keys
    zones = {z.id: z.name for z in session.scalars(select(Zone).where(Zone.van_id == van.id))}
    consignor_ids = {load.consignor_id for load in detail.loads}
    consignors = {
        o.id: o.name
        for o in session.scalars(select(Organisation).where(Organisation.id.in_(consignor_ids)))
    }
    profiles = categories.profiles()
    category_names = {
        code: (p.name_en if lang == "en" else p.name_fr) for code, p in profiles.items()
    }
    to_check = []
    if detail.status == DeliveryStatus.PLANNED:
        for zone_id, limit in sorted(lifecycle.zone_limits(session, delivery).items()):
            reading = zone_temperature(session, store, zone_id, now, lifecycle.READING_MAX_AGE)
            usable = reading if reading is not None and reading.value is not None else None
            to_check.append(ZoneToCheck(zone_id, zones.get(zone_id, "?"), limit, usable))
    handovers = {h.stop_id: h for h in detail.handovers}
    decisions = {(d.load_id, h.stop_id): d for h in detail.handovers for d in h.decisions}
    next_stop = None
    next_loads: list[tuple[LoadOut, bool]] = []
    if detail.status == DeliveryStatus.DEPARTED:
        # The stops in their order: the form is at the first one not handed over yet.
        next_stop = next((s for s in detail.stops if s.id not in handovers), None)
    if next_stop is not None:
        stop = session.get(Stop, next_stop.id)
        assert stop is not None  # read in the same session
        to_decide = {load.id for load in lifecycle.loads_to_hand_over(session, stop)}
        for load in detail.loads:
            here = load.pickup_stop_id if next_stop.kind == "pickup" else load.drop_stop_id
            if here == next_stop.id:  # shown either way; a load not on board says so
                next_loads.append((load, load.id in to_decide))
    return DeliveryView(
        detail=detail,
        van=van,
        driver_name=driver.full_name,
        zones=zones,
        consignors=consignors,
        category_names=category_names,
        may_operate=viewer_may,
        to_check=to_check,
        handovers=handovers,
        decisions=decisions,
        next_stop=next_stop,
        next_loads=next_loads,
        all_handed_over=detail.status == DeliveryStatus.DEPARTED
        and all(s.id in handovers for s in detail.stops),
    )
