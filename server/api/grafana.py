"""What Grafana needs from the registry (docs/grafana.md): the places a user sees with their
probes, the limit in force at a place over a period, and the alerts as annotations.

Grafana reads the readings from the reading store itself (InfluxQL); where a probe is, which
limit holds and which alerts were raised live here, in the server's database. Thin routes:
what a user sees is server/domain/fleet.py `seen_by` and server/alerting/visibility.py, the
limit is alerts/limits.py (a van zone's follows its lots on board, as the rules engine
judges), an alert's text is the engine's (server/alerting/texts.py `alert_text`: stored in
French and English, made in Dutch from the stored event).
Times are milliseconds since the epoch, as Grafana's `${__from}` and `${__to}` give them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from alerts.limits import LimitTimeline, limit_for_category, timeline_for_lots
from server.alerting.places import cold_room_key, lots_on_board, parse_key, zone_key
from server.alerting.texts import alert_text
from server.alerting.visibility import visible_alerts
from server.core.access import Viewer, get_visible
from server.core.deps import SessionDep, ViewerDep
from server.core.errors import ApiError, invalid, language
from server.core.models import ColdRoom, Installation, Probe, Van, Zone, utcnow
from server.core.models.alerts import Alert
from server.domain.categories import profiles
from server.domain.fleet import seen_by
from server.domain.place_readings import from_ms, to_ms

router = APIRouter(prefix="/grafana", tags=["grafana"])

PlaceKind = Literal["cold_room", "van_zone"]
# A place as the alert worker names it (server/alerting/places.py): zone-12, cold_room-3.
PLACE_KEY = r"^(zone|cold_room)-[0-9]{1,9}$"
PlaceKey = Annotated[str, Query(pattern=PLACE_KEY)]
# Epoch milliseconds from 1970 to 9999 (Grafana's ${__from}, ${__to}).
EpochMs = Annotated[int, Query(ge=0, le=253_402_300_799_999)]
LONGEST_MS = 400 * 24 * 3600 * 1000  # a year and a bit: wider asks are refused


class PlaceOut(BaseModel):
    place: str  # the key the other routes take
    kind: PlaceKind
    name: str  # « Camionnette du Condroz — froid », « Chambre froide de la boucherie »
    probes: list[str]  # installed there now


class PlaceProbeOut(BaseModel):
    probe: str
    start: int  # installed from (ms)
    end: int | None  # until (ms), None: still there


class LimitPointOut(BaseModel):
    time: int  # from this instant (ms) the limit is max_c / min_c (a step)
    max_c: float | None  # None: no upper limit
    min_c: float | None


class AnnotationOut(BaseModel):
    time: int  # start of the alert's condition (ms)
    end: int | None  # when it ended, None while it goes on
    place: str
    kind: str
    severity: str
    text: str  # the engine's text, in the caller's language


def _period(start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise invalid("to_before_from")
    if end_ms - start_ms > LONGEST_MS:
        raise invalid("period_too_long", days=LONGEST_MS // 86_400_000)


@router.get("/places")
def list_places(
    viewer: ViewerDep, session: SessionDep, kind: PlaceKind | None = None
) -> list[PlaceOut]:
    """The cold rooms and van zones the caller sees, each with the probes installed there now
    (Grafana's `place` variable)."""
    seen = seen_by(session, viewer)
    now = utcnow()
    installed: dict[str, list[str]] = {}
    rows = session.execute(
        select(Installation, Probe.probe_id)
        .join(Probe, Probe.id == Installation.probe_id)
        .where(Installation.start <= now, or_(Installation.end.is_(None), Installation.end > now))
        .order_by(Probe.probe_id)
    )
    for installation, probe_id in rows:
        installed.setdefault(_key(installation), []).append(probe_id)
    out = []
    if kind in (None, "cold_room"):
        for room in seen.rooms:
            key = cold_room_key(room.id)
            probes = installed.get(key, [])
            out.append(PlaceOut(place=key, kind="cold_room", name=room.name, probes=probes))
    if kind in (None, "van_zone"):
        for van in seen.vans:
            for zone in seen.zones.get(van.id, []):
                key = zone_key(zone.id)
                name = f"{van.name} — {zone.name}"  # as the alert worker names it (Places.load)
                probes = installed.get(key, [])
                out.append(PlaceOut(place=key, kind="van_zone", name=name, probes=probes))
    return out


@router.get("/places/{place}/probes")
def place_probes(
    place: Annotated[str, Path(pattern=PLACE_KEY)],
    viewer: ViewerDep,
    session: SessionDep,
    start_ms: Annotated[EpochMs, Query(alias="from")],
    end_ms: Annotated[EpochMs, Query(alias="to")],
) -> list[PlaceProbeOut]:
    """The probes installed at the place at some moment of [from, to) (Grafana's `probe`
    variable: a probe moved in or out during the period is drawn too)."""
    _period(start_ms, end_ms)
    zone_id, room_id = _visible_place(session, viewer, place)
    column = Installation.zone_id if zone_id is not None else Installation.cold_room_id
    rows = session.execute(
        select(Installation, Probe.probe_id)
        .join(Probe, Probe.id == Installation.probe_id)
        .where(
            column == (zone_id if zone_id is not None else room_id),
            Installation.start < from_ms(end_ms),
            or_(Installation.end.is_(None), Installation.end > from_ms(start_ms)),
        )
        .order_by(Installation.start, Probe.probe_id)
    )
    return [
        PlaceProbeOut(
            probe=probe_id,
            start=to_ms(installation.start),
            end=None if installation.end is None else to_ms(installation.end),
        )
        for installation, probe_id in rows
    ]


@router.get("/limits")
def limits(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    place: PlaceKey,
    start_ms: Annotated[EpochMs, Query(alias="from")],
    end_ms: Annotated[EpochMs, Query(alias="to")],
) -> list[LimitPointOut]:
    """The limit in force at the place over [from, to], as steps: one point where each limit
    starts (the first at `from`) and one at `to` holding the last (drawn "step after")."""
    _period(start_ms, end_ms)
    zone_id, room_id = _visible_place(session, viewer, place)
    if zone_id is not None:
        lots = lots_on_board(session).get(zone_key(zone_id), [])
        empty = request.app.state.settings.alerting.empty_zone_category
        timeline = timeline_for_lots(profiles(), lots, empty)
    else:
        room = session.get(ColdRoom, room_id)
        assert room is not None  # _visible_place found it
        timeline = LimitTimeline(limit_for_category(profiles(), room.category, room.label_max_c))
    points = []
    ends = [*timeline.starts[1:], 2**62]
    for begin, until, limit in zip(timeline.starts, ends, timeline.limits, strict=True):
        if until > start_ms and begin < end_ms:
            at = max(begin, start_ms)
            points.append(LimitPointOut(time=at, max_c=limit.max_c, min_c=limit.min_c))
    last = points[-1]
    points.append(LimitPointOut(time=end_ms, max_c=last.max_c, min_c=last.min_c))
    return points


@router.get("/annotations")
def alert_annotations(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    start_ms: Annotated[EpochMs, Query(alias="from")],
    end_ms: Annotated[EpochMs, Query(alias="to")],
    place: PlaceKey | None = None,
) -> list[AnnotationOut]:
    """The alerts the caller sees whose condition overlaps [from, to), oldest first, at one
    place or at all; the text in the caller's language (Accept-Language, else the server's)."""
    _period(start_ms, end_ms)
    query = select(Alert).where(
        visible_alerts(viewer),
        Alert.start_at < from_ms(end_ms),
        or_(Alert.end_at.is_(None), Alert.end_at >= from_ms(start_ms)),
    )
    if place is not None:
        zone_id, room_id = _visible_place(session, viewer, place)
        query = query.where(
            Alert.zone_id == zone_id if zone_id is not None else Alert.cold_room_id == room_id
        )
    lang = language(request, request.app.state.default_language)
    out = []
    for alert in session.scalars(query.order_by(Alert.start_at, Alert.id)):
        out.append(
            AnnotationOut(
                time=to_ms(alert.start_at),
                end=_end(alert.end_at),
                place=_alert_place(alert),
                kind=alert.kind,
                severity=alert.severity,
                text=alert_text(alert, lang),  # Dutch made from the stored event
            )
        )
    return out


def _end(end_at: datetime | None) -> int | None:
    return None if end_at is None else to_ms(end_at)


def _key(installation: Installation) -> str:
    if installation.zone_id is not None:
        return zone_key(installation.zone_id)
    assert installation.cold_room_id is not None
    return cold_room_key(installation.cold_room_id)


def _alert_place(alert: Alert) -> str:
    if alert.zone_id is not None:
        return zone_key(alert.zone_id)
    if alert.cold_room_id is not None:
        return cold_room_key(alert.cold_room_id)
    return alert.location_key


def _visible_place(session: Session, viewer: Viewer, place: str) -> tuple[int | None, int | None]:
    """(zone_id, cold_room_id) of a place the viewer sees (its van or cold room); 404 else."""
    zone_id, room_id = parse_key(place)
    if zone_id is not None:
        zone = session.get(Zone, zone_id)
        if zone is None:
            raise ApiError(404, "not_found")
        get_visible(session, viewer, Van, zone.van_id)
    else:
        assert room_id is not None
        get_visible(session, viewer, ColdRoom, room_id)
    return zone_id, room_id
