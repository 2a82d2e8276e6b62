"""Probe ids heard on the broker that nobody registered: readings from them belong to no place
(places come from installations, server/domain/installations.py) and raise no alert, so the
admin is told instead. The alert worker notes each id it hears (`note`): first and last time
heard, how many readings, on which topic; the admin page lists them (`listing`) with a button
to register the probe, and registering it removes its row (`forget`).

A flood of made-up ids must not fill the database: only the `CAP` ids heard most recently are
kept, and those dropped to make room are counted (`dropped`). Ids are those the contract lets
through (coldchain/protocol: `PROBE_ID_RE`; a malformed id is rejected before it gets here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from coldchain.protocol import PROBE_ID_RE
from server.core.models import Probe, UnknownProbe
from server.core.models.alerts import WorkerState

CAP = 500  # ids kept, the most recently heard
COUNTER = "unknown-probes"  # the WorkerState row counting the ids dropped beyond CAP
TOPIC_CHARS = 300  # UnknownProbe.last_topic


@dataclass
class Heard:
    """What one probe id sent in a batch of messages: readings and the last topic."""

    readings: int
    topic: str


def note(session: Session, heard: Mapping[str, Heard], at: datetime, cap: int = CAP) -> int:
    """Count what the ids of `heard` sent at `at` (arrival time), for those not registered;
    then keep only the `cap` ids heard most recently. Not committed. Returns how many rows
    were dropped to stay within `cap`."""
    ids = [probe_id for probe_id in heard if PROBE_ID_RE.fullmatch(probe_id)]
    if not ids:
        return 0
    registered = set(session.scalars(select(Probe.probe_id).where(Probe.probe_id.in_(ids))))
    known = set(
        session.scalars(select(UnknownProbe.probe_id).where(UnknownProbe.probe_id.in_(ids)))
    )
    for probe_id in ids:
        if probe_id in registered:
            continue  # registered since the worker last read the registry
        sent = heard[probe_id]
        topic = sent.topic[:TOPIC_CHARS]
        if probe_id in known:
            # A statement, not a loaded row: a registration removing the row meanwhile
            # leaves nothing to update, rather than an error.
            session.execute(
                update(UnknownProbe)
                .where(UnknownProbe.probe_id == probe_id)
                .values(
                    last_seen=at,
                    readings=UnknownProbe.readings + sent.readings,
                    last_topic=topic,
                )
            )
        else:
            session.add(
                UnknownProbe(
                    probe_id=probe_id,
                    first_seen=at,
                    last_seen=at,
                    readings=sent.readings,
                    last_topic=topic,
                )
            )
    session.flush()
    excess = (session.scalar(select(func.count()).select_from(UnknownProbe)) or 0) - cap
    if excess <= 0:
        return 0
    oldest = session.scalars(
        select(UnknownProbe.id).order_by(UnknownProbe.last_seen, UnknownProbe.id).limit(excess)
    ).all()
    session.execute(delete(UnknownProbe).where(UnknownProbe.id.in_(oldest)))
    counter = session.get(WorkerState, COUNTER)
    if counter is None:
        counter = WorkerState(name=COUNTER, state={"dropped": 0}, updated_at=at)
        session.add(counter)
    counter.state = {"dropped": int(counter.state.get("dropped", 0)) + len(oldest)}
    counter.updated_at = at
    return len(oldest)


def forget(session: Session, probe_id: str) -> None:
    """The probe is registered now: no longer unknown (not committed)."""
    session.execute(delete(UnknownProbe).where(UnknownProbe.probe_id == probe_id))


@dataclass(frozen=True)
class Unknown:
    probes: list[UnknownProbe]  # most recently heard first
    dropped: int  # ids forgotten to stay within CAP, ever
    cap: int = CAP


def listing(session: Session) -> Unknown:
    """The unknown probes for the admin, most recently heard first (a probe registered while
    the worker was noting it is left out: it is not unknown any more)."""
    probes = session.scalars(
        select(UnknownProbe)
        .where(UnknownProbe.probe_id.not_in(select(Probe.probe_id)))
        .order_by(UnknownProbe.last_seen.desc(), UnknownProbe.id.desc())
    )
    counter = session.get(WorkerState, COUNTER)
    dropped = int(counter.state.get("dropped", 0)) if counter is not None else 0
    return Unknown(list(probes), dropped)
