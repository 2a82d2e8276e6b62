"""What every `coldchain` command does first: read the settings, or stop with the
configuration's problems in plain words (exit status 2), and set the process's clock and
time zone from them, so that no command prints or judges a time before that.

Also what a start does first (`coldchain up`, `coldchain server run`): production mode unless
the mode is named, and a random secret key kept in the data folder. And the record of the
running system: `coldchain up` writes where its configuration and data folder are
(`~/.config/coldchain/running.json`), so that a command run from any folder, with no
configuration of its own, works on the running system (docs/configuration.md).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from coldchain import clock
from coldchain.settings import Settings, load_settings, setting_sources

log = logging.getLogger(__name__)

RUNNING_FILE = "running.json"
ENV_PREFIX = "COLDCHAIN_"


class ConfigurationRefused(Exception):
    """The settings are invalid; `coldchain` prints why and exits with status 2."""


class StoreUnusable(ConfigurationRefused):
    """A production store (PostgreSQL, InfluxDB) does not answer as configured: the start
    stops with the problem in French (exit status 2)."""


def refuse_unusable(*problems: str | None) -> None:
    """Stop a start on the stores' problems (store_problem, database_problem), if any."""
    found = [problem for problem in problems if problem]
    if found:
        raise StoreUnusable("démarrage refusé / start refused:\n  " + "\n  ".join(found))


def settings_or_exit(config: Path | None, *, find_running: bool = True) -> Settings:
    """The settings of this command. With no configuration named (no `--config`, no
    COLDCHAIN_CONFIG, no COLDCHAIN_DATA_DIR) and a running `coldchain up` recorded, those of
    the running system (`find_running=False`: `coldchain up` itself, which defines it)."""
    if find_running and config is None and not _named_elsewhere():
        found = running_system()
        if found is not None:
            adopt(found)
    try:
        settings = load_settings(config)
    except ValidationError as exc:
        raise ConfigurationRefused(f"invalid configuration:\n{exc}") from None
    clock.configure(settings.clock)
    return settings


def _named_elsewhere() -> bool:
    return bool(os.environ.get(f"{ENV_PREFIX}CONFIG") or os.environ.get(f"{ENV_PREFIX}DATA_DIR"))


# --- a start: production by default, the secret key ------------------------------------


def settings_for_start(config: Path | None, *, default_mode: str | None = None) -> Settings:
    """The settings of a start: `default_mode` when neither the file nor the environment
    names the mode (`coldchain up`: "production"; put in the environment, so that every
    process it starts runs in it). In production, with `server.secret_key` not set, the key
    is created in the data folder at the first start (development needs none)."""
    if default_mode is not None and "mode" not in setting_sources(config):
        os.environ[f"{ENV_PREFIX}MODE"] = default_mode
    try:
        return settings_or_exit(config, find_running=False)
    except ConfigurationRefused as refused:
        try:  # where the data folder is, whatever production refuses
            draft = load_settings(config, mode="development")
        except ValidationError:
            raise refused from None  # invalid anyway: the first refusal says it all
        if "secret_key" in draft.server.model_fields_set or draft.secret_key_file.is_file():
            raise  # a key is there: the refusal is about something else
    ensure_secret_key(draft.secret_key_file)  # then a refusal, if any, is about the rest
    return settings_or_exit(config, find_running=False)


def ensure_secret_key(path: Path) -> bool:
    """A random key (64 characters) at `path`, readable by its owner only; an existing one
    is kept (sessions survive restarts). True when it was created now."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            log.warning("secret key %s was readable by others: now 0600", path)
            path.chmod(0o600)
        return False
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48) + "\n")
    return True


# --- the running system's record ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunningSystem:
    pid: int
    data_dir: Path
    config: Path | None
    environment: dict[str, str]  # the COLDCHAIN_* variables it was started with
    record: Path


def running_file() -> Path:
    """$XDG_CONFIG_HOME/coldchain/running.json (default ~/.config/coldchain/running.json)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "coldchain" / RUNNING_FILE


def record_running(settings: Settings, config: Path | None) -> Path | None:
    """Say where this running system is: its process, configuration file and data folder,
    and its COLDCHAIN_* environment (which may hold secrets: the file is 0600). A home that
    cannot be written (a service account's) costs only the finding: None, and a log line."""
    try:
        return _write_record(settings, config)
    except OSError as exc:
        log.warning("running system not recorded (%s): other commands need --config", exc)
        return None


def _write_record(settings: Settings, config: Path | None) -> Path:
    path = running_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "pid": os.getpid(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "data_dir": str(settings.data_dir),
        "config": None if config is None else str(config.resolve()),
        "environment": {
            name: value
            for name, value in os.environ.items()
            if name.startswith(ENV_PREFIX) and name not in (f"{ENV_PREFIX}CONFIG",)
        },
    }
    partial = path.with_name(f".{RUNNING_FILE}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(record, file, indent=2)
    partial.replace(path)
    return path


def forget_running() -> None:
    """Remove the record if it is this process's (a later `coldchain up` may own it now)."""
    path = running_file()
    found = _read_record(path)
    if found is not None and found.pid == os.getpid():
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:  # stale now, and ignored as such (its process is gone)
            log.warning("could not remove %s: %s", path, exc)


def running_system() -> RunningSystem | None:
    """The system a `coldchain up` recorded, if that process still runs; else None."""
    found = _read_record(running_file())
    if found is None or not _is_coldchain(found.pid):
        return None
    return found


def adopt(found: RunningSystem) -> None:
    """Work on the running system: its data folder, its file, its environment (what this
    process's own environment sets wins)."""
    for name, value in found.environment.items():
        os.environ.setdefault(name, value)
    os.environ[f"{ENV_PREFIX}DATA_DIR"] = str(found.data_dir)
    if found.config is not None:
        os.environ[f"{ENV_PREFIX}CONFIG"] = str(found.config)


def _read_record(path: Path) -> RunningSystem | None:
    try:
        raw = json.loads(path.read_text())
        return RunningSystem(
            pid=int(raw["pid"]),
            data_dir=Path(raw["data_dir"]),
            config=None if raw.get("config") is None else Path(raw["config"]),
            environment={str(k): str(v) for k, v in dict(raw.get("environment", {})).items()},
            record=path,
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the unreadable record %s: %s", path, exc)
        return None


def _is_coldchain(pid: int) -> bool:
    """The process runs `coldchain` (not another that took the number after a reboot)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    program = any(a.rsplit(b"/", 1)[-1] in (b"coldchain", b"coldchain.cli") for a in args)
    return program and (b"up" in args or b"demo" in args)
