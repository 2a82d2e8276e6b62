"""The producer's « Mes lots » page: the deliveries that carried their lots, newest first,
and how each lot was kept.

A sealed delivery shows the producer's extract of its newest record version
(server/records/producer_extract.py: verdict, min / max / mean while on board, time above
the limit) with a link to the extract's PDF. A delivery not sealed yet shows « en cours »
and what the producer may see live: their lot's state (waiting, on board, delivered,
refused) and the van zone's readings only while that lot was on board (docs/domain.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from server.core.access import Interval
from server.core.deps import SessionDep, StoreDep
from server.core.models import Delivery, Load, Organisation, Role, Van, utcnow
from server.core.models.records import SealedRecord
from server.domain.categories import profiles
from server.domain.deliveries import DeliveryFile, file_of
from server.domain.place_readings import Place, series, to_ms
from server.pages import i18n
from server.pages.home_pages import role_page
from server.pages.web import NavLink, Visitor, render
from server.records.document import judged_channel
from server.records.producer_extract import Seal, consignors_of, extract
from server.records.timefmt import parse
from server.records.verdict import Point, limit_of, rule_in, statistics
from server.records.wording import Words

router = APIRouter(include_in_schema=False)
NAV = (NavLink(Role.PRODUCER, "/lots", "my_lots"),)

PER_PAGE = 10  # deliveries per page
ICONS = {"conforme": "✓", "ecart_tolere": "▲", "non_conforme": "✖", "en_cours": "◷"}
STATUS_CLASS = {
    "conforme": "ok",
    "ecart_tolere": "warning",
    "non_conforme": "over",
    "en_cours": "none",
}


@dataclass
class LotRow:
    reference: str
    description: str
    quantity: str
    unit: str
    consignee: str
    max_c: float | None
    min_c: float | None
    on_board_from: datetime | None
    on_board_until: datetime | None
    stats: dict[str, Any]
    verdict: str  # conforme, ecart_tolere, non_conforme, en_cours
    rule: str | None = None  # sealed only: the verdict's rule in the page's language
    state: str | None = None  # live only: lots_waiting, lots_on_board_since, ...
    state_at: datetime | None = None
    latest: float | None = None
    latest_at: datetime | None = None

    @property
    def icon(self) -> str:
        return ICONS[self.verdict]

    @property
    def css(self) -> str:
        return STATUS_CLASS[self.verdict]


@dataclass
class DeliveryCard:
    delivery: Delivery
    van: Van
    cooperative: str
    record: SealedRecord | None
    lots: list[LotRow] = field(default_factory=list)
    pdfs: list[str] = field(default_factory=list)


def page_number(raw: str | None) -> int:
    """?page=N; anything else is the first page (a page list, not an error worth a 422)."""
    try:
        return max(1, min(int(raw or "1"), 10_000))
    except ValueError:
        return 1


@router.get("/lots", response_class=HTMLResponse)
def my_lots(request: Request, session: SessionDep, store: StoreDep) -> Response:
    visit = role_page(request, session, Role.PRODUCER)
    page = page_number(request.query_params.get("page"))
    mine = select(Load.delivery_id).where(Load.consignor_id.in_(visit.viewer.producers))
    rows = session.execute(
        select(Delivery, Van, Organisation)
        .join(Van, Van.id == Delivery.van_id)
        .join(Organisation, Organisation.id == Delivery.cooperative_id)
        .where(Delivery.id.in_(mine))
        .order_by(Delivery.day.desc(), Delivery.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    ).all()
    lang = i18n.page_language(request)
    cards = [
        card(session, store, visit, d, van, coop.name, lang) for d, van, coop in rows[:PER_PAGE]
    ]
    return render(request, "lots.html", visit, cards=cards, page=page, more=len(rows) > PER_PAGE)


def card(
    session: Session,
    store: ReadingStore,
    visit: Visitor,
    delivery: Delivery,
    van: Van,
    coop: str,
    lang: str,
) -> DeliveryCard:
    record = session.scalar(
        select(SealedRecord)
        .where(SealedRecord.delivery_id == delivery.id)
        .order_by(SealedRecord.version.desc())
        .limit(1)
    )
    out = DeliveryCard(delivery, van, coop, record)
    if record is None:
        out.lots = live_lots(session, store, visit, delivery)
        return out
    doc = json.loads(record.document)
    consignors = consignors_of(session, doc)
    for producer_id in sorted(visit.viewer.producers & set(consignors.values())):
        content = extract(doc, Seal.of(record), producer_id, consignors)
        out.lots += [sealed_row(load, lang) for load in content["loads"]]
        out.pdfs.append(
            f"/api/v1/records/{record.id}/producer-extract.pdf?producer_id={producer_id}"
        )
    return out


def sealed_row(load: dict[str, Any], lang: str) -> LotRow:
    return LotRow(
        reference=load["lot_reference"],
        description=load["description"],
        quantity=load["quantity"],
        unit=load["unit"],
        consignee=load["consignee"],
        max_c=load["limit"]["max_c"],
        min_c=load["limit"]["min_c"],
        on_board_from=parse(load["on_board_from"]),
        on_board_until=parse(load["on_board_until"]),
        stats=load["stats"],
        verdict=load["verdict"]["code"],
        rule=rule_in(load, Words(lang)),
    )


def live_lots(
    session: Session, store: ReadingStore, visit: Visitor, delivery: Delivery
) -> list[LotRow]:
    """The viewer's lots of a delivery not sealed yet, with the readings of their zone
    while each was on board (the same window access.on_board_windows grants)."""
    now = utcnow()
    file = file_of(session, delivery)
    rows = []
    for load in file.loads:
        if load.consignor_id not in visit.viewer.producers:
            continue  # nothing of other producers' lots
        span = file.on_board(load, delivery.closed_at or now)
        limit = limit_of(profiles(), load.category, load.label_max_c)
        points: list[Point] = []
        if span is not None:
            window: Interval = span
            place = Place(zone_id=load.zone_id)
            readings = series(session, store, place, [window], span[0], span[1])
            channel = judged_channel(readings)
            points = [
                Point(to_ms(r.time), r.value)
                for r in readings
                if r.channel == channel and r.value is not None
            ]
        state, state_at = live_state(load, file, span)
        row = LotRow(
            reference=load.lot_reference,
            description=load.description,
            quantity=f"{load.quantity:.3f}",
            unit=load.unit,
            consignee=load.consignee,
            max_c=limit["max_c"],
            min_c=limit["min_c"],
            on_board_from=span[0] if span else None,
            on_board_until=span[1] if span and (delivery.closed_at or dropped(state)) else None,
            stats=statistics(points, limit),
            verdict="en_cours",
            state=state,
            state_at=state_at,
        )
        if points:
            last = points[-1]
            row.latest = last.value
            row.latest_at = datetime.fromtimestamp(last.time_ms / 1000, now.tzinfo)
        rows.append(row)
    return rows


def dropped(state: str) -> bool:
    return state in ("lots_delivered_at", "lots_refused_drop")


def live_state(
    load: Load, file: DeliveryFile, span: tuple[datetime, datetime] | None
) -> tuple[str, datetime | None]:
    """Where the lot is: a word of server/pages/lot_words.py and its time."""
    picked, dropped = file.handovers.get(load.pickup_stop_id), file.handovers.get(load.drop_stop_id)
    closed_at = file.delivery.closed_at
    if picked is None:
        return "lots_waiting", None
    if span is None:
        return "lots_refused_pickup", picked.handover.at
    if dropped is None:
        if closed_at is not None:
            return "lots_back_at_close", closed_at
        return "lots_on_board_since", picked.handover.at
    decision = file.decision(load.id, load.drop_stop_id)
    if decision is not None and decision.accepted:
        return "lots_delivered_at", dropped.handover.at
    return "lots_refused_drop", dropped.handover.at
