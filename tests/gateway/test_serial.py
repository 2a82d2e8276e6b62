"""Serial bridge over real pseudo-terminals (os.openpty) read with real pyserial.

The test plays the probe on the master side of each pty; the gateway opens the slave through
a symlink, as it would a /dev/serial/by-id/... link, so an unplug (the pty closed) and a
replug (a new pty behind the same link) are what a USB probe does.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain.protocol import Reading, ReadingsBatch, encode_readings
from coldchain.readingstore.sqlite import SqliteReadingStore
from coldchain.serial_framing import encode_up
from coldchain.settings import GatewaySettings, Settings, StoreSettings
from gateway.app import Gateway
from tests.gateway.conftest import past_start_ms, wait_until


class Probe:
    """The master end of a pty, with the slave reachable through `link`."""

    def __init__(self, link: Path) -> None:
        self.link = link
        self.master, self.slave = os.openpty()
        self.tty = os.ttyname(self.slave)
        tmp = link.with_suffix(".new")
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(self.tty)
        os.replace(tmp, link)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def expect_line(self, prefix: bytes, timeout: float = 10) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                if line.startswith(prefix):
                    return line
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                self.buffer += os.read(self.master, 4096)
        raise TimeoutError(f"no line starting with {prefix!r}; got {self.buffer!r}")

    def unplug(self) -> None:
        """As udev does, the link goes with the device. Left behind, it named a freed pty
        that the kernel gives to the next process asking for one: in CI, the firmware's
        serial test on the other worker. The gateway, retrying the link, opened that test's
        pty and the two tests answered each other's frames (both failed)."""
        if self.link.is_symlink() and os.readlink(self.link) == self.tty:
            self.link.unlink()
        os.close(self.master)
        os.close(self.slave)


def readings_frame(mid: int, probe: str, seqs: range, start_ms: int) -> bytes:
    batch = ReadingsBatch(
        probe, "1.0.0", tuple(Reading(probe, "air", start_ms + s * 60_000, s, 3.5) for s in seqs)
    )
    return encode_up(mid, "readings", encode_readings(batch))


@pytest.fixture
def ports(tmp_path: Path) -> Iterator[tuple[Gateway, Probe, Probe, Path]]:
    first, second = Probe(tmp_path / "ttyPROBE1"), Probe(tmp_path / "ttyPROBE2")
    store = tmp_path / "readings.sqlite3"
    settings = Settings(
        store=StoreSettings(kind="sqlite", sqlite_path=store),
        gateway=GatewaySettings(
            spool_path=tmp_path / "spool.sqlite3",
            metrics_port=None,
            spool_fsync=False,
            serial_ports=[str(first.link), str(second.link)],
            serial_reopen_max_s=0.5,
        ),
    )
    gw = Gateway(settings, mqtt=False)
    gw.start()
    assert gw.serial.wait_open(10)
    yield gw, first, second, store
    gw.stop()


def test_serial_probes_acknowledged_noise_kept_unplug_survived(ports) -> None:
    gw, first, second, store_path = ports
    start = past_start_ms()
    # A boot banner, a valid frame, a frame the validator rejects, a corrupted frame.
    first.send(b"MicroPython v1.29.0 on 2026-01-01; ESP32 module with ESP32\r\n")
    first.send(readings_frame(1, "van1-zone-a", range(0, 10), start))
    future = ReadingsBatch(
        "van1-zone-a", "1.0.0", (Reading("van1-zone-a", "air", 4_000_000_000_000, 99, 3.0),)
    )
    first.send(encode_up(2, "readings", encode_readings(future)))
    first.send(readings_frame(3, "van1-zone-a", range(10, 12), start)[:-5] + b"0000\n")
    status = b'{"v":1,"id":"van1-zone-a","online":true,"rssi":null}'
    first.send(encode_up(4, "status", status))
    assert first.expect_line(b"ACK 1") == b"ACK 1"
    assert first.expect_line(b"REJ 2") == b"REJ 2 timestamp_in_future"
    assert first.expect_line(b"ACK 4") == b"ACK 4"
    # Meanwhile the other port works on its own.
    second.send(readings_frame(7, "van2-zone-b", range(0, 5), start))
    assert second.expect_line(b"ACK 7") == b"ACK 7"

    # Unplug the first probe: the gateway notices, keeps trying the link, reopens on replug.
    port = gw.serial.ports[0]
    first.unplug()
    assert not first.link.exists()  # nothing behind the name until the replug
    wait_until(lambda: not port.opened.is_set(), 10, "gateway noticed the unplug")
    time.sleep(1.0)  # a few failed reopen attempts while nothing is behind the link
    replugged = Probe(first.link)
    wait_until(lambda: port.opens >= 2 and port.opened.is_set(), 15, "port reopened")
    replugged.send(readings_frame(1, "van1-zone-a", range(10, 20), start))
    assert replugged.expect_line(b"ACK 1") == b"ACK 1"

    store = SqliteReadingStore(store_path)
    wait_until(lambda: store.count() == 25, 20, "serial readings in the store")
    assert [r.seq for r in store.readings("van1-zone-a", start, start + 10**9)] == list(range(20))
    counts = gw.spool.quarantine_counts()
    assert counts == {"not_a_frame": 1, "crc_mismatch": 1, "timestamp_in_future": 1}
    banner = gw.spool.quarantine(reason="not_a_frame")[0]
    assert banner.payload.startswith(b"MicroPython v1.29.0") and banner.source.startswith("serial:")
    assert (
        gw.metrics.registry.get_sample_value(
            "coldchain_gateway_serial_noise_lines_total", {"port": str(first.link)}
        )
        == 2
    )
    assert gw.spool.statuses()["van1-zone-a"]["online"] is True
    store.close()
    replugged.unplug()
    second.unplug()


def test_oversize_serial_line_is_noise_not_a_crash(ports) -> None:
    gw, first, _second, _store = ports
    first.send(b"X" * 40_000 + b"\n")
    first.send(readings_frame(9, "van1-zone-a", range(0, 2), past_start_ms()))
    assert first.expect_line(b"ACK 9") == b"ACK 9"
    assert gw.spool.quarantine_counts() == {"line_too_long": 1}
