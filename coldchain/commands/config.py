"""`coldchain config`: the effective settings, where each came from, and every file the
system keeps, secrets masked; exit status 2 when the configuration is invalid.

    coldchain config          # for a person: paths first, then every setting and its origin
    coldchain config --json   # the settings as JSON, for a script
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from coldchain import backups, certificates
from coldchain.commands.broker import broker_files
from coldchain.settings import (
    SECRET_KEY_FILE,
    Settings,
    setting_sources,
)
from coldchain.startup import running_system, settings_or_exit

# Settings that come from data_dir when not set on their own (Settings._under_data_dir).
FROM_DATA_DIR = ("server.database_url", "store.sqlite_path", "gateway.spool_path",
                 "records.export_dir")  # fmt: skip
ORIGIN_WORDS = {
    "default": "défaut / default",
    "file": "fichier / file",
    "environment": "environnement / environment",
    "running": "système en marche / running system",
    "data_dir": "sous data_dir / under data_dir",
    "secret_key_file": f"fichier <data_dir>/{SECRET_KEY_FILE}",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="show the effective configuration, its files and origins (secrets masked)",
    )
    parser.add_argument("--json", action="store_true", help="the settings as JSON only")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    before = set(os.environ)
    settings = settings_or_exit(args.config)
    if args.json:
        print(json.dumps(settings.model_dump(mode="json"), indent=2))
        return 0
    adopted = set(os.environ) - before  # set by the running system's record
    config = args.config or (Path(os.environ["COLDCHAIN_CONFIG"]) if os.environ.get(
        "COLDCHAIN_CONFIG") else None)  # fmt: skip
    origins = setting_origins(settings, config, adopted)
    where = "aucun / none" if config is None else str(config.resolve())
    print(f"fichier de configuration / configuration file : {where}")
    running = running_system()
    if adopted and running is not None:
        print(f"système en marche / running system : pid {running.pid} ({running.record})")
    print(f"mode : {settings.mode}\n\nChemins / paths:")
    for name, path in paths(settings).items():
        print(f"  {name:40} {path}")
    print("\nRéglages / settings (valeur, origine / value, origin):")
    for name, value in flat(settings.model_dump(mode="json")).items():
        shown = json.dumps(value, ensure_ascii=False)
        print(f"  {name:40} {shown:42} {ORIGIN_WORDS[origins.get(name, 'default')]}")
    return 0


def paths(settings: Settings) -> dict[str, str]:
    """Every file and folder the system keeps, resolved (docs/configuration.md)."""
    key = settings.secret_key_file
    key_state = "présente / present" if key.is_file() else "absente / absent"
    return {
        "dossier de données / data_dir": str(settings.data_dir),
        "base du serveur / server database": settings.server.database_url,
        "relevés / readings (SQLite)": str(settings.store.sqlite_path),
        "spool et quarantaine / spool, quarantine": str(settings.gateway.spool_path),
        "exports": str(settings.records.export_dir),
        "clé secrète / secret key": f"{key} ({key_state})",
        "broker": str(broker_files(settings).directory),
        "certificats / TLS": str(certificates.tls_dir(settings)),
        "sauvegardes / backups": str(backups.backup_folder(settings)),
        "journaux / logs": str(settings.data_dir / "logs"),
    }


def setting_origins(settings: Settings, config: Path | None, adopted: set[str]) -> dict[str, str]:
    """Where each setting's value came from, by dotted name (absent: its default)."""
    origins = dict(setting_sources(config))
    running_names = {name[len("COLDCHAIN_") :].lower().replace("__", ".") for name in adopted}
    for name, origin in origins.items():
        if origin == "environment" and name in running_names:
            origins[name] = "running"
    for name in FROM_DATA_DIR:
        origins.setdefault(name, "data_dir")
    if "server.secret_key" not in origins and settings.secret_key_file.is_file():
        origins["server.secret_key"] = "secret_key_file"
    return origins


def flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            found |= flat(value, f"{prefix}{name}.")
        else:
            found[f"{prefix}{name}"] = value
    return found
