"""A probe whose clock runs ahead loses nothing: its messages are quarantined (acknowledged),
then replayed once their time has come; the quarantine logs a line per reason per minute.

Real Mosquitto and a real gateway in this process (gateway/quarantine.py). The replay's clock
is the one thing moved by hand: waiting out a real 15-minute clock error would take 15 minutes.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain.protocol import Kind, Reading, ReadingsBatch, encode_readings, topic
from coldchain.readingstore.sqlite import SqliteReadingStore
from gateway.app import Gateway
from gateway.quarantine import ReasonLog, replay
from gateway.simulate import connect
from gateway.spool import Quarantined
from tests.gateway.conftest import gateway_in_process, wait_until
from tests.harness.servers import Mosquitto

PROBE = "van3-fast-clock"
AHEAD_MS = 15 * 60 * 1000  # beyond the contract's 10 minutes (docs/protocol.md)


@pytest.fixture
def gateway(mosquitto: Mosquitto, tmp_path: Path) -> Iterator[Gateway]:
    yield from gateway_in_process(mosquitto.port, tmp_path, "gw-replay")


def _fast_clock_messages(count: int) -> list[ReadingsBatch]:
    start = int(time.time() * 1000) + AHEAD_MS

    def minute(i: int) -> tuple[Reading, ...]:
        return tuple(
            Reading(PROBE, channel, start + i * 60_000, 10 * i + n, 3.0 + n / 10)
            for n, channel in enumerate(("air", "product"))
        )

    return [ReadingsBatch(PROBE, "1.0.0", minute(i)) for i in range(count)]


def _cli(spool: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env["COLDCHAIN_GATEWAY__SPOOL_PATH"] = str(spool)
    done = subprocess.run(
        [sys.executable, "-m", "coldchain.cli", "gateway", "quarantine", *args],
        env=env, capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def test_a_fast_clock_probe_loses_nothing(gateway: Gateway, mosquitto: Mosquitto) -> None:
    store = gateway.sink
    assert isinstance(store, SqliteReadingStore)  # gateway_in_process: the embedded store
    probe = connect("127.0.0.1", mosquitto.port, PROBE)
    sent = _fast_clock_messages(5)
    for batch in sent:
        probe.publish(topic(PROBE, Kind.READINGS), encode_readings(batch), qos=1).wait_for_publish()
    probe.disconnect()
    probe.loop_stop()
    wait_until(
        lambda: gateway.spool.quarantine_counts().get("timestamp_in_future") == 5,
        20,
        "the five fast-clock messages quarantined",
    )
    assert store.count(PROBE) == 0  # acknowledged, kept aside, nothing stored yet

    # Replayed too early (the operator's clock has not reached the readings): all stay.
    out = _cli(gateway.spool.path, "replay")
    assert "stored 0 messages" in out
    assert '"timestamp_in_future": 5' in out
    assert gateway.spool.quarantine_counts() == {"timestamp_in_future": 5}

    # Once the readings' time has passed: stored, released from the quarantine together.
    later = int(time.time() * 1000) + AHEAD_MS + 10 * 60_000
    done = replay(gateway.spool, lambda: later)
    assert (done.messages, done.readings, done.new_readings) == (5, 10, 10)
    assert not done.kept
    assert gateway.spool.quarantine_counts() == {}
    gateway.drainer.wake()
    wait_until(lambda: store.count(PROBE) == 10, 20, "the replayed readings stored")
    stored = {r.key: r.value for r in store.readings(PROBE, 0, later + AHEAD_MS)}
    assert stored == {r.key: r.value for batch in sent for r in batch.readings}

    # A second replay finds nothing: nothing stored twice.
    again = replay(gateway.spool, lambda: later)
    assert (again.messages, again.new_readings) == (0, 0)


def test_noise_and_broken_messages_stay_quarantined(gateway: Gateway) -> None:
    now = int(time.time() * 1000)
    gateway.spool.commit([], [
        Quarantined(now, "serial:/dev/ttyUSB0", None, "crc_mismatch", "", b"RD 1 {garbage"),
        Quarantined(now, "mqtt", topic(PROBE, Kind.READINGS), "invalid_json", "", b"{nope"),
    ])  # fmt: skip
    done = replay(gateway.spool, lambda: now)
    assert done.messages == 0 and done.kept == {"crc_mismatch": 1, "invalid_json": 1}
    assert sum(gateway.spool.quarantine_counts().values()) == 2


def test_one_log_line_per_reason_per_minute(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = ReasonLog(every_s=60, clock=lambda: now[0])
    flood = Quarantined(0, "mqtt", "cc/v1/dev/x/up/readings", "timestamp_in_future", "", b"")
    other = Quarantined(0, "mqtt", "cc/v1/dev/x/up/readings", "invalid_json", "", b"")
    with caplog.at_level(logging.WARNING, logger="gateway.quarantine"):
        for _ in range(13_000):  # what a fast-clock probe and a flood once wrote, line by line
            log.quarantined(flood)
        log.quarantined(other)
        now[0] = 61.0
        log.quarantined(flood)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "timestamp_in_future" in lines[0] and "more" not in lines[0]
    assert "invalid_json" in lines[1]
    assert "12999 more with this reason" in lines[2]
