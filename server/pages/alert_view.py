"""What an alert's page shows around the alert itself, for the hygiene officer who reviews
it: its delivery and the newest version of that delivery's sealed record (and whether the
corrective action is in it yet), a chart of the excursion with the limit in force over
time (server/pages/charts.py), and the lots on board with their own limits and the decision
taken for each. Visibility is server/core/access.py's: what the visitor may not see is not
shown (a producer sees the alert of their lot, not the delivery)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.limits import ZoneLimit, limit_for_category, timeline_for_lots
from coldchain.readingstore.base import ReadingStore
from server.alerting.places import lots_on_board, zone_key
from server.alerting.schemas import AlertDetailOut, LotDecisionOut
from server.core.access import Interval, Viewer, cold_room_windows, get_visible, zone_windows
from server.core.errors import ApiError
from server.core.models import ColdRoom, Delivery, Load, Van
from server.core.models.alerts import Alert, Decision
from server.core.models.records import SealedRecord
from server.domain import categories
from server.domain.categories import profiles
from server.domain.place_readings import Place, from_ms, to_ms
from server.domain.place_readings import series as readings_of
from server.pages.charts import LimitStep, svg_chart
from server.records.sealing import latest_version

AROUND = timedelta(minutes=30)  # the chart shows this much before and after the excursion

# The decisions the officer chooses from after an excursion, in the order offered (none is
# chosen beforehand): release only after a core-temperature check (server/alerting/actions.py
# `check_release`), downgrade (shorter shelf life, or another use), destroy, return to the
# producer, send back.
DECISIONS = (
    Decision.RELEASE,
    Decision.SHORTEN_SHELF_LIFE,
    Decision.REDIRECT,
    Decision.DESTROY,
    Decision.RETURN_TO_PRODUCER,
    Decision.REJECT,
)


@dataclass(frozen=True)
class LotOnBoard:
    load_id: int
    reference: str
    description: str
    quantity: str
    unit: str
    producer: str
    consignee: str
    category: str  # its name in the page's language
    limit: ZoneLimit  # the lot's own (category, label), in transport
    on_board: datetime | None
    off_board: datetime | None
    decision: LotDecisionOut | None


@dataclass(frozen=True)
class AlertView:
    delivery: Delivery | None  # when the visitor may see it
    van: Van | None
    record: SealedRecord | None  # the newest version of the delivery's sealed record
    action_sealed: bool  # that version holds this alert's corrective action
    chart: str | None
    chart_from: datetime | None
    chart_to: datetime | None
    lots: list[LotOnBoard]


def view(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    alert: Alert,
    detail: AlertDetailOut,
    empty_zone_category: str,
    now: datetime,
    lang: str,
    title: str,
) -> AlertView:
    delivery = van = None
    if alert.delivery_id is not None:
        try:
            delivery = get_visible(session, viewer, Delivery, alert.delivery_id)
        except ApiError:
            delivery = None
    if delivery is not None:
        van = session.get(Van, delivery.van_id)
    record = latest_version(session, delivery.id) if delivery is not None else None
    chart, start, end = _chart(session, store, viewer, alert, empty_zone_category, now, lang, title)
    return AlertView(
        delivery,
        van,
        record,
        record is not None and _holds_action(record, alert),
        chart,
        start,
        end,
        _lots(session, alert, detail, lang),
    )


def _holds_action(record: SealedRecord, alert: Alert) -> bool:
    """The record's alert log has this alert with its corrective action."""
    document = json.loads(record.document)
    for entry in document.get("alerts", []):
        if entry.get("uid") == alert.uid:
            return entry.get("corrective_action") is not None
    return False


def _chart(
    session: Session,
    store: ReadingStore,
    viewer: Viewer,
    alert: Alert,
    empty_zone_category: str,
    now: datetime,
    lang: str,
    title: str,
) -> tuple[str | None, datetime | None, datetime | None]:
    """The place's readings from half an hour before the excursion to half an hour after
    it (or now), the limit in force over that span (a van zone's follows its lots on board:
    alerts/limits.py `timeline_for_lots`, as the engine judged), the excursion shaded."""
    over = alert.end_at or max(alert.last_out_at, min(now, alert.last_out_at + AROUND))
    start, end = alert.start_at - AROUND, min(now, over + AROUND)
    end = max(end, alert.start_at + timedelta(minutes=1))
    windows: list[Interval]
    try:
        if alert.zone_id is not None:
            place = Place(zone_id=alert.zone_id)
            windows = zone_windows(session, viewer, alert.zone_id)
            lots = lots_on_board(session).get(zone_key(alert.zone_id), [])
            timeline = timeline_for_lots(profiles(), lots, empty_zone_category)
            steps = []
            bounds = [*timeline.starts[1:], 2**62]
            for begin_ms, until_ms, limit in zip(
                timeline.starts, bounds, timeline.limits, strict=True
            ):
                if until_ms > to_ms(start) and begin_ms < to_ms(end):
                    steps.append(
                        LimitStep(
                            max(start, from_ms(max(begin_ms, 0))),
                            min(end, from_ms(min(until_ms, to_ms(end)))),
                            limit.max_c,
                            limit.min_c,
                        )
                    )
        elif alert.cold_room_id is not None:
            place = Place(cold_room_id=alert.cold_room_id)
            windows = cold_room_windows(session, viewer, alert.cold_room_id)
            room = session.get(ColdRoom, alert.cold_room_id)
            if room is None:
                return None, None, None
            limit = limit_for_category(profiles(), room.category, room.label_max_c)
            steps = [LimitStep(start, end, limit.max_c, limit.min_c)]
        else:
            return None, None, None
    except ApiError:
        return None, None, None  # none of the place's readings are the visitor's
    readings = readings_of(session, store, place, windows, start, end)
    shade = (alert.start_at, alert.end_at or alert.last_out_at)
    svg = svg_chart(readings, start, end, None, lang, title, steps=steps, shade=shade)
    return svg, start, end


def _lots(session: Session, alert: Alert, detail: AlertDetailOut, lang: str) -> list[LotOnBoard]:
    """The alert's lots (on board during the excursion, as the engine said), each with its
    own limit, when it was on board (the handovers), and the decision taken for it."""
    decided = {}
    if detail.corrective_action is not None:
        decided = {d.load_id: d for d in detail.corrective_action.lot_decisions}
    loads = {
        load.id: load
        for load in session.scalars(
            select(Load).where(Load.id.in_([x.load_id for x in detail.lots]))
        )
    }
    on_board = {}
    if alert.zone_id is not None:
        on_board = {
            lot.lot_id: lot for lot in lots_on_board(session).get(zone_key(alert.zone_id), [])
        }
    out = []
    for lot in detail.lots:
        load = loads[lot.load_id]
        name = categories.name(load.category, lang)
        when = on_board.get(str(load.id))
        out.append(
            LotOnBoard(
                lot.load_id,
                lot.lot_reference,
                lot.description,
                lot.quantity,
                lot.unit,
                lot.consignor_name,
                lot.consignee,
                name,
                limit_for_category(profiles(), load.category, load.label_max_c, True),
                from_ms(when.on_ms) if when is not None else None,
                from_ms(when.off_ms) if when is not None and when.off_ms is not None else None,
                decided.get(lot.load_id),
            )
        )
    return out
