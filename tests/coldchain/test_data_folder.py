"""One data folder (issue 17 items 2 and 5, issue 16 item 3): every file derives from
`data_dir` unless set on its own, `coldchain up` runs in production with a random secret key
kept there, `coldchain config` shows where everything is and where each value came from, and
`coldchain` run from any folder finds the running system by itself."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coldchain.settings import DEFAULT_SECRET, Settings, load_settings
from coldchain.startup import (
    ConfigurationRefused,
    running_system,
    settings_for_start,
    settings_or_exit,
)
from tests.harness.servers import free_port, require_binary

REPO = Path(__file__).resolve().parents[2]
COLDCHAIN = str(Path(sys.executable).with_name("coldchain"))


@pytest.fixture(autouse=True)
def own_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No COLDCHAIN_* from outside, and whatever the code under test puts in the
    environment (settings_for_start sets COLDCHAIN_MODE) is undone afterwards."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("COLDCHAIN_")]:
        del os.environ[name]
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    monkeypatch.chdir(tmp_path)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_every_path_derives_from_the_data_folder_unless_set(tmp_path: Path) -> None:
    os.environ["COLDCHAIN_DATA_DIR"] = "/srv/froid"
    settings = Settings()
    assert settings.server.database_url == "sqlite:////srv/froid/coldchain.sqlite3"
    assert settings.store.sqlite_path == Path("/srv/froid/readings.sqlite3")
    assert settings.gateway.spool_path == Path("/srv/froid/gateway-spool.sqlite3")
    assert settings.records.export_dir == Path("/srv/froid/exports")
    assert settings.secret_key_file == Path("/srv/froid/secret_key")
    # Set on its own: kept (a relative one made absolute from the working directory).
    os.environ["COLDCHAIN_STORE__SQLITE_PATH"] = "ailleurs/r.sqlite3"
    os.environ["COLDCHAIN_SERVER__DATABASE_URL"] = "postgresql://coop@db/froid"
    settings = Settings()
    assert settings.store.sqlite_path == tmp_path / "ailleurs" / "r.sqlite3"
    assert settings.server.database_url == "postgresql://coop@db/froid"
    assert settings.gateway.spool_path == Path("/srv/froid/gateway-spool.sqlite3")
    # Still "not set" after the derivation: `coldchain up` and `coldchain config` rely on it.
    assert "spool_path" not in settings.gateway.model_fields_set
    assert "data_dir" in settings.model_fields_set and "mode" not in settings.model_fields_set


def test_relative_paths_in_the_file_are_taken_from_its_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "coldchain.toml").write_text(
        'data_dir = "donnees"\n[server]\ndatabase_url = "sqlite:///bases/serveur.sqlite3"\n'
    )
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    os.chdir(elsewhere)  # the same file read from another folder: the same files
    settings = load_settings(site / "coldchain.toml")
    assert settings.data_dir == site / "donnees"
    assert settings.server.database_url == f"sqlite:///{site / 'bases' / 'serveur.sqlite3'}"
    assert settings.store.sqlite_path == site / "donnees" / "readings.sqlite3"


def test_a_start_is_in_production_with_a_secret_key_kept_in_the_data_folder(
    tmp_path: Path,
) -> None:
    settings = settings_for_start(None, default_mode="production")
    key_file = tmp_path / "var" / "secret_key"
    assert settings.mode == "production" and os.environ["COLDCHAIN_MODE"] == "production"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = settings.server.secret_key.get_secret_value()
    assert len(key) >= 32 and key == key_file.read_text().strip()
    # The next start (and every other command) uses the same key: sessions survive.
    assert settings_for_start(None, default_mode="production").server.secret_key == (
        settings.server.secret_key
    )
    assert Settings().server.secret_key.get_secret_value() == key
    # A key set on its own wins, and production refuses the default one.
    os.environ["COLDCHAIN_SERVER__SECRET_KEY"] = DEFAULT_SECRET
    with pytest.raises(ConfigurationRefused, match=r"server\.secret_key"):
        settings_for_start(None, default_mode="production")


def test_a_named_mode_is_kept_and_production_without_a_key_says_where_it_goes(
    tmp_path: Path,
) -> None:
    os.environ["COLDCHAIN_MODE"] = "development"
    assert settings_for_start(None, default_mode="production").mode == "development"
    assert not (tmp_path / "var" / "secret_key").exists()  # development needs no key
    os.environ["COLDCHAIN_MODE"] = "production"
    os.environ["COLDCHAIN_DATA_DIR"] = str(tmp_path / "vide")
    with pytest.raises(ValueError, match="coldchain up` creates it at first start"):
        Settings()


def coldchain(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [COLDCHAIN, *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def path_shown(output: str, label: str) -> str:
    """The path `coldchain config` prints after `label` in its « Chemins / paths » list."""
    found = re.search(rf"^  {re.escape(label)}\s+(\S.*)$", output, re.MULTILINE)
    assert found is not None, output
    return found.group(1)


def line_of(output: str, name: str) -> str:
    return next(line for line in output.splitlines() if line.split()[:1] == [name])


def test_config_shows_the_paths_and_where_each_setting_came_from(tmp_path: Path) -> None:
    (tmp_path / "coldchain.toml").write_text('data_dir = "site"\n[mqtt]\nport = 1884\n')
    shown = coldchain(
        "--config", "coldchain.toml", "config", cwd=tmp_path,
        env={"COLDCHAIN_MQTT__PASSWORD": "hunter2-secret", "COLDCHAIN_SERVER__PORT": "8100"},
    )  # fmt: skip
    site = tmp_path / "site"
    assert path_shown(shown, "dossier de données / data_dir") == str(site)
    spool = path_shown(shown, "spool et quarantaine / spool, quarantine")
    assert spool == str(site / "gateway-spool.sqlite3")
    for path in ("broker", "tls", "logs", "exports", "secret_key (absente / absent)"):
        assert f"{site / path}" in shown, path
    assert "hunter2-secret" not in shown
    assert line_of(shown, "mqtt.password").split()[1:] == ['"**********"', "environnement", "/",
                                                          "environment"]  # fmt: skip
    assert line_of(shown, "mqtt.port").split()[1:3] == ["1884", "fichier"]
    assert line_of(shown, "server.port").split()[1:3] == ["8100", "environnement"]
    assert line_of(shown, "mqtt.host").split()[1:3] == ['"127.0.0.1"', "défaut"]
    assert f'"sqlite:///{site / "coldchain.sqlite3"}"' in line_of(shown, "server.database_url")
    assert "sous data_dir" in line_of(shown, "server.database_url")


def test_install_command_puts_coldchain_on_the_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    done = subprocess.run(
        [REPO / "scripts" / "install-command"], env={**os.environ, "INSTALL_BIN_DIR": str(bin_dir)},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (bin_dir / "coldchain").resolve() == Path(COLDCHAIN).resolve()
    path = f"{bin_dir}:/usr/bin:/bin"
    assert "coldchain" in coldchain("--version", cwd=tmp_path, env={"PATH": path})


def test_a_command_from_another_folder_finds_the_running_system(tmp_path: Path) -> None:
    """`coldchain up` started in one folder with nothing but ports configured; from another
    folder, with no configuration, `coldchain config` and `coldchain broker add-probe` work
    on its data folder while it runs, and on their own folder once it stopped."""
    require_binary("mosquitto")
    home, elsewhere = tmp_path / "site", tmp_path / "ailleurs"
    home.mkdir()
    elsewhere.mkdir()
    server_port = free_port()
    (home / "coldchain.toml").write_text(
        f"[mqtt]\nport = {free_port()}\n[server]\nport = {server_port}\n"
        f"[gateway]\nmetrics_port = {free_port()}\n"
    )
    up = subprocess.Popen(
        [COLDCHAIN, "--config", "coldchain.toml", "up"], cwd=home, env=dict(os.environ),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert up.stdout is not None
        lines = []
        for line in up.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        data = home / "var"
        assert "Ctrl-C" in lines[-1], "".join(lines)
        assert f"  données      : {data} (mode production)\n" in lines
        record = tmp_path / "xdg" / "coldchain" / "running.json"
        assert stat.S_IMODE(record.stat().st_mode) == 0o600
        # Everything under the one data folder, the secret key readable by its owner only.
        for name in ("coldchain.sqlite3", "readings.sqlite3", "gateway-spool.sqlite3",
                     "broker", "logs"):  # fmt: skip
            assert (data / name).exists(), name
        assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600

        shown = coldchain("config", cwd=elsewhere)
        assert path_shown(shown, "dossier de données / data_dir") == str(data)
        assert f"pid {up.pid}" in shown and "mode : production" in shown
        assert line_of(shown, "server.port").split()[1] == str(server_port)
        assert "fichier <data_dir>/secret_key" in line_of(shown, "server.secret_key")
        added = coldchain("broker", "add-probe", "sonde-1", cwd=elsewhere)
        assert added.startswith("probe sonde-1: mqtt user sonde-1, password ")
        assert "sonde-1:" in (data / "broker" / "passwords").read_text()

        up.send_signal(signal.SIGINT)
        assert up.wait(60) == 0
        assert not record.exists()
        stopped = coldchain("config", cwd=elsewhere)
        assert path_shown(stopped, "dossier de données / data_dir") == str(elsewhere / "var")
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()


def test_a_record_whose_process_is_gone_or_unreadable_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    record = tmp_path / "xdg" / "coldchain" / "running.json"
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"pid": gone.pid, "data_dir": "/srv/ailleurs", "config": None}))
    assert running_system() is None
    assert settings_or_exit(None).data_dir == tmp_path / "var"
    record.write_text("{pas du json")
    assert running_system() is None
    assert "COLDCHAIN_DATA_DIR" not in os.environ
