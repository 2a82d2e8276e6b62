"""`coldchain up` on a fresh data folder: broker, gateway and server, then a clean stop."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coldchain import protocol
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.harness.servers import Mosquitto, free_port, require_binary
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
    assert set(credentials) == {"coldchain-gateway-1", "coldchain-alerts-1"}  # = client ids
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
    assert worker.env["COLDCHAIN_MQTT__USERNAME"] == "coldchain-alerts-1"


def listening_and_connected(pid: int) -> tuple[set[int], set[int]]:
    """The local TCP ports `pid` listens on, and the remote ports it is connected to
    (its sockets looked up in /proc/net/tcp{,6} by inode)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening, connected = set(), set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] not in inodes:
                continue
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "0A":  # LISTEN
                listening.add(int(local.rsplit(":", 1)[1], 16))
            elif state == "01":  # ESTABLISHED
                connected.add(int(remote.rsplit(":", 1)[1], 16))
    return listening, connected


def test_up_gives_its_config_file_to_every_process(tmp_path: Path) -> None:
    """`coldchain --config FILE up`: every process reads FILE (ports, paths), none the
    defaults, and the server answers in time (it used to start on the defaults)."""
    require_binary("mosquitto")
    data = tmp_path / "site"
    mqtt_port, server_port, metrics_port = free_port(), free_port(), free_port()
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "coldchain.toml").write_text(
        f'data_dir = "{data}"\n'
        f"[mqtt]\nport = {mqtt_port}\n"
        f'[store]\nsqlite_path = "{data / "r.sqlite3"}"\n'
        f'[gateway]\nmetrics_port = {metrics_port}\nspool_path = "{data / "s.sqlite3"}"\n'
        f'[server]\nport = {server_port}\ndatabase_url = "sqlite:///{data / "db.sqlite3"}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    # A relative --config, run from the folder above: children get it made absolute.
    proc = subprocess.Popen(
        [COLDCHAIN, "--config", "conf/coldchain.toml", "up"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines, ready = banner(proc)
        logs = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
        assert ready, f"coldchain up did not start:\n{''.join(lines)}\n{logs}"
        assert f"127.0.0.1:{server_port}" in "".join(lines)
        with urllib.request.urlopen(f"http://127.0.0.1:{server_port}/healthz", timeout=5) as r:
            assert r.status == 200
        children = children_of(proc.pid)
        by_name = {Path(f"/proc/{pid}/cmdline").read_bytes(): pid for pid in children}
        assert len(by_name) == 4  # broker, gateway, alert worker, server
        config = str((tmp_path / "conf" / "coldchain.toml").resolve()).encode()
        for cmdline in by_name:
            if b"coldchain.cli" in cmdline:
                assert b"\0--config\0" + config + b"\0" in cmdline, cmdline

        def role(word: bytes) -> int:
            return next(pid for cmdline, pid in by_name.items() if word in cmdline)

        def connected_to_broker(pid: int) -> bool:
            return mqtt_port in listening_and_connected(pid)[1]

        gateway, worker = role(b"\0gateway\0run"), role(b"\0alert-worker")
        wait_until(lambda: connected_to_broker(gateway), 15, "the gateway on the broker")
        wait_until(lambda: connected_to_broker(worker), 15, "the worker on the broker")
        wait_until(
            lambda: metrics_port in listening_and_connected(gateway)[0], 15, "gateway metrics"
        )
        listening = set().union(*(listening_and_connected(pid)[0] for pid in children))
        assert {mqtt_port, server_port, metrics_port} <= listening
        assert not listening & {1883, 8000, 9108}, listening
        for name in ("r.sqlite3", "s.sqlite3", "db.sqlite3", "broker", "logs"):
            assert (data / name).exists(), name
        assert not (tmp_path / "var").exists()  # the default data folder
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert not [pid for pid in children if alive(pid)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_children_run_with_the_config_file_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coldchain.commands.up import services
    from coldchain.settings import Settings

    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=tmp_path, mqtt={"managed": False})
    for service in services(settings, Path("site.toml")):
        assert service.command[3:5] == ["--config", str(tmp_path / "site.toml")], service
    for service in services(settings):
        assert "--config" not in service.command


# --- on the LAN (`coldchain up --lan`) --------------------------------------------------------


def bare_env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    return env | {f"COLDCHAIN_{name.upper()}": value for name, value in settings.items()}


def test_up_lan_refuses_a_broker_open_to_anonymous_clients(
    tmp_path: Path, mosquitto: Mosquitto, mosquitto_acl: Mosquitto
) -> None:
    env = bare_env(
        data_dir=str(tmp_path / "site"),
        mqtt__managed="false",
        mqtt__port=str(mosquitto.port),
        server__port=str(free_port()),
    )
    refused = subprocess.run(
        [COLDCHAIN, "up", "--lan"], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert f"127.0.0.1:{mosquitto.port} accepte les clients anonymes" in refused.stderr
    assert "allow_anonymous false" in refused.stderr
    # The same refusal from the setting; a broker that asks for a password is accepted.
    from coldchain.commands.up import refusal
    from coldchain.settings import Settings

    open_broker = Settings(lan=True, mqtt={"managed": False, "port": mosquitto.port})
    assert refusal(open_broker, lan=False) is not None
    closed = Settings(lan=True, mqtt={"managed": False, "port": mosquitto_acl.port})
    assert refusal(closed, lan=False) is None
    assert refusal(Settings(mqtt={"managed": False, "port": mosquitto.port}), lan=False) is None


def test_managed_plain_mqtt_beyond_loopback_needs_plain_on_lan() -> None:
    from coldchain.commands.up import refusal
    from coldchain.settings import Settings

    wide = Settings(mqtt={"host": "0.0.0.0"})
    assert "mqtt.plain_on_lan = true" in (refusal(wide, lan=False) or "")
    assert refusal(Settings(mqtt={"host": "0.0.0.0", "plain_on_lan": True}), lan=False) is None
    assert refusal(Settings(), lan=True) is None  # managed: always with passwords


def test_up_lan_prints_every_address_a_phone_or_probe_can_use(tmp_path: Path) -> None:
    from coldchain import network
    from coldchain.commands.up import addresses, services
    from coldchain.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        server={"port": 8100},
        mqtt={"tls_port": 8884, "public_host": "froid.lan"},
    )
    lan_ips = network.lan_addresses()
    by_name = {s.name: s for s in services(settings, lan=True, lan_ips=lan_ips)}
    assert by_name["server"].env["COLDCHAIN_SERVER__HOST"] == "0.0.0.0"
    printed = addresses(settings, True, lan_ips)
    phone, probes = printed.split("depuis un téléphone")[1].split("sondes / probes")
    for host in [*network.host_names(), *lan_ips]:
        assert f"http://{host}:8100/" in phone
        assert f"{host}:8884" in probes
    assert "froid.lan:8884" in probes and "127.0.0.1" not in phone
    assert f"CA de chaque sonde / CA each probe carries : {tmp_path.resolve()}/tls/ca.pem" in probes
    assert all(not ip.startswith("127.") for ip in lan_ips)
    # Behind a reverse proxy (server.host set): the pages stay on loopback, the broker opens.
    proxied = Settings(data_dir=tmp_path, server={"host": "127.0.0.1"})
    by_name = {s.name: s for s in services(proxied, lan=True, lan_ips=lan_ips)}
    assert "COLDCHAIN_SERVER__HOST" not in by_name["server"].env
    printed = addresses(proxied, True, lan_ips)
    assert "depuis un téléphone" not in printed and "proxy HTTPS" in printed
    assert f"{network.host_names()[0]}:8883" in printed
    local = addresses(Settings(data_dir=tmp_path), False, [])
    assert "http://127.0.0.1:8000/" in local and "coldchain up --lan" in local


def test_a_port_held_by_a_system_mosquitto_says_what_to_do(tmp_path: Path) -> None:
    with socket.socket() as holder:  # stands for the system's Mosquitto on the port
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = bare_env(data_dir=str(tmp_path / "site"), mqtt__port=str(port))
        taken = subprocess.run(
            [COLDCHAIN, "up"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert taken.returncode == 2
    assert f"127.0.0.1:{port} est déjà pris / is already in use (mqtt.port)" in taken.stderr
    assert f"mqtt.port = {port + 1}" in taken.stderr
    assert f"COLDCHAIN_MQTT__PORT={port + 1}" in taken.stderr
    assert "sudo systemctl disable --now mosquitto" in taken.stderr
