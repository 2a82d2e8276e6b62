"""Helpers for the firmware tests: the real firmware on the MicroPython unix port, real brokers.

The probe runs as `micropython firmware/esp32/sim_main.py` with the simulated board
(board_sim.py): only the ESP32's pins are simulated, everything else is the firmware's own code.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import FIRMWARE
from tests.harness.servers import SERVER_USER, MicroPython, Mosquitto

FW_TESTS = FIRMWARE / "tests"
SPEED = 60  # scenario seconds per real second


class SimProbe:
    """One simulated probe process: config, scenario, data folder, stdout lines."""

    def __init__(
        self, mp: MicroPython, workdir: Path, cfg: dict[str, Any], scenario: dict[str, Any]
    ):
        self.mp = mp
        self.workdir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.cfg_path = workdir / "config.json"
        self.scenario_path = workdir / "scenario.json"
        self.cfg_path.write_text(json.dumps(cfg))
        self.scenario_path.write_text(json.dumps(scenario))
        self.proc: subprocess.Popen[bytes] | None = None
        self.lines: list[str] = []
        self.times: list[float] = []  # host time.time() when each line arrived
        self._cond = threading.Condition()

    def start(self) -> None:
        self.proc = self.mp.popen(
            FIRMWARE / "sim_main.py",
            module_path=[FIRMWARE],
            cwd=self.workdir,
            args=[str(self.cfg_path), str(self.scenario_path), str(self.data)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with self._cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.times.append(time.time())
                self._cond.notify_all()

    def mark(self) -> int:
        """Position to pass as `since`, to wait only for lines printed after this point."""
        with self._cond:
            return len(self.lines)

    def wait_line(
        self, predicate: Callable[[str], bool], timeout: float = 20, since: int = 0
    ) -> str:
        deadline = time.monotonic() + timeout
        seen = since
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(
                        f"no matching line within {timeout} s; last lines:\n{tail}"
                    )
                self._cond.wait(left)

    def time_of(self, line: str) -> float:
        with self._cond:
            return self.times[self.lines.index(line)]

    def events(self, name: str) -> list[str]:
        prefix = f"EV {name} "
        return [line[len(prefix) :] for line in list(self.lines) if line.startswith(prefix)]

    def press_button(self) -> None:
        (self.data / "button").touch()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def assert_alive(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, "\n".join(self.lines[-40:])


def probe_config(
    broker: Mosquitto | None, probe_id: str = "probe-01", **extra: Any
) -> dict[str, Any]:
    cfg: dict[str, Any] = {"id": probe_id, "interval_s": 10, "stable_s": 30}
    if broker is not None:
        cfg["mqtt"] = {
            "host": broker.host,
            "port": broker.port,
            "user": "probe-01",
            "password": broker.users.get("probe-01"),
            "keepalive_s": 10,
            "response_s": 5,
            "max_backoff_s": 2,
        }
    cfg.update(extra)
    return cfg


def scenario(**extra: Any) -> dict[str, Any]:
    """Scenario clock starts an hour in the past so readings are never 'in the future'."""
    now = time.time()
    sc: dict[str, Any] = {
        "t0": now,
        "start": int(now) - 3600,
        "speed": SPEED,
        "series": {"air": [[0, 3.5]], "product": [[0, 3.0]]},
        "door": [[0, 0]],
    }
    sc.update(extra)
    return sc


class Collector:
    """The server side: an MQTT client (the server account) recording up/ messages."""

    def __init__(self, broker: Mosquitto):
        self.broker = broker
        self.messages: list[tuple[str, bytes, bool]] = []
        self._readings: list[dict[str, Any]] = []  # those of messages[: _parsed]
        self._parsed = 0
        self._lock = threading.Condition()
        # A persistent session: what the probe sends while this client reconnects is queued.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="test-server", clean_session=False
        )
        self.client.reconnect_delay_set(1, 1)
        user = SERVER_USER
        if user in broker.users:
            self.client.username_pw_set(user, broker.users[user])
        if broker.ca_file is not None:
            self.client.tls_set(ca_certs=str(broker.ca_file))
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self._subscribed = threading.Event()
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        # Until the broker has the subscription, what a probe publishes reaches nobody.
        if not self._subscribed.wait(10):
            raise AssertionError("collector: no SUBACK from the broker within 10 s")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        client.subscribe("cc/v1/dev/+/up/#", qos=1)

    def _on_subscribe(self, *_: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
            self._lock.notify_all()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def readings(self) -> list[dict[str, Any]]:
        """Every reading received, in arrival order (parsed as plain JSON).

        Each message is parsed once: `wait_for` asks again at every message, and parsing
        them all each time made this process compete with the probe for the CPU."""
        with self._lock:
            for topic, payload, _ in self.messages[self._parsed :]:
                if topic.endswith("/up/readings"):
                    self._readings.extend(json.loads(payload)["r"])
                self._parsed += 1
            return list(self._readings)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("condition not met in time")
                self._lock.wait(min(left, 0.5))

    def close(self) -> None:
        # DISCONNECT first: the network thread then ends at once, instead of at the end of
        # its select() (about a second per test).
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sim(micropython: MicroPython, tmp_path: Path) -> Iterator[Callable[..., SimProbe]]:
    made: list[SimProbe] = []

    def make(cfg: dict[str, Any], sc: dict[str, Any], name: str = "probe") -> SimProbe:
        probe = SimProbe(micropython, tmp_path / name, cfg, sc)
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.stop()
        # Shown by pytest only when the test failed: what the firmware said last.
        print(f"--- {probe.workdir.name}: last lines ---", *probe.lines[-40:], sep="\n")


@pytest.fixture
def collector_factory() -> Iterator[Callable[[Mosquitto], Collector]]:
    """Collectors on a broker; every one closed after the test."""
    with contextlib.ExitStack() as made:
        yield lambda broker: made.enter_context(contextlib.closing(Collector(broker)))


@pytest.fixture
def server(
    mosquitto_acl: Mosquitto, collector_factory: Callable[[Mosquitto], Collector]
) -> Collector:
    """The server side of the probes on the broker with the probe ACL (`mosquitto_acl`)."""
    return collector_factory(mosquitto_acl)


def now_ms() -> int:
    return int(time.time() * 1000)
