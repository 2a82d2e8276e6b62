"""Reading stores: SQLite and InfluxDB 1.6.7 (InfluxQL) answer the same for the same data."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from coldchain.protocol import Reading
from coldchain.readingstore.influxdb import InfluxQLReadingStore, InfluxV1Sink, line
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.harness.servers import InfluxDB1

T0 = 1_795_300_000_000  # device times well in the past (2026-11-21)


def sample_readings(seed: int = 7) -> list[Reading]:
    rng = random.Random(seed)
    out = []
    for p in range(5):
        probe = f"van{p}-zone-a"
        for i in range(200):
            t = T0 + i * 60_000
            out.append(Reading(probe, "air", t, 2 * i, round(rng.uniform(-25, 10), 3)))
            if i % 7 == 0:
                out.append(Reading(probe, "product", t, 2 * i + 1, None, "disconnected"))
            elif i % 11 == 0:
                out.append(Reading(probe, "product", t, 2 * i + 1, -127.0, "out_of_range", False))
            else:
                out.append(Reading(probe, "product", t, 2 * i + 1, rng.uniform(-20, 8)))
            if i % 10 == 0:
                out.append(Reading(probe, "door", t + 1, 10_000 + i, float(i % 20 == 0)))
    return out


def test_sqlite_write_is_idempotent(tmp_path: Path) -> None:
    store = SqliteReadingStore(tmp_path / "r.sqlite3")
    readings = sample_readings()
    assert store.write(readings) == len(readings)
    store.write(readings[:100])
    assert store.count() == len(readings)
    store.close()
    # Survives reopening, and a second process-like connection sees the same rows.
    again = SqliteReadingStore(tmp_path / "r.sqlite3")
    assert again.count() == len(readings)
    again.close()


def test_sqlite_store_from_several_threads(tmp_path: Path) -> None:
    store = SqliteReadingStore(tmp_path / "r.sqlite3")
    readings = sample_readings()
    chunks = [readings[i::4] for i in range(4)]
    threads = [threading.Thread(target=store.write, args=(c,)) for c in chunks]
    for th in threads:
        th.start()
    for _ in range(20):
        store.count()
    for th in threads:
        th.join()
    assert store.count() == len(readings)
    store.close()


def test_line_protocol_is_exact() -> None:
    r = Reading("van1-zone-a", "air", T0 + 1, 5, 0.1 + 0.2)
    assert line(r) == (
        "reading,channel=air,probe=van1-zone-a value=0.30000000000000004,seq=5i,"
        f"clock_synced=true {(T0 + 1) * 1_000_000}"
    )
    fault = Reading("van1-zone-a", "product", T0, 6, None, "disconnected", False)
    assert line(fault) == (
        'reading,channel=product,probe=van1-zone-a seq=6i,fault="disconnected",'
        f"clock_synced=false {T0 * 1_000_000}"
    )


def test_sqlite_and_influxdb1_answer_the_same(tmp_path: Path, influxdb1: InfluxDB1) -> None:
    readings = sample_readings()
    sqlite = SqliteReadingStore(tmp_path / "r.sqlite3")
    sqlite.write(readings)
    sink = InfluxV1Sink(influxdb1.url, "coldchain")
    for start in range(0, len(readings), 500):
        sink.write(readings[start : start + 500])
    sink.write(readings[:300])  # re-sent batch: same points, nothing counted twice
    sink.close()
    influx = InfluxQLReadingStore(influxdb1.url, "coldchain")

    assert sqlite.count() == influx.count() == len(readings)
    assert sqlite.count("van2-zone-a") == influx.count("van2-zone-a") > 0
    window = (T0 + 30 * 60_000, T0 + 90 * 60_000)
    assert sqlite.count("van1-zone-a", *window) == influx.count("van1-zone-a", *window) > 0
    assert sqlite.count(None, *window) == influx.count(None, *window)
    for probe in ("van0-zone-a", "van4-zone-a"):
        expected = sqlite.readings(probe, *window)
        assert expected == influx.readings(probe, *window)
        assert len(expected) > 60
        assert sqlite.readings(probe, *window, channel="product") == influx.readings(
            probe, *window, channel="product"
        )
    assert sqlite.readings("nobody", *window) == influx.readings("nobody", *window) == []
    assert sqlite.latest() == influx.latest()
    assert len(sqlite.latest()) == 15
    some = ["van1-zone-a", "van3-zone-a"]
    assert sqlite.latest(some) == influx.latest(some)
    assert sqlite.latest([]) == influx.latest([]) == {}
    # Hostile identifiers never reach the query text.
    with pytest.raises(ValueError):
        influx.readings("x' OR 1=1 --", *window)
    sqlite.close()
    influx.close()


# --- First write wins: a stored reading is never changed by a later message ---------------------


def _first_write_wins(sink: SqliteReadingStore | InfluxV1Sink, store: object) -> None:
    """3.3 °C stored; the same (probe, channel, time) with -1.5 °C is a conflict, kept once."""
    from coldchain.readingstore.base import Conflict

    t = T0 + 7 * 60_000
    first = Reading("van9-zone-a", "air", t, 41, 3.3)
    other = Reading("van9-zone-a", "product", t, 42, None, "disconnected", False)
    assert sink.write_first([first, other]) == []
    assert sink.write_first([first, other]) == []  # identical re-send: a duplicate, silent
    forged = Reading("van9-zone-a", "air", t, 43, -1.5)
    later = Reading("van9-zone-a", "air", t + 60_000, 44, 3.4)
    conflicts = sink.write_first([forged, later, other])
    assert [(c.stored, c.new) for c in conflicts] == [(first, forged)]
    assert isinstance(conflicts[0], Conflict) and conflicts[0].received_ms > T0
    # The same batch retried (after a crash, a lost answer): nothing new, no second conflict.
    assert sink.write_first([forged, later, other]) == []
    # Inside one batch, the first of two readings for a new key wins.
    a = Reading("van9-zone-a", "air", t + 120_000, 45, 2.0)
    b = Reading("van9-zone-a", "air", t + 120_000, 46, 9.0)
    assert [(c.stored, c.new) for c in sink.write_first([a, b])] == [(a, b)]
    got = store.readings("van9-zone-a", t, t + 10**6)  # type: ignore[attr-defined]
    assert got == [first, other, later, a]


def test_sqlite_first_write_wins(tmp_path: Path) -> None:
    store = SqliteReadingStore(tmp_path / "r.sqlite3")
    _first_write_wins(store, store)
    kept = store.conflicts()
    assert {(c.stored.value, c.new.value) for c in kept} == {(3.3, -1.5), (2.0, 9.0)}
    assert all(c.new.seq in (43, 46) for c in kept)
    store.write([Reading("van9-zone-a", "air", T0 + 7 * 60_000, 99, 20.0)])  # `write` too
    assert store.readings("van9-zone-a", T0, T0 + 8 * 60_000, "air")[0].value == 3.3
    assert len(store.conflicts()) == 3
    store.close()


def test_influxdb1_first_write_wins(influxdb1: InfluxDB1) -> None:
    sink = InfluxV1Sink(influxdb1.url, "firstwins")
    store = InfluxQLReadingStore(influxdb1.url, "firstwins")
    _first_write_wins(sink, store)
    assert store.count("van9-zone-a") == 4
    rows = [
        row
        for series in store._query(
            'SELECT "stored_value", "value", "stored_seq", "seq", "received_ms" '
            'FROM "reading_conflict" GROUP BY "probe", "channel"'
        )
        for row in series["values"]
    ]
    assert sorted((r[1], r[2], r[3], r[4]) for r in rows) == [
        (2.0, 9.0, 45, 46),
        (3.3, -1.5, 41, 43),
    ]
    assert all(r[5] > T0 for r in rows)
    sink.close()
    store.close()
