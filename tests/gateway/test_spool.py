"""The spool on its own: redeliveries are not spooled twice, batches respect the size, restarts."""

from __future__ import annotations

from pathlib import Path

from coldchain.protocol import ProbeStatus, Reading
from gateway.spool import Quarantined, Spool, StatusUpdate

T0 = 1_790_000_000_000


def message(probe: str, first: int, n: int) -> list[Reading]:
    return [Reading(probe, "air", T0 + k * 1000, k, 0.1 * 3 + k) for k in range(first, first + n)]


def test_values_and_flags_come_back_exactly(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", fsync=True)
    odd = [
        Reading("p", "air", T0, 1, 0.30000000000000004),
        Reading("p", "product", T0, 2, None, "disconnected", False),
        Reading("p", "door", T0, 3, 1.0),
        Reading("p", "battery", T0, 2**53 - 1, -1e-300, "out_of_range"),
    ]
    spool.commit([(odd, T0)])
    assert spool.take(10).readings == odd
    spool.close()


def test_commit_take_remove_and_redelivery(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", fsync=False)
    assert spool.commit([(message("a", 0, 10), T0), (message("b", 0, 10), T0 + 1)]) == 20
    # The broker redelivers the first message (no ack reached it): not spooled again.
    assert spool.commit([(message("a", 0, 10), T0 + 5)]) == 0
    assert spool.depth() == 20
    batch = spool.take(15)  # whole messages only, at most 15 readings: one message
    assert [r.seq for r in batch.readings] == list(range(10))
    assert batch.oldest_arrival_ms == T0
    assert batch.readings[0] == Reading("a", "air", T0, 0, 0.1 * 3)
    assert batch.first_id is not None and batch.last_id is not None
    spool.remove(batch.first_id, batch.last_id)
    assert spool.depth() == 10
    spool.close()
    # A restart finds what was left, in order.
    again = Spool(tmp_path / "spool.sqlite3", fsync=False)
    assert again.depth() == 10
    assert [r.probe_id for r in again.take(5000).readings] == ["b"] * 10
    # Delivered messages may come again: they are spooled again (the sink is idempotent).
    assert again.commit([(message("a", 0, 10), T0 + 9)]) == 10
    again.close()


def test_quarantine_and_status(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", fsync=False)
    bad = Quarantined(T0, "mqtt", "cc/v1/dev/x/up/readings", "invalid_json", "oops", b"\xff{")
    newer = StatusUpdate(ProbeStatus("x", online=True, time_ms=T0 + 10), T0 + 10, "mqtt")
    older = StatusUpdate(ProbeStatus("x", online=False, time_ms=T0), T0 + 20, "mqtt")
    spool.commit([], [bad], [newer])
    spool.commit([], [], [older])  # a late redelivery never overwrites a newer status
    assert spool.quarantine_counts() == {"invalid_json": 1}
    assert spool.quarantine()[0].payload == b"\xff{"
    assert spool.purge_quarantine(T0) == 0  # only items received before the cutoff go
    assert spool.purge_quarantine(T0 + 1) == 1 and spool.quarantine_counts() == {}
    status = spool.statuses()["x"]
    assert status["online"] is True and status["time_ms"] == T0 + 10
    latest = StatusUpdate(ProbeStatus("x", online=False), T0 + 30, "serial:/dev/ttyUSB0")
    spool.commit([], [], [latest])  # no device time: its arrival time orders it
    assert spool.statuses()["x"]["online"] is False
    spool.close()


def test_batches_follow_the_limit_whatever_the_message_sizes(tmp_path: Path) -> None:
    """`take` looks at a number of messages estimated from the last batch: messages of 1 and
    of 200 readings, mixed, still come out whole, oldest first, at most `limit` readings a
    batch (one message alone may exceed it), and none is left behind."""
    spool = Spool(tmp_path / "spool.sqlite3", fsync=False)
    sizes = [200, 200, 1, 1, 1, 150] + [1] * 300 + [120, 7, 200] + [10] * 40
    messages, first = [], 0
    for n in sizes:
        messages.append((message("p", first, n), T0))
        first += n
    spool.commit(messages)
    seqs: list[int] = []
    while (batch := spool.take(250)).first_id is not None:
        assert batch.last_id is not None
        got = batch.readings
        assert len(got) <= 250 or batch.first_id == batch.last_id
        seqs += [r.seq for r in got]
        spool.remove(batch.first_id, batch.last_id)
    assert seqs == list(range(first)) and spool.depth() == 0
    spool.close()
