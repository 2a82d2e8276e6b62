"""Serial bridge: probes cabled by USB, one reader thread per port (coldchain/serial_framing.py).

Each `UP` frame goes through the same intake as MQTT; the probe gets `ACK <mid>` once the
message is durable, or `REJ <mid> <reason>` once it is quarantined. Lines that are not frames
(boot banners, tracebacks, corrupted lines) are counted and kept in the quarantine. An
unplugged port is reopened with backoff, so a replugged probe (same device path, e.g. a
/dev/serial/by-id link) carries on by itself.
"""

from __future__ import annotations

import logging
import threading
import time

import serial

from coldchain.protocol import Kind
from coldchain.serial_framing import (
    MAX_LINE_BYTES,
    BadLine,
    LineError,
    UpFrame,
    encode_ack,
    encode_rej,
    parse_line,
)
from gateway.intake import Envelope, Intake, Outcome, now_ms
from gateway.metrics import GatewayMetrics

log = logging.getLogger(__name__)

_KINDS = {"readings": Kind.READINGS, "status": Kind.STATUS}


class SerialPort:
    """Reads one port until stopped, reopening it whenever it goes away."""

    def __init__(
        self,
        port: str,
        baud: int,
        intake: Intake,
        metrics: GatewayMetrics,
        *,
        reopen_max_s: float = 10.0,
    ) -> None:
        self.port = port
        self.baud = baud
        self.intake = intake
        self.metrics = metrics
        self.reopen_max_s = reopen_max_s
        self.source = f"serial:{port}"
        self.opened = threading.Event()
        self.opens = 0  # how many times the port was opened (tests, logs)
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"serial {port}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            try:
                link = serial.Serial(self.port, self.baud, timeout=0.2, write_timeout=2)
            except (serial.SerialException, OSError, ValueError) as exc:
                log.debug("cannot open %s (%s); retry in %.1f s", self.port, exc, backoff)
                self._stop.wait(backoff)
                backoff = min(self.reopen_max_s, backoff * 2)
                continue
            backoff = 0.2
            self.opens += 1
            log.info("serial port %s open", self.port)
            self.opened.set()
            try:
                self._read(link)
            except (serial.SerialException, OSError) as exc:
                log.warning("serial port %s lost (%s); reopening", self.port, exc)
            except Exception:
                # Broad on purpose: the port thread's top loop; whatever a driver or a bug
                # throws is logged with its traceback, the port reopened, the thread kept alive.
                log.exception("serial port %s failed; reopening", self.port)
                self._stop.wait(backoff)
            finally:
                self.opened.clear()
                with self._write_lock:
                    link.close()

    def _read(self, link: serial.Serial) -> None:
        buffer = b""
        overflow = False  # inside a line already too long: skip to its end
        while not self._stop.is_set():
            chunk = link.read(max(1, link.in_waiting))
            if not chunk:
                continue
            buffer += chunk
            while True:
                newline = buffer.find(b"\n")
                if newline < 0:
                    break
                line, buffer = buffer[:newline], buffer[newline + 1 :]
                if overflow:
                    overflow = False
                    continue
                self._line(link, line)
            if len(buffer) > MAX_LINE_BYTES + 2:
                if not overflow:
                    self._noise(LineError.TOO_LONG, buffer[:256])
                overflow = True
                buffer = b""

    def _line(self, link: serial.Serial, raw: bytes) -> None:
        if not raw.strip():
            return
        frame = parse_line(raw)
        if isinstance(frame, UpFrame):
            self.intake.submit(
                Envelope(
                    _KINDS[frame.kind], frame.payload, None, self.source, now_ms(),
                    self._replier(link, frame.mid),
                )
            )  # fmt: skip
        elif isinstance(frame, BadLine):
            self._noise(frame.error, frame.line)
        else:  # ACK/REJ/DOWN travel the other way: a probe never sends them
            self._noise(LineError.NOISE, raw.rstrip(b"\r\n"))

    def _noise(self, error: LineError, line: bytes) -> None:
        self.metrics.serial_noise.labels(self.port).inc()
        self.intake.submit(
            Envelope(
                None, line, None, self.source, now_ms(), _ignore,
                preset_reason=error.value, detail="serial line is not a valid frame",
            )
        )  # fmt: skip

    def _replier(self, link: serial.Serial, mid: int) -> _Reply:
        return _Reply(self, link, mid)

    def send(self, link: serial.Serial, data: bytes) -> None:
        with self._write_lock:
            if not link.is_open:
                return  # the port went away: the probe resends, the spool dedupes
            try:
                link.write(data)
            except (serial.SerialException, OSError) as exc:
                log.warning("cannot answer on %s: %s", self.port, exc)


class _Reply:
    """Answers one UP frame on the link it came from, once the intake has decided."""

    __slots__ = ("bridge", "link", "mid")

    def __init__(self, bridge: SerialPort, link: serial.Serial, mid: int) -> None:
        self.bridge, self.link, self.mid = bridge, link, mid

    def __call__(self, outcome: Outcome) -> None:
        if outcome.accepted:
            self.bridge.send(self.link, encode_ack(self.mid))
        else:
            self.bridge.send(self.link, encode_rej(self.mid, outcome.reason or "rejected"))


def _ignore(_outcome: Outcome) -> None:
    return None


class SerialBridge:
    """All configured ports."""

    def __init__(
        self, ports: list[str], baud: int, intake: Intake, metrics: GatewayMetrics,
        reopen_max_s: float,
    ) -> None:  # fmt: skip
        self.ports = [
            SerialPort(p, baud, intake, metrics, reopen_max_s=reopen_max_s) for p in ports
        ]

    def start(self) -> None:
        for port in self.ports:
            port.start()

    def stop(self) -> None:
        for port in self.ports:
            port.stop()

    def wait_open(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        return all(p.opened.wait(max(0.0, deadline - time.monotonic())) for p in self.ports)
