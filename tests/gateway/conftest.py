"""Gateway test helpers: the gateway as a real subprocess (`coldchain gateway run`)."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coldchain.settings import GatewaySettings, MqttSettings, Settings, StoreSettings
from gateway.app import Gateway
from tests.harness.servers import Mosquitto, free_port, tail
from tests.support.waiting import wait_until as wait_until  # the gateway tests' import

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3600 * 1000


def past_start_ms(hours: float = 6) -> int:
    """A device time safely in the past (the validator refuses > 10 min ahead)."""
    return (int(time.time() * 1000) - int(hours * HOUR_MS)) // 1000 * 1000


@dataclass
class GatewayProcess:
    """`coldchain gateway run` with settings from COLDCHAIN_* variables; kill -9 and restart."""

    workdir: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)
    starts: int = 0

    def __post_init__(self) -> None:
        self.log = self.workdir / "gateway.log"

    def start(self, wait_subscribed: bool = True, timeout: float = 30) -> None:
        mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "coldchain.cli", "gateway", "run"],
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        if wait_subscribed:
            self.wait_for_log("subscribed to", timeout, since=mark)

    def wait_for_log(self, text: str, timeout: float = 30, since: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_bytes()[since:].decode(errors="replace"):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{tail(self.log)}")
            time.sleep(0.05)
        raise TimeoutError(f"gateway log has no {text!r} after {timeout} s:\n{tail(self.log)}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 60) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    @property
    def spool_path(self) -> Path:
        return Path(self.env["COLDCHAIN_GATEWAY__SPOOL_PATH"])


def gateway_in_process(broker_port: int, workdir: Path, client_id: str) -> Iterator[Gateway]:
    """For a fixture (`yield from`): a gateway in this process, on the broker at `broker_port`
    with the embedded SQLite store, started and subscribed; stopped after."""
    settings = Settings(
        mqtt=MqttSettings(port=broker_port),
        store=StoreSettings(kind="sqlite", sqlite_path=workdir / "readings.sqlite3"),
        gateway=GatewaySettings(
            client_id=client_id,
            spool_path=workdir / "spool.sqlite3",
            metrics_port=None,
            spool_fsync=False,
        ),
    )
    gw = Gateway(settings)
    collector = gc.get_threshold(), gc.get_freeze_count()
    gw.start()
    assert gw.mqtt is not None and gw.mqtt.subscribed.wait(10)
    # Embedded, it leaves this process's garbage collector alone (gateway/app.py: only
    # `run`, its own process, settles it).
    assert (gc.get_threshold(), gc.get_freeze_count()) == collector
    yield gw
    gw.stop()


def gateway_env(
    workdir: Path, broker: Mosquitto, store: dict[str, str], client_id: str = "gw-1", **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env.update(
        PYTHONPATH=str(REPO),
        COLDCHAIN_MQTT__HOST="127.0.0.1",
        COLDCHAIN_MQTT__PORT=str(broker.port),
        COLDCHAIN_GATEWAY__CLIENT_ID=client_id,
        COLDCHAIN_GATEWAY__SPOOL_PATH=str(workdir / f"spool-{client_id}.sqlite3"),
        COLDCHAIN_GATEWAY__METRICS_PORT=str(free_port()),
        COLDCHAIN_GATEWAY__SINK_MAX_BACKOFF_S="1",
        # The test machine is shared: fsync per commit would measure the disk, not the code.
        COLDCHAIN_GATEWAY__SPOOL_FSYNC="false",
    )
    env.update({f"COLDCHAIN_STORE__{k.upper()}": v for k, v in store.items()})
    env.update({f"COLDCHAIN_GATEWAY__{k.upper()}": v for k, v in extra.items()})
    return env


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[GatewayProcess] = []

    def make(
        broker: Mosquitto, store: dict[str, str], client_id: str = "gw-1", **extra: str
    ) -> GatewayProcess:
        workdir = tmp_path / f"gateway-{client_id}"
        workdir.mkdir(exist_ok=True)
        gw = GatewayProcess(workdir, gateway_env(workdir, broker, store, client_id, **extra))
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.kill()
