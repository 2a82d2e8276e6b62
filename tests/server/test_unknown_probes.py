"""The unknown probes' register (server/domain/unknown_probes.py) on both databases: an id
heard twice adds up, a registered id is never noted and its row goes when it is registered,
the rows stay within the cap (the least recently heard dropped, and counted), an id the
contract refuses is never noted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.db import make_engine
from server.core.models import Organisation, Probe, UnknownProbe
from server.domain import unknown_probes
from server.domain.unknown_probes import Heard

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_noting_forgetting_and_the_cap(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            owner = Organisation(name="Coop", kind="cooperative")
            session.add(owner)
            session.flush()
            session.add(Probe(probe_id="known-1", owner_id=owner.id))
            heard = {"a-1": Heard(3, "t/a-1"), "known-1": Heard(2, "t/k"), "Bad_Id": Heard(1, "t")}
            assert unknown_probes.note(session, heard, AT, cap=3) == 0
            later = AT + timedelta(minutes=5)
            unknown_probes.note(session, {"a-1": Heard(2, "t/a-1/bis")}, later, cap=3)
            session.commit()
            (row,) = unknown_probes.listing(session).probes
            assert (row.probe_id, row.readings, row.first_seen, row.last_seen, row.last_topic) == (
                "a-1",
                5,
                AT,
                later,
                "t/a-1/bis",
            )
            for minute, probe_id in enumerate(("b-1", "c-1", "d-1", "e-1"), 10):
                at = AT + timedelta(minutes=minute)
                unknown_probes.note(session, {probe_id: Heard(1, "t")}, at, cap=3)
            session.commit()
            listed = unknown_probes.listing(session)
            assert [p.probe_id for p in listed.probes] == ["e-1", "d-1", "c-1"]
            assert listed.dropped == 2  # a-1 and b-1, the least recently heard
            unknown_probes.forget(session, "d-1")
            session.commit()
            assert {p.probe_id for p in session.scalars(select(UnknownProbe))} == {"c-1", "e-1"}
    finally:
        engine.dispose()
