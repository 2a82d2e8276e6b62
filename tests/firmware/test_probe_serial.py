"""USB serial transport through a pty, against a Python peer speaking coldchain.serial_framing."""

from __future__ import annotations

import os
import pty
import select
import time
import tty
from collections.abc import Callable, Iterator

import pytest

from coldchain import protocol, serial_framing
from coldchain.serial_framing import BadLine, UpFrame
from tests.firmware.conftest import SimProbe, now_ms, probe_config, scenario


def _seqs(payload: bytes) -> list[int]:
    batch = protocol.parse_readings(payload, now_ms())
    assert isinstance(batch, protocol.ReadingsBatch), batch
    return [r.seq for r in batch.readings]


class Peer:
    """The gateway end of the cable (the real serial bridge is gateway/serial_bridge.py)."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)  # no echo, no newline translation: a plain byte pipe
        self.path = os.ttyname(self.slave)
        self._buf = b""

    def lines(self, timeout: float) -> Iterator[bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                self._buf += os.read(self.master, 65536)
            while b"\n" in self._buf:
                line, self._buf = self._buf.split(b"\n", 1)
                yield line

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def peer() -> Iterator[Peer]:
    p = Peer()
    yield p
    p.close()


def test_serial_link_acks_rejects_resends_and_takes_config(
    peer: Peer, sim: Callable[..., SimProbe]
) -> None:
    cfg = probe_config(None, transport="serial", serial_path=peer.path, serial_response_s=1)
    probe = sim(cfg, scenario())
    probe.start()
    readings: list[int] = []
    frames: list[UpFrame] = []
    ignored_once = rejected_once = config_sent = False
    for line in peer.lines(timeout=30):
        frame = serial_framing.parse_line(line)
        if isinstance(frame, BadLine):
            continue  # the probe's own log lines do not come this way, but be a tolerant peer
        assert isinstance(frame, UpFrame), frame
        frames.append(frame)
        if frame.kind == "status":
            assert isinstance(protocol.parse_status(frame.payload, now_ms()), protocol.ProbeStatus)
            peer.send(serial_framing.encode_ack(frame.mid))
            continue
        batch = protocol.parse_readings(frame.payload, now_ms())
        assert isinstance(batch, protocol.ReadingsBatch), batch
        if not ignored_once:
            ignored_once = True  # no answer: the probe must send the same readings again
            continue
        if not rejected_once and readings:
            rejected_once = True
            peer.send(serial_framing.encode_rej(frame.mid, protocol.Reason.TIMESTAMP_IN_FUTURE))
            rejected = [r.seq for r in batch.readings]
            continue
        readings.extend(r.seq for r in batch.readings)
        peer.send(serial_framing.encode_ack(frame.mid))
        if not config_sent and len(readings) > 5:
            config_sent = True
            # Noise and hostile lines first: a REPL banner, a torn frame, a bad CRC, a huge line.
            peer.send(b"MicroPython v1.24.1 on 2024-11-29; ESP32 module with ESP32\r\n")
            peer.send(b'DOWN config {"v":1,"interval":20}*00000000\n')
            peer.send(b"ACK 70000\n")
            peer.send(b"DOWN config " + b"x" * 20_000 + b"\n")
            peer.send(serial_framing.encode_down("config", b'{"v":1,"interval":"20"}'))
            peer.send(serial_framing.encode_down("config", b'{"v":1,"interval":20}'))
        if len(readings) >= 30:
            break
    probe.stop()
    assert ignored_once and rejected_once and config_sent
    # The unanswered message came again; the rejected one did not (the gateway keeps it).
    sent = [_seqs(f.payload) for f in frames if f.kind == "readings"]
    assert sent[1][: len(sent[0])] == sent[0]
    assert not set(rejected) & set(readings)
    assert sorted(set(readings) | set(rejected)) == list(range(1, max(readings) + 1))
    assert any("config applied: interval 20 s" in s for s in probe.lines)
    assert any("config rejected: wrong_type" in s for s in probe.lines)
    assert any("gateway rejected readings" in s for s in probe.lines)


def test_serial_down_frames_drive_the_alarm(peer: Peer, sim: Callable[..., SimProbe]) -> None:
    cfg = probe_config(None, transport="serial", serial_path=peer.path)
    probe = sim(cfg, scenario())
    probe.start()
    for line in peer.lines(timeout=10):
        frame = serial_framing.parse_line(line)
        if isinstance(frame, UpFrame):
            peer.send(serial_framing.encode_ack(frame.mid))
            break
    on = protocol.encode_alarm(protocol.AlarmCommand(on=True, text="Porte ouverte"))
    peer.send(serial_framing.encode_down("alarm", on))
    probe.wait_line(lambda s: s == "EV buzzer 1")
    probe.wait_line(lambda s: s == "EV display Porte ouverte")
