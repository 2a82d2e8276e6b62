"""`coldchain up` on a fresh data folder: broker, gateway and server, then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coldchain import protocol
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.harness.servers import free_port, require_binary
from tests.support.waiting import wait_until

COLDCHAIN = str(Path(sys.executable).with_name("coldchain"))


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def banner(proc: subprocess.Popen[str]) -> tuple[list[str], bool]:
    """The lines `coldchain up` prints up to the one that says to press Ctrl-C, and whether
    that line came (False: its output ended before)."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            return lines, True
    return lines, False


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], Path]]:
    require_binary("mosquitto")
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    env |= {
        "COLDCHAIN_DATA_DIR": str(var),
        "COLDCHAIN_MQTT__PORT": str(free_port()),
        "COLDCHAIN_SERVER__PORT": str(free_port()),
        "COLDCHAIN_GATEWAY__METRICS_PORT": str(free_port()),
        "COLDCHAIN_GATEWAY__SPOOL_PATH": str(var / "spool.sqlite3"),
        "COLDCHAIN_STORE__SQLITE_PATH": str(var / "readings.sqlite3"),
        "COLDCHAIN_SERVER__DATABASE_URL": f"sqlite:///{var / 'coldchain.sqlite3'}",
    }
    proc = subprocess.Popen(
        [COLDCHAIN, "up"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        lines, ready = banner(proc)
        if not ready:
            logs = "".join(p.read_text() for p in (var / "logs").glob("*.log"))
            raise AssertionError(f"coldchain up did not start:\n{''.join(lines)}\n{logs}")
        assert any("admin@coldchain.local / " in line for line in lines), lines
        yield proc, env, var
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def publish_as_probe(env: dict[str, str], probe_id: str, password: str) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=probe_id, protocol=mqtt.MQTTv311)
    client.username_pw_set(probe_id, password)
    client.connect("127.0.0.1", int(env["COLDCHAIN_MQTT__PORT"]))
    client.loop_start()
    now = int(time.time() * 1000)
    reading = protocol.Reading(probe_id, "air", now, 1, 3.5)
    payload = protocol.encode_readings(protocol.ReadingsBatch(probe_id, "1.0.0", (reading,)))
    info = client.publish(protocol.topic(probe_id, protocol.Kind.READINGS), payload, qos=1)
    info.wait_for_publish(10)
    assert info.rc == mqtt.MQTT_ERR_SUCCESS
    client.disconnect()  # before loop_stop: the network thread then ends at once
    client.loop_stop()


def test_up_runs_the_pipeline_and_stops_cleanly_on_ctrl_c(
    system: tuple[subprocess.Popen[str], dict[str, str], Path],
) -> None:
    proc, env, var = system
    added = subprocess.run(
        [COLDCHAIN, "broker", "add-probe", "probe-07"],
        env=env, cwd=var.parent, capture_output=True, text=True, check=True,
    )  # fmt: skip
    password = added.stdout.split("password ")[1].split()[0]
    publish_as_probe(env, "probe-07", password)
    store = SqliteReadingStore(var / "readings.sqlite3")
    wait_until(lambda: store.count("probe-07") == 1, 30, "the reading in the SQLite store")
    store.close()
    children = children_of(proc.pid)
    assert len(children) == 4  # broker, gateway, alert worker, server
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    assert not [pid for pid in children if alive(pid)]
    credentials = json.loads((var / "broker" / "service-credentials.json").read_text())
    assert set(credentials) == {"coldchain-gateway", "coldchain-server"}
    # A second start keeps the data and the administrator, and says so.
    again = subprocess.Popen(
        [COLDCHAIN, "up"], cwd=var.parent, env=env, stdout=subprocess.PIPE, text=True
    )
    lines, _ = banner(again)
    again.send_signal(signal.SIGINT)
    assert again.wait(60) == 0
    assert any("premier démarrage" in line for line in lines), lines


def test_a_killed_supervisor_leaves_no_orphans(
    system: tuple[subprocess.Popen[str], dict[str, str], Path],
) -> None:
    proc, _, _ = system
    children = children_of(proc.pid)
    assert len(children) == 4
    proc.kill()
    proc.wait()
    wait_until(lambda: not [pid for pid in children if alive(pid)], 30, "children to exit")


def test_a_single_gateway_uses_a_plain_subscription_unless_configured(tmp_path: Path) -> None:
    from coldchain.commands.up import services
    from coldchain.settings import Settings

    settings = Settings(data_dir=tmp_path)
    gateway = next(s for s in services(settings) if s.name == "gateway")
    assert gateway.env["COLDCHAIN_GATEWAY__SHARED_SUBSCRIPTION"] == "false"
    chosen = Settings(data_dir=tmp_path, gateway={"shared_subscription": True})
    gateway = next(s for s in services(chosen) if s.name == "gateway")
    assert "COLDCHAIN_GATEWAY__SHARED_SUBSCRIPTION" not in gateway.env
    worker = next(s for s in services(settings) if s.name == "alert-worker")
    assert worker.env["COLDCHAIN_ALERTING__SHARED_SUBSCRIPTION"] == "false"
    assert worker.env["COLDCHAIN_MQTT__USERNAME"] == "coldchain-server"
