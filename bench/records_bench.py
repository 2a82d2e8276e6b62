"""Records benchmarks: the PDF of a 10-hour delivery (4 zones, one reading per channel
every 30 s) and the inspection export of one year of one cold room at 60 s (525,600 readings).

Run: .venv/bin/python bench/records_bench.py [--days 365]

Baselines measured in the same run: just reading the readings back (the store, and the
calibrated place series). Targets (issue 8): PDF < 1 s; inspection export < 30 s and
< 300 MB resident memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from coldchain.protocol import Reading
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.core.access import Interval, Viewer
from server.core.db import make_engine, make_sessionmaker, migrate
from server.core.models import ColdRoom, Installation, Organisation, Probe, Role, User, Van, Zone
from server.core.models.deliveries import Delivery, Handover, Load, LoadDecision, Stop
from server.domain.categories import profiles
from server.domain.place_readings import Place, series
from server.records import inspection, record_pdf
from server.records.sealing import seal

DAY = date(2026, 3, 10)
START = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
CATEGORIES = ["minced_meat", "chilled_retail", "quick_frozen", "poultry_meat"]
BASE = {"minced_meat": 1.0, "chilled_retail": 4.0, "quick_frozen": -21.0, "poultry_meat": 2.0}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def world(session) -> tuple[Organisation, User, Van, list[Zone], ColdRoom]:
    coop = Organisation(name="Coop bench", kind="cooperative")
    producer = Organisation(name="Producteur bench", kind="producer")
    session.add_all([coop, producer])
    session.flush()
    user = User(email="bench@example.be", full_name="Bench", password_hash="x")
    session.add(user)
    van = Van(name="Fourgon", plate="1-BEN-001", owner_id=coop.id)
    room = ColdRoom(name="Chambre", owner_id=coop.id, category="chilled_retail")
    session.add_all([van, room])
    session.flush()
    zones = [Zone(van_id=van.id, name=f"zone {i}", kind="compartment") for i in range(4)]
    session.add_all(zones)
    session.flush()
    for i, zone in enumerate(zones):
        probe = Probe(probe_id=f"van-{i}", owner_id=coop.id)
        session.add(probe)
        session.flush()
        session.add(
            Installation(probe_id=probe.id, zone_id=zone.id, start=START - timedelta(days=1))
        )
    probe = Probe(probe_id="room", owner_id=coop.id)
    session.add(probe)
    session.flush()
    session.add(
        Installation(
            probe_id=probe.id, cold_room_id=room.id, start=datetime(2025, 1, 1, tzinfo=UTC)
        )
    )
    session.flush()
    return coop, user, van, zones, room


def delivery(session, coop, user, van, zones, producer_id: int) -> Delivery:
    end = START + timedelta(hours=10)
    d = Delivery(
        cooperative_id=coop.id,
        van_id=van.id,
        driver_id=user.id,
        day=DAY,
        status="closed",
        departed_at=START,
        closed_at=end,
        closed_by_id=user.id,
    )
    session.add(d)
    session.flush()
    pickup, drop = (
        Stop(
            delivery_id=d.id,
            sequence=sequence,
            kind=kind,
            place_kind=place_kind,
            place_name=name,
            address=f"Rue {sequence}",
            planned_at=planned,
            actual_at=actual,
        )
        for sequence, kind, place_kind, name, planned, actual in (
            (1, "pickup", "cold_room", "Départ", START, START + timedelta(minutes=5)),
            (2, "drop", "canteen", "Cantine", end, end - timedelta(minutes=10)),
        )
    )
    session.add_all([pickup, drop])
    session.flush()
    h1 = Handover(stop_id=pickup.id, at=pickup.actual_at, recorded_by_id=user.id)
    h2 = Handover(stop_id=drop.id, at=drop.actual_at, recorded_by_id=user.id)
    session.add_all([h1, h2])
    session.flush()
    for i, zone in enumerate(zones):
        load = Load(
            delivery_id=d.id,
            lot_reference=f"LOT-{i}",
            description="Lot",
            category=CATEGORIES[i],
            quantity=Decimal("5"),
            unit="kg",
            consignor_id=producer_id,
            consignee="Cantine",
            zone_id=zone.id,
            pickup_stop_id=pickup.id,
            drop_stop_id=drop.id,
        )
        session.add(load)
        session.flush()
        session.add_all(
            [
                LoadDecision(handover_id=h1.id, load_id=load.id, accepted=True),
                LoadDecision(handover_id=h2.id, load_id=load.id, accepted=True),
            ]
        )
    session.flush()
    return d


def bench_pdf(factory, store) -> None:
    with factory() as session:
        coop, user, van, zones, _room = world(session)
        producer = session.query(Organisation).filter_by(kind="producer").one()
        d = delivery(session, coop, user, van, zones, producer.id)
        session.commit()
        rows = []
        for i in range(1200):  # 10 hours at 30 s
            t = int((START + timedelta(seconds=30 * i)).timestamp() * 1000)
            for z in range(4):
                bump = 3.0 if 400 <= i < 440 and z == 0 else 0.0
                rows.append(
                    Reading(f"van-{z}", "air", t, i, BASE[CATEGORIES[z]] + bump + (i % 7) * 0.05)
                )
                rows.append(Reading(f"van-{z}", "product", t, i, BASE[CATEGORIES[z]] + bump / 2))
        store.write(rows)
        a, b = START - timedelta(hours=6), START + timedelta(hours=10)
        window: list[Interval] = [(a, b)]
        t0 = time.perf_counter()
        n = 0
        for zone in zones:
            n += len(series(session, store, Place(zone_id=zone.id), window, a, b))
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        record = seal(session, store, d, profiles(), datetime.now(UTC))
        session.commit()
        seal_s = time.perf_counter() - t0
        assert record is not None
        doc = json.loads(record.document)
        t0 = time.perf_counter()
        pdf = record_pdf.render(doc, record.record_hash, record.previous_hash)
        pdf_s = time.perf_counter() - t0
    print(
        f"delivery record: {n} readings (4 zones x 2 channels x 1200), "
        f"document {len(record.document) / 1e6:.1f} MB"
    )
    print(f"  baseline, read calibrated readings : {read_s:6.3f} s")
    print(
        f"  seal (document + canonical + hash) : {seal_s:6.3f} s  ({seal_s / read_s:.1f}x baseline)"
    )
    print(
        f"  PDF ({len(pdf) / 1e3:.0f} kB)                     : {pdf_s:6.3f} s  "
        f"({pdf_s / read_s:.1f}x baseline)"
        f"  target < 1 s: {'OK' if pdf_s < 1 else 'MISSED'}"
    )


def bench_inspection(factory, store, days: int) -> None:
    first = datetime(2025, 3, 1, tzinfo=UTC)
    t0 = time.perf_counter()
    batch: list[Reading] = []
    total = days * 1440
    for i in range(total):
        batch.append(
            Reading(
                "room",
                "air",
                int((first + timedelta(minutes=i)).timestamp() * 1000),
                i,
                4.0 + (i % 11) * 0.1 + (4.0 if i % 20_000 < 30 else 0.0),
            )
        )
        if len(batch) == 20_000:
            store.write(batch)
            batch = []
    store.write(batch)
    write_s = time.perf_counter() - t0
    end = first + timedelta(days=days)
    t0 = time.perf_counter()
    n = 0
    day = first
    while day < end:
        n += len(
            store.readings(
                "room",
                int(day.timestamp() * 1000),
                int((day + timedelta(days=1)).timestamp() * 1000),
            )
        )
        day += timedelta(days=1)
    read_s = time.perf_counter() - t0
    rss_before = rss_mb()
    with factory() as session:
        room = session.query(ColdRoom).one()
        coop = session.query(Organisation).filter_by(kind="cooperative").one()
        viewer = Viewer(0, False, {coop.id: frozenset({Role.HYGIENE_OFFICER})})
        wanted = inspection.InspectionRequest(first, end, (), (room.id,))
        places = inspection.locations(session, viewer, wanted, profiles(), 400)
        with tempfile.TemporaryFile() as out:
            t0 = time.perf_counter()
            inspection.export(session, store, viewer, wanted, places, profiles(), out)
            export_s = time.perf_counter() - t0
            size = out.tell()
    print(
        f"inspection export: one cold room, {days} days at 60 s = {n} readings "
        f"(stored in {write_s:.1f} s)"
    )
    print(f"  baseline, read the readings day by day : {read_s:6.2f} s")
    print(
        f"  export ZIP ({size / 1e6:.1f} MB)                 : {export_s:6.2f} s  "
        f"({export_s / read_s:.1f}x baseline)"
        f"  target < 30 s: {'OK' if export_s < 30 else 'MISSED'}"
    )
    peak = rss_mb()
    print(
        f"  peak resident memory: {peak:.0f} MB (before the export: {rss_before:.0f} MB)"
        f"  target < 300 MB: {'OK' if peak < 300 else 'MISSED'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrate(engine)
        store = SqliteReadingStore(Path(tmp) / "readings.sqlite3")
        factory = make_sessionmaker(engine)
        bench_pdf(factory, store)
        bench_inspection(factory, store, args.days)
        store.close()
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
