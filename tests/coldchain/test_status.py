"""`coldchain status` against a real running set: the managed Mosquitto and the gateway
started as the systemd units start them (`coldchain run-service`), a migrated server
database, a reading store with one probe heard from ten minutes ago and one three hours ago;
the alert worker and the server left stopped, which the status must say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain import broker, protocol
from coldchain.backups import copy_sqlite
from coldchain.cli import main
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.harness.servers import free_port, require_binary, stop_process, wait_for_port


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("COLDCHAIN_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def site(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Path, dict[str, int]]]:
    require_binary("mosquitto")
    ports = {"mqtt": free_port(), "server": free_port(), "metrics": free_port()}
    config = tmp_path / "coldchain.toml"
    config.write_text(
        f'data_dir = "{tmp_path / "lib"}"\n[mqtt]\nport = {ports["mqtt"]}\n'
        f"[server]\nport = {ports['server']}\n[gateway]\nmetrics_port = {ports['metrics']}\n"
    )
    copy_sqlite(sqlite_template, tmp_path / "lib" / "coldchain.sqlite3")
    now = int(time.time() * 1000)
    store = SqliteReadingStore(tmp_path / "lib" / "readings.sqlite3")
    store.write([
        protocol.Reading("van-a-1", "air", now - 10 * 60_000, 1, 3.5),
        protocol.Reading("van-b-9", "air", now - 3 * 3600_000, 1, 4.0),
    ])  # fmt: skip
    store.close()
    started = []
    try:
        for name, port in (("broker", ports["mqtt"]), ("gateway", ports["metrics"])):
            proc = subprocess.Popen(
                [sys.executable, "-m", "coldchain.cli", "--config", str(config),
                 "run-service", name],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            started.append(proc)
            wait_for_port(port, proc, 30, tmp_path / "none.log")
        yield config, ports
    finally:
        for proc in reversed(started):
            stop_process(proc)


def status(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = main(["--config", str(config), "status", *args])
    out = capsys.readouterr()
    return code, out.out + out.err


def line(output: str, label: str) -> str:
    found = [row for row in output.splitlines() if re.match(rf"^  (ok |!! ) {label}\s", row)]
    assert len(found) == 1, output
    return found[0]


def test_status_says_what_runs_what_does_not_and_which_probes_were_heard(
    site, tmp_path, capsys
) -> None:
    config, ports = site
    code, out = status(capsys, config, "--units", str(tmp_path / "no-units"))
    assert code == 1, out  # the server and the alert worker are stopped
    assert re.search(rf"ok  broker +en marche \(pid \d+, port {ports['mqtt']} répond\)", out)
    assert re.search(rf"ok  gateway +en marche \(pid \d+, port {ports['metrics']} répond\)", out)
    assert line(out, "alert-worker").endswith("arrêté")
    assert f"arrêté (port {ports['server']} ne répond pas)" in line(out, "server")
    assert line(out, "broker MQTT").endswith(f"connexion acceptée (compte {broker.SERVER_USER})")
    assert "joignable, schéma" in line(out, "base du serveur") and "à jour" in out
    assert line(out, "sondes vues").endswith("1 sur 2 connues (van-a-1)")
    assert re.search(r"ok  espace disque +\d+,\d Go libres sur \d+,\d Go \(\d+ %\)", out)
    assert out.rstrip().endswith("2 point(s) à vérifier (!!)")  # the server, the worker

    # Installed as a service: systemd is asked (not running in this container: said so).
    units = tmp_path / "units"
    units.mkdir()
    (units / "coldchain-server.service").write_text("[Service]\n")
    code, out = status(capsys, config, "--units", str(units))
    assert "(systemd : coldchain-server.service)" in line(out, "server")


def test_status_of_a_stopped_system_creates_nothing(tmp_path, capsys) -> None:
    config = tmp_path / "coldchain.toml"
    config.write_text(f'data_dir = "{tmp_path / "lib"}"\n[mqtt]\nport = {free_port()}\n')
    code, out = status(capsys, config, "--units", str(tmp_path))
    assert code == 1
    assert "injoignable" in line(out, "broker MQTT")
    assert "absente (le serveur n'a jamais démarré)" in line(out, "base du serveur")
    assert "absent (aucun relevé reçu encore)" in line(out, r"magasin de relevés \(sqlite\)")
    assert not (tmp_path / "lib").exists()
