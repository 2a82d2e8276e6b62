"""Engine events into the database: the alert row, its lots and delivery, its history,
and what must be sent (probe alarm, e-mails, webhooks) by the policy of server/alerting/
outbox.py (`telling`). The row always carries the figures of the engine's last event
(start, end, alert and critical times, peak, readings, last reading out, detection):
`refreshed` events update it and nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.events import AlertEvent, EventType
from alerts.findings import RANK, Severity
from coldchain.settings import AlertingSettings
from server.alerting import outbox, recipients
from server.alerting.places import parse_key
from server.core.models import (
    ColdRoom,
    ColdRoomLoan,
    Delivery,
    Load,
    Organisation,
    OrganisationKind,
    Zone,
)
from server.core.models.alerts import Alert, AlertLot, AlertState
from server.domain.place_readings import from_ms

WITHDRAWN_NOTE = (
    "Retirée automatiquement : les données arrivées en retard montrent "
    "qu'il n'y a pas eu d'excursion."
)
# Still told when it rises (acknowledged and then turning critical: rung and e-mailed again,
# the escalation stays stopped).
TOLD = frozenset({AlertState.OPEN, AlertState.ACKNOWLEDGED})


def record_events(
    session: Session, events: list[AlertEvent], settings: AlertingSettings, now: datetime
) -> list[Alert]:
    # The batch's alerts in one query, not one per event: an open excursion refreshes its
    # figures at every reading, and a backlog brings hundreds of those per batch (a soak
    # with 2,000 open alerts spent half the worker's time on a SELECT and a flush each).
    uids = {event.alert_id for event in events}
    known = (
        {a.uid: a for a in session.scalars(select(Alert).where(Alert.uid.in_(uids)))}
        if uids
        else {}
    )
    touched = []
    for event in events:
        touched.append(_record(session, event, settings, now, known))
    return touched


def _record(
    session: Session,
    event: AlertEvent,
    settings: AlertingSettings,
    now: datetime,
    known: dict[str, Alert],
) -> Alert:
    alert = known.get(event.alert_id)
    created = alert is None
    if alert is None:
        alert = known[event.alert_id] = _new_alert(session, event, now)
    previous_severity = alert.severity
    _update(alert, event, now)
    _link_lots(session, alert, event)
    what = event.event
    if what == EventType.REFRESHED and not created:
        return alert  # figures only: the row follows the engine (written at the commit)
    session.flush()
    if what == EventType.REFRESHED:
        what = EventType.OPENED  # never seen before: it is news after all
    kind = what.value
    if what == EventType.OPENED and not created:
        kind = "replayed"  # judged again after a restart: already on record, not news
    outbox.add_entry(session, alert, kind, event.to_dict(), settings)
    policy = outbox.telling(alert.kind, alert.severity)
    new = RANK[Severity(alert.severity)]
    old = RANK[Severity(previous_severity)] if not created else 0
    rose, fell = created or new > old, not created and new < old
    if what in (EventType.OPENED, EventType.ESCALATED, EventType.UPDATED):
        if alert.state in TOLD and (rose or fell) and alert.engine_status == "open":
            outbox.probe_alarm(session, alert, True, now, settings)  # the place shows what is open
        if alert.state in TOLD and rose and policy.email:
            told = recipients.up_to(session, alert, alert.escalation_level)
            told_what = "opened" if created else "escalated"
            outbox.email_people(session, alert, told, told_what, settings)
        if policy.escalate and alert.next_escalation_at is None and rose:
            if alert.acknowledged_at is None:
                alert.next_escalation_at = now + timedelta(minutes=settings.escalation_after_min)
    elif what in (EventType.RESOLVED, EventType.WITHDRAWN):
        outbox.probe_alarm(session, alert, False, now, settings)
        if what == EventType.WITHDRAWN and alert.state == AlertState.OPEN:
            alert.state = AlertState.CLOSED  # late readings showed there was no excursion
            alert.closed_at = now
            alert.review_note = WITHDRAWN_NOTE
            alert.next_escalation_at = None
    if not policy.escalate:
        alert.next_escalation_at = None  # e.g. late readings showed it never was critical
    return alert


def _new_alert(session: Session, event: AlertEvent, now: datetime) -> Alert:
    zone_id, cold_room_id = parse_key(event.location_id)
    alert = Alert(
        uid=event.alert_id,
        location_key=event.location_id,
        zone_id=zone_id,
        cold_room_id=cold_room_id,
        state=AlertState.INFO if event.severity.value == "info" else AlertState.OPEN,
        escalation_level=0,
        created_at=now,
    )
    if zone_id is not None:
        zone = session.get(Zone, zone_id)
        alert.van_id = zone.van_id if zone else None
        delivery = _delivery_using(session, alert.van_id, event.start_ms)
        if delivery is not None:
            alert.delivery_id = delivery.id
            alert.cooperative_id = delivery.cooperative_id
        elif zone is not None:
            from server.core.models import Van

            van = session.get(Van, zone.van_id)
            alert.cooperative_id = van.owner_id if van else None
    else:
        room = session.get(ColdRoom, cold_room_id)
        if room is not None:
            alert.owner_id = room.owner_id
            alert.cooperative_id = room_cooperative(session, room)
    session.add(alert)
    return alert


def room_cooperative(session: Session, room: ColdRoom) -> int | None:
    """The cooperative answerable for a cold room: its owner if a cooperative, else the
    first cooperative it is lent to."""
    owner = session.get(Organisation, room.owner_id)
    if owner is not None and owner.kind == OrganisationKind.COOPERATIVE:
        return owner.id
    return session.scalar(
        select(ColdRoomLoan.cooperative_id)
        .where(ColdRoomLoan.cold_room_id == room.id)
        .order_by(ColdRoomLoan.id)
    )


def _delivery_using(session: Session, van_id: int | None, t_ms: int) -> Delivery | None:
    """The delivery that had the van at device time t (departed, not yet closed)."""
    if van_id is None:
        return None
    t = from_ms(t_ms)
    for delivery in session.scalars(
        select(Delivery)
        .where(
            Delivery.van_id == van_id, Delivery.departed_at.is_not(None), Delivery.departed_at <= t
        )
        .order_by(Delivery.departed_at.desc())
    ):
        if delivery.closed_at is None or t < delivery.closed_at:
            return delivery
    return None


def _update(alert: Alert, event: AlertEvent, now: datetime) -> None:
    alert.kind = event.kind.value
    alert.severity = event.severity.value
    alert.engine_status = event.status
    alert.probe_id = event.probe_id
    alert.channel = event.channel
    alert.start_at = from_ms(event.start_ms)
    alert.last_out_at = from_ms(event.last_out_ms)
    alert.end_at = from_ms(event.end_ms) if event.end_ms is not None else None
    alert.alert_at = from_ms(event.alert_at_ms) if event.alert_at_ms is not None else None
    alert.critical_at = from_ms(event.critical_at_ms) if event.critical_at_ms is not None else None
    alert.peak = event.peak
    alert.n_readings = event.n_readings
    alert.detected_at = from_ms(event.detected_at_ms)
    alert.detected_late = event.detected_late  # the engine's verdict, as it stands now
    alert.text_fr = event.text_fr[:500]
    alert.text_en = event.text_en[:500]
    alert.record = event.to_dict()
    alert.updated_at = now


def _link_lots(session: Session, alert: Alert, event: AlertEvent) -> None:
    """The lots the engine says were on board during the excursion (names their producers)."""
    load_ids = {int(x) for x in event.lot_ids if x.isdigit()}
    if not load_ids:
        return
    session.flush()
    known = set(session.scalars(select(AlertLot.load_id).where(AlertLot.alert_id == alert.id)))
    for load in session.scalars(select(Load).where(Load.id.in_(load_ids - known))):
        session.add(
            AlertLot(
                alert_id=alert.id,
                load_id=load.id,
                delivery_id=load.delivery_id,
                consignor_id=load.consignor_id,
            )
        )
        if alert.delivery_id is None:
            alert.delivery_id = load.delivery_id
            delivery = session.get(Delivery, load.delivery_id)
            if delivery is not None:
                alert.cooperative_id = delivery.cooperative_id
