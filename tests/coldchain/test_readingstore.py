"""Reading stores: SQLite and InfluxDB 1.6.7 (InfluxQL) answer the same for the same data."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from coldchain.protocol import Reading
from coldchain.readingstore.base import ReadingSink
from coldchain.readingstore.influxdb import InfluxQLReadingStore, InfluxV1Sink, line
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.harness.servers import InfluxDB1, VictoriaMetrics

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


def test_sqlite_reads_a_probe_by_primary_key_seeks_only(tmp_path: Path) -> None:
    """A file made before the (probe, time) index was dropped loses it on opening, and a
    probe's period is read by seeking each channel's range in the primary key: no scan of the
    probe's history, nor of the table."""
    import sqlite3

    from coldchain.readingstore import sqlite as module

    SqliteReadingStore(tmp_path / "r.sqlite3").close()
    old = sqlite3.connect(tmp_path / "r.sqlite3")  # the index as earlier versions made it
    old.execute("CREATE INDEX reading_probe_time ON reading (probe, time_ms)")
    old.close()
    store = SqliteReadingStore(tmp_path / "r.sqlite3")
    readings = sample_readings()
    store.write(readings)
    conn = store._conn
    indexes = conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
    assert ("reading_probe_time",) not in indexes
    start, end = T0 + 60_000, T0 + 3_600_000
    window = {"probe": "van1-zone-a", "start": start, "end": end}
    for sql in (
        f"{module._PROBE_CHANNELS} SELECT * {module._PROBE_PERIOD}",
        f"{module._PROBE_CHANNELS} SELECT COUNT(*) {module._PROBE_PERIOD}",
    ):
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", window)]
        assert not [step for step in plan if step.startswith("SCAN reading")], plan
        seek = (
            "SEARCH reading USING PRIMARY KEY (probe=? AND channel=? AND time_ms>? AND time_ms<?)"
        )
        assert seek in plan, plan
    expected = sorted(
        (r for r in readings if r.probe_id == "van1-zone-a" and start <= r.time_ms < end),
        key=lambda r: (r.time_ms, r.channel),
    )
    assert len({r.channel for r in expected}) > 1
    assert store.readings("van1-zone-a", start, end) == expected
    assert store.count("van1-zone-a", start, end) == len(expected)
    store.close()


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


def _first_write_wins(sink: ReadingSink, store: object) -> None:
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


def _more_conflicts(sink: ReadingSink) -> None:
    """Another probe: a door turned from shut to open (clock lost), a fault turned into a value."""
    time.sleep(0.005)  # received after _first_write_wins' conflicts, on any clock
    shut = Reading("van8-zone-b", "door", T0, 1, 0.0)
    fault = Reading("van8-zone-b", "product", T0, 3, None, "disconnected", False)
    assert sink.write_first([shut, fault]) == []
    opened = Reading("van8-zone-b", "door", T0, 2, 1.0, None, False)
    value = Reading("van8-zone-b", "product", T0, 4, -127.0, "out_of_range")
    assert len(sink.write_first([opened, value])) == 2


def test_influxdb1_conflicts_read_back_as_on_sqlite(tmp_path: Path, influxdb1: InfluxDB1) -> None:
    """`conflicts()` (the admin's « Mesures en conflit ») on InfluxDB 1.6.7 gives back what
    the SQLite store gives for the same writes: both readings, every field, newest first."""
    sink = InfluxV1Sink(influxdb1.url, "conflicts")
    store = InfluxQLReadingStore(influxdb1.url, "conflicts")
    lite = SqliteReadingStore(tmp_path / "r.sqlite3")
    for writer, reader in ((sink, store), (lite, lite)):
        _first_write_wins(writer, reader)
        _more_conflicts(writer)

    def seen(s: InfluxQLReadingStore | SqliteReadingStore, *args: Any) -> list[object]:
        return [(c.stored, c.new) for c in s.conflicts(*args)]

    assert seen(store) == seen(lite)
    assert [(c.stored.value, c.new.value) for c in store.conflicts()] == [
        (0.0, 1.0),
        (None, -127.0),
        (2.0, 9.0),
        (3.3, -1.5),
    ]
    door = store.conflicts(["van8-zone-b"])[0]
    assert door.stored.clock_synced and not door.new.clock_synced
    assert {c.new.probe_id for c in store.conflicts(["van8-zone-b"])} == {"van8-zone-b"}
    assert seen(store, ["van9-zone-a"], 1) == seen(lite, ["van9-zone-a"], 1)
    assert seen(store, ["van9-zone-a"], 1)[0] == seen(lite)[2]
    assert store.conflicts([]) == [] and store.conflicts(["nobody-here"]) == []
    received = [c.received_ms for c in store.conflicts()]
    assert received == sorted(received, reverse=True) and received[-1] > T0
    with pytest.raises(ValueError):
        store.conflicts(["no/such probe"])  # validated, never put in the query text
    for closing in (sink, store, lite):
        closing.close()


class V2Front:
    """What cannot run here, an InfluxDB 2 server, played by a thin front on the real
    InfluxDB 1.6.7: /api/v2/write (token, org, bucket) becomes /write?db=<bucket>, /query is
    passed through with the token checked. Storage, overwrite rule and InfluxQL are the real
    server's; only the v2 write endpoint and the token are the front's."""

    TOKEN = "jeton-de-test"

    def __init__(self, influx: InfluxDB1) -> None:
        import http.server
        import urllib.error
        import urllib.request

        target = influx.url
        token = self.TOKEN
        self.seen: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                front.seen.append(self.path.split("?")[0])
                if self.headers.get("Authorization") != f"Token {token}":
                    self._answer(401, b'{"code":"unauthorized","message":"unauthorized access"}')
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                path, _, query = self.path.partition("?")
                if path == "/api/v2/write":
                    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                    url = f"{target}/write?db={params['bucket']}&precision=ns"
                elif path == "/query":
                    url = f"{target}/query?{query}"
                else:
                    self._answer(404, b"404 page not found")
                    return
                request = urllib.request.Request(url, data=body, method="POST")
                for name in ("Content-Type", "Content-Encoding"):
                    if self.headers.get(name):
                        request.add_header(name, self.headers[name])
                try:
                    with urllib.request.urlopen(request, timeout=10) as answer:
                        self._answer(answer.status, answer.read())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        front = self
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_influxdb2_first_write_wins(influxdb1: InfluxDB1) -> None:
    from coldchain.readingstore.influxdb import InfluxV2Sink

    influxdb1.query('CREATE DATABASE "v2bucket"')
    front = V2Front(influxdb1)
    try:
        sink = InfluxV2Sink(front.url, V2Front.TOKEN, "coldchain", "v2bucket")
        store = InfluxQLReadingStore(influxdb1.url, "v2bucket")
        _first_write_wins(sink, store)
        assert store.count("van9-zone-a") == 4
        assert {"/api/v2/write", "/query"} <= set(front.seen)
        sink.close()
        store.close()
    finally:
        front.close()


def test_influxdb2_without_query_writes_unchecked_and_says_so(
    victoria_metrics: VictoriaMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    """VictoriaMetrics (a real server) takes /api/v2/write but has no InfluxQL /query: the sink
    cannot read back, says so once in the log, and writes the batches as they come."""
    from coldchain.readingstore.influxdb import InfluxV2Sink

    sink = InfluxV2Sink(victoria_metrics.url, "t", "coldchain", "coldchain")
    t = T0 + 3 * 60_000
    with caplog.at_level("WARNING", logger="coldchain.readingstore.influxdb"):
        assert sink.write_first([Reading("van8-zone-a", "air", t, 1, 3.3)]) == []
        assert sink.write_first([Reading("van8-zone-a", "air", t + 60_000, 2, 3.4)]) == []
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "first write wins cannot be checked" in warnings[0]
    sink.close()
