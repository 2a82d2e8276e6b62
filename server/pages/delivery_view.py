"""What the delivery page shows, gathered from the domain's one reading of the delivery
(server/domain/deliveries.py `file_of`: stops, loads, departure checks, handovers) plus the
names people read (van, zones, producers, categories) and, before departure, each loaded
zone's limit and reading as the departure check itself will take them. Which stop is next
and which loads are on board there are the domain's rules (`DeliveryFile`), not the page's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from server.core.models import DeliveryStatus, Load, LoadDecision, Organisation, Stop, User, Van
from server.domain import categories, deliveries
from server.domain.deliveries import DeliveryFile, HandedOver
from server.domain.fleet import zones_of
from server.domain.place_readings import PlaceReading


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
    file: DeliveryFile
    van: Van
    driver_name: str
    zones: dict[int, str]
    consignors: dict[int, str]
    category_names: dict[str, str]
    may_operate: bool
    to_check: list[ZoneToCheck]
    decisions: dict[tuple[int, int], LoadDecision]  # (load, stop) -> decision
    next_stop: Stop | None
    next_loads: list[tuple[Load, bool]]  # (load, on board)
    all_handed_over: bool

    @property
    def handovers(self) -> dict[int, HandedOver]:  # by stop
        return self.file.handovers

    def stop(self, stop_id: int) -> Stop | None:
        return self.file.stop(stop_id)

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
    file: DeliveryFile,
    viewer_may: bool,
    now: datetime,
    lang: str,
) -> DeliveryView:
    delivery = file.delivery
    van = session.get(Van, delivery.van_id)
    driver = session.get(User, delivery.driver_id)
    assert van is not None and driver is not None  # foreign keys
    zones = {z.id: z.name for z in session.scalars(zones_of(van))}
    consignor_ids = {load.consignor_id for load in file.loads}
    consignors = {
        o.id: o.name
        for o in session.scalars(select(Organisation).where(Organisation.id.in_(consignor_ids)))
    }
    profiles = categories.profiles()
    category_names = {code: categories.name(code, lang) for code in profiles}
    to_check = []
    if delivery.status == DeliveryStatus.PLANNED:
        for zone_id, limit in sorted(deliveries.zone_limits(file.loads).items()):
            reading = deliveries.reading_now(session, store, zone_id, now)  # the check's default
            to_check.append(ZoneToCheck(zone_id, zones.get(zone_id, "?"), limit, reading))
    departed = delivery.status == DeliveryStatus.DEPARTED
    next_stop = file.next_stop() if departed else None
    return DeliveryView(
        file=file,
        van=van,
        driver_name=driver.full_name,
        zones=zones,
        consignors=consignors,
        category_names=category_names,
        may_operate=viewer_may,
        to_check=to_check,
        decisions={
            (d.load_id, stop_id): d
            for stop_id, done in file.handovers.items()
            for d in done.decisions
        },
        next_stop=next_stop,
        next_loads=file.loads_at(next_stop) if next_stop is not None else [],
        all_handed_over=departed and next_stop is None,
    )
