"""`coldchain install --systemd` into a temporary folder (never systemd's own: no root
change, no `systemctl enable` in tests): the units' text, `systemd-analyze verify` on them,
the choice offered when another Mosquitto holds the port (a real one here), the include a
system Mosquitto reads (a real Mosquitto loads it), and `coldchain run-service` becoming the
broker itself."""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from coldchain import broker
from coldchain.cli import main
from coldchain.commands.install import planned_services, set_in_toml
from coldchain.commands.up import services
from coldchain.settings import load_settings
from tests.harness.servers import free_port, require_binary, stop_process, wait_for_port

UNITS = {
    "coldchain-broker.service", "coldchain-gateway.service", "coldchain-alert-worker.service",
    "coldchain-server.service", "coldchain.target", "coldchain-backup.service",
    "coldchain-backup.timer",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("COLDCHAIN_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "etc" / "coldchain.toml"
    path.parent.mkdir()
    path.write_text(
        f'data_dir = "{tmp_path / "lib"}"\n# the broker\n[mqtt]\nport = {free_port()}\n'
        f"[server]\nport = {free_port()}\n"
    )
    return path


def install(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    status = main(["--config", str(config), "install", "--systemd", *args])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_the_units_run_each_service_as_the_dedicated_user(config, tmp_path, capsys) -> None:
    prefix = tmp_path / "units"
    status, out = install(capsys, config, "--prefix", str(prefix), "--backup-to", "/media/usb")
    assert status == 0, out
    assert {p.name for p in prefix.iterdir()} == UNITS
    assert "rien n'est activé" in out and "systemctl enable --now coldchain.target" in out
    data = tmp_path / "lib"
    for name in ("broker", "gateway", "alert-worker", "server"):
        text = (prefix / f"coldchain-{name}.service").read_text()
        for line in (
            "User=coldchain", "Group=coldchain", "Restart=on-failure",
            "RestartPreventExitStatus=2",
            "StandardOutput=journal", f"Environment=COLDCHAIN_CONFIG={config}",
            f"Environment=COLDCHAIN_DATA_DIR={data}",
            f"ExecStart={sys.executable} -m coldchain.cli --config {config} run-service {name}",
        ):  # fmt: skip
            assert line in text.splitlines(), (name, line)
        assert not {"User=root", "Group=root"} & set(text.splitlines())
    timer = (prefix / "coldchain-backup.timer").read_text()
    assert "OnCalendar=*-*-* 02:30:00" in timer and "Persistent=true" in timer
    backup = (prefix / "coldchain-backup.service").read_text()
    assert f"--config {config} backup --keep 14 --to /media/usb" in backup
    assert not data.exists()  # writing units touches no data

    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed here: the units were not verified")
    checked = subprocess.run(
        [verify, "verify", "--man=no", *sorted(str(p) for p in prefix.iterdir())],
        env={**os.environ, "SYSTEMD_UNIT_PATH": f"{prefix}:"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    # systemd-analyze exits 0 on settings it ignores: its complaints are on stderr.
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_dry_run_prints_the_units_and_writes_nothing(config, tmp_path, capsys) -> None:
    status, out = install(capsys, config, "--prefix", str(tmp_path / "units"), "--dry-run")
    assert status == 0, out
    assert f"# --- {tmp_path / 'units' / 'coldchain-gateway.service'}" in out
    assert "ExecStart=" in out and "--dry-run : rien n'est écrit ni activé" in out
    assert not (tmp_path / "units").exists()


def test_the_units_are_the_processes_of_coldchain_up(config) -> None:
    require_binary("mosquitto_passwd")
    settings = load_settings(config)
    assert planned_services(settings) == [s.name for s in services(settings, config)]
    config.write_text(config.read_text() + "[alerting]\nin_server = true\n")
    settings = load_settings(config)
    assert planned_services(settings) == [s.name for s in services(settings, config)]
    assert "alert-worker" not in planned_services(settings)


def test_a_mosquitto_already_on_the_port_stops_the_install_with_two_choices(
    config, tmp_path, capsys, mosquitto
) -> None:
    config.write_text(set_in_toml(config.read_text(), "mqtt", {"port": mosquitto.port}))
    prefix = tmp_path / "units"
    status, out = install(capsys, config, "--prefix", str(prefix))
    assert status == 2 and not prefix.exists()
    assert f"le port {mosquitto.port} est déjà pris par un autre broker MQTT" in out
    assert "--system-broker" in out and f"--broker-port {mosquitto.port + 1}" in out

    status, out = install(capsys, config, "--prefix", str(prefix), "--broker-port", "18841")
    assert status == 0, out
    assert load_settings(config).mqtt.port == 18841
    assert "# the broker" in config.read_text()  # the operator's file kept, comments too


def test_the_system_mosquitto_uses_coldchain_accounts_through_its_include(
    config, tmp_path, capsys
) -> None:
    binary = require_binary("mosquitto")
    conf_d = tmp_path / "mosquitto" / "conf.d"
    status, out = install(capsys, config, "--prefix", str(tmp_path / "units"),
                          "--system-broker", "--mosquitto-conf-d", str(conf_d))  # fmt: skip
    assert status == 0, out
    settings = load_settings(config)
    assert settings.mqtt.managed is False and settings.mqtt.coldchain_accounts is True
    assert "coldchain-broker.service" not in {p.name for p in (tmp_path / "units").iterdir()}
    with config.open("rb") as file:
        assert tomllib.load(file)["mqtt"]["managed"] is False

    # The Debian layout: the main file includes conf.d; this Mosquitto reads our include.
    # (Debian's runs as `mosquitto`, whom the real install adds to coldchain's group: a root
    # change a test does not make; this one runs as the test's user.)
    main_conf = tmp_path / "mosquitto" / "mosquitto.conf"
    main_conf.write_text(
        f"user {pwd.getpwuid(os.getuid()).pw_name}\ninclude_dir {conf_d}\n"
    )  # Debian's main file declares no listener: the include does (coldchain/systemd.py)
    proc = subprocess.Popen([binary, "-c", str(main_conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for_port(settings.mqtt.port, proc, 10, main_conf)
        # Each service its own account, as `coldchain up` and the units start them.
        envs = {s.name: s.env for s in services(settings, config) if s.name != "server"}
        assert "broker" not in envs
        accounts = {
            name: (env["COLDCHAIN_MQTT__USERNAME"], env["COLDCHAIN_MQTT__PASSWORD"])
            for name, env in envs.items()
        }
        assert accounts["gateway"][0] == broker.GATEWAY_USER
        assert accounts["alert-worker"][0] == broker.SERVER_USER
        assert not _connects(settings.mqtt.port, None, None)  # anonymous refused
        # The gateway's session stays its own: the worker's account asking for the gateway's
        # client id gets its own name instead (use_username_as_clientid), nobody is thrown out.
        gateway = _connected(settings.mqtt.port, *accounts["gateway"], broker.GATEWAY_USER)
        thrown_out: queue.Queue[object] = queue.Queue()
        gateway.on_disconnect = lambda *why: thrown_out.put(why)
        try:
            other = _connected(settings.mqtt.port, *accounts["alert-worker"],
                               client_id=broker.GATEWAY_USER)  # fmt: skip
            other.loop_stop()
            other.disconnect()
            with pytest.raises(queue.Empty):
                thrown_out.get(timeout=1)
        finally:
            gateway.loop_stop()
            gateway.disconnect()
    finally:
        stop_process(proc)


def _connected(port: int, username: str, password: str, client_id: str) -> mqtt.Client:
    """A client connected with these credentials (its loop running), or AssertionError."""
    answers: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.on_connect = lambda _c, _u, _f, code, _p: answers.put(not code.is_failure)
    client.username_pw_set(username, password)
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    assert answers.get(timeout=10), f"{username} refused"
    return client


def _connects(port: int, username: str | None, password: str | None) -> bool:
    """Whether the broker accepts these credentials (its CONNACK, not a timeout)."""
    answers: queue.Queue[bool] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="install-test")
    client.on_connect = lambda _c, _u, _f, code, _p: answers.put(not code.is_failure)
    if username is not None:
        client.username_pw_set(username, password)
    client.connect("127.0.0.1", port, keepalive=10)
    client.loop_start()
    try:
        return answers.get(timeout=10)
    finally:
        client.loop_stop()
        client.disconnect()


def test_run_service_becomes_the_broker_itself(config, tmp_path) -> None:
    require_binary("mosquitto")
    settings = load_settings(config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "coldchain.cli", "--config", str(config), "run-service", "broker"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(settings.mqtt.port, proc, 20, tmp_path / "none.log")
        # The same process: systemd supervises Mosquitto itself, not a Python parent.
        assert Path(f"/proc/{proc.pid}/exe").resolve().name == "mosquitto"
        conf = (tmp_path / "lib" / "broker" / "mosquitto.conf").read_text()
        assert f"user {pwd.getpwuid(os.getuid()).pw_name}" in conf.splitlines()
    finally:
        stop_process(proc)


def test_the_data_folder_the_units_use_is_written_in_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed with the data folder in the environment only: the file gains it, so every
    later `coldchain --config FILE …` works on the services' folder."""
    config = tmp_path / "coldchain.toml"
    config.write_text(f"[mqtt]\nport = {free_port()}\n[server]\nport = {free_port()}\n")
    monkeypatch.setenv("COLDCHAIN_DATA_DIR", str(tmp_path / "srv"))
    status, out = install(capsys, config, "--prefix", str(tmp_path / "units"))
    assert status == 0, out
    assert tomllib.loads(config.read_text())["data_dir"] == str(tmp_path / "srv")
    monkeypatch.delenv("COLDCHAIN_DATA_DIR")
    assert load_settings(config).data_dir == tmp_path / "srv"
