"""The SQLite sink fed the spool's text as it is (Spool.take -> write_first_spooled): the values
come back exactly although SQLite, not Python, turns the text into REAL values, and first write
wins exactly as with Reading objects (tests/coldchain/test_readingstore.py)."""

from __future__ import annotations

import json
import random
import struct
from pathlib import Path

from coldchain.protocol import Reading
from coldchain.readingstore.base import ReadingSink, ReadingStore, SpooledRowsSink
from coldchain.readingstore.influxdb import InfluxQLReadingStore, InfluxV1Sink
from coldchain.readingstore.sqlite import SqliteReadingStore
from gateway.spool import Spool
from tests.harness.servers import InfluxDB1

T0 = 1_790_000_000_000


def _random_value(rng: random.Random) -> float:
    """Measured-looking values and arbitrary finite doubles (every bit pattern)."""
    if rng.random() < 0.5:
        return round(rng.uniform(-80, 150), rng.randint(0, 6))
    while True:
        (value,) = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))
        if value == value and abs(value) != float("inf"):
            return float(value)


def _through_spool(tmp_path: Path, messages: list[list[Reading]]) -> tuple[str, int]:
    spool = Spool(tmp_path / "spool.sqlite3", fsync=False)
    spool.commit([(m, T0) for m in messages])
    batch = spool.take(10**6)
    spool.close()
    return batch.spooled, batch.count


def test_values_come_back_exactly_through_sqlite(tmp_path: Path) -> None:
    rng = random.Random(18)
    messages = [
        [
            Reading(
                f"p{p:02d}", "air", T0 + k * 1000, k, _random_value(rng), clock_synced=bool(k % 3)
            )
            for k in range(m * 10, m * 10 + 10)
        ]
        for p in range(20)
        for m in range(20)
    ]
    messages.append([
        Reading("odd", "air", T0, 1, 0.30000000000000004),
        Reading("odd", "product", T0, 2, None, "disconnected", False),
        Reading("odd", "door", T0, 3, 1.0),
        Reading("odd", "battery", T0, 2**53 - 1, -1e-300, "out_of_range"),
        Reading("odd", "air", T0 + 1, 4, 5e-324),
        Reading("odd", "product", T0 + 1, 5, -0.0),
    ])  # fmt: skip
    spooled, count = _through_spool(tmp_path, messages)
    assert count == 4006
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    assert isinstance(store, SpooledRowsSink)
    assert store.write_first_spooled(spooled, count) == []
    for message in messages:
        probe = message[0].probe_id
        stored = store.readings(probe, T0, T0 + 10**7)
        assert sorted(stored, key=lambda r: r.seq) == sorted(
            (r for m in messages if m[0].probe_id == probe for r in m), key=lambda r: r.seq
        )
    assert store.count() == 4006
    store.close()


FIRST = Reading("p", "air", T0, 1, 3.3)
BATCHES = [
    [FIRST, Reading("p", "air", T0 + 1000, 2, 3.4)],
    # Against the stored one: a conflict; an identical copy: a duplicate, nothing.
    [Reading("p", "air", T0, 9, -1.5), FIRST, Reading("p", "product", T0, 3, 4.0)],
    # Twice in one batch with other fields: the older is stored, the newer a conflict.
    [Reading("q", "air", T0, 1, 2.0), Reading("q", "air", T0, 2, 2.5, clock_synced=False)],
    # A fault without a value, then the same key with a value (clock lost): a conflict.
    [Reading("q", "product", T0, 3, None, "disconnected", False)],
    [Reading("q", "product", T0, 4, -127.0, "out_of_range")],
]


def _spooled_as_with_readings(
    tmp_path: Path, by_readings: ReadingSink, spooled_sink: SpooledRowsSink
) -> None:
    """BATCHES into two sinks, one as Reading objects, one as spooled text: same conflicts; a
    retried batch reports nothing again."""
    for i, batch in enumerate(BATCHES):
        expected = by_readings.write_first(batch)
        spooled, count = _through_spool(tmp_path / str(i), [[r] for r in batch])
        got = spooled_sink.write_first_spooled(spooled, count)
        assert [(c.stored, c.new) for c in got] == [(c.stored, c.new) for c in expected]
        assert len(got) == [0, 1, 1, 0, 1][i]
        assert spooled_sink.write_first_spooled(spooled, count) == []  # retried: kept once


def _check_stored(store: ReadingStore) -> None:
    assert {(c.stored, c.new) for c in store.conflicts()} == {
        (FIRST, BATCHES[1][0]),
        (BATCHES[2][0], BATCHES[2][1]),
        (BATCHES[3][0], BATCHES[4][0]),
    }
    assert store.readings("p", T0, T0 + 10**6) == [
        FIRST, Reading("p", "product", T0, 3, 4.0), BATCHES[0][1]
    ]  # fmt: skip
    assert store.readings("q", T0, T0 + 1) == [BATCHES[2][0], BATCHES[3][0]]


def test_first_write_wins_as_with_readings(tmp_path: Path) -> None:
    """The SQLite sink: same rows, same conflicts; a stored reading never changes."""
    by_readings = SqliteReadingStore(tmp_path / "a.sqlite3")
    spooled_store = SqliteReadingStore(tmp_path / "b.sqlite3")
    _spooled_as_with_readings(tmp_path, by_readings, spooled_store)
    for store in (by_readings, spooled_store):
        _check_stored(store)
        store.close()


def test_influxdb1_first_write_wins_as_with_readings(tmp_path: Path, influxdb1: InfluxDB1) -> None:
    """The InfluxDB 1.x sink writes the spooled text from tuples (line protocol, first-write
    check): the same points and conflicts as from Reading objects."""
    by_readings = InfluxV1Sink(influxdb1.url, "a")
    spooled_sink = InfluxV1Sink(influxdb1.url, "b")
    assert isinstance(spooled_sink, SpooledRowsSink)
    _spooled_as_with_readings(tmp_path, by_readings, spooled_sink)
    for database in ("a", "b"):
        store = InfluxQLReadingStore(influxdb1.url, database)
        _check_stored(store)
        store.close()
    by_readings.close()
    spooled_sink.close()


def test_rows_spooled_before_with_flags_as_integers(tmp_path: Path) -> None:
    """Rows spooled by the previous version (clock_synced as 1/0) are written the same way."""
    rows = [["air", T0, 7, 4.25, None, 0], ["product", T0, 8, None, "disconnected", 1]]
    spooled = json.dumps([["old", json.dumps(rows)]])
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    assert store.write_first_spooled(spooled, 2) == []
    assert store.readings("old", T0, T0 + 1) == [
        Reading("old", "air", T0, 7, 4.25, clock_synced=False),
        Reading("old", "product", T0, 8, None, "disconnected"),
    ]
    store.close()
