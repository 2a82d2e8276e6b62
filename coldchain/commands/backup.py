"""`coldchain backup` and `coldchain restore`: everything a site needs to start again on a
new machine, in one folder with a manifest of checksums (docs/operations.md, « Sauvegarde »).

A backup holds the server's database (SQLite online backup, or pg_dump), the SQLite reading
store and the gateway's spool (online backups too), the configuration file, and every other
file of the data folder: broker passwords and ACL, the certificate authority, secrets. Left
out: logs, earlier backups, the pages' temporary exports and the broker's message queue.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coldchain import __version__, backups
from coldchain.backups import BackupError, Database
from coldchain.commands.broker import broker_files
from coldchain.settings import Settings
from coldchain.startup import settings_or_exit

# The operator's own TLS files may live outside the data folder (mqtt.broker_ca, ...).
OWN_TLS_FIELDS = ("broker_ca", "broker_cert", "broker_key", "tls_ca", "tls_cert", "tls_key")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = subparsers.add_parser(
        "backup", help="copy the databases, configuration and keys to a folder (USB stick)"
    )
    backup.add_argument("--to", type=Path, help="destination folder (default: <data_dir>/backups)")
    backup.add_argument(
        "--keep", type=int, default=14, help="backups kept in that folder, the newest (14)"
    )
    backup.set_defaults(handler=run_backup)
    restore = subparsers.add_parser(
        "restore", help="put a backup back on this machine (a fresh one, or --force)"
    )
    restore.add_argument("folder", type=Path, help="a coldchain-backup-… folder")
    restore.add_argument(
        "--force", action="store_true", help="overwrite a system that already holds data"
    )
    restore.set_defaults(handler=run_restore)


def config_file(args: argparse.Namespace) -> Path | None:
    """The configuration file this command was given (--config or $COLDCHAIN_CONFIG)."""
    if args.config is not None:
        return Path(args.config)
    named = os.environ.get("COLDCHAIN_CONFIG")
    return Path(named) if named else None


# --- backup ---------------------------------------------------------------------------------


def _skipped_folders(settings: Settings, destination: Path) -> list[Path]:
    data = settings.data_dir.resolve()
    exports = settings.records.export_dir or settings.data_dir / "exports"
    return [
        data / "logs",
        backups.backup_folder(settings),
        exports.resolve(),
        broker_files(settings).persistence.resolve(),  # the broker's live message queue
        destination.resolve(),
    ]


def _live_databases(settings: Settings) -> dict[str, Path]:
    """The SQLite files copied under their own role (restored where the settings say)."""
    found: dict[str, Path] = {}
    database = Database.of(settings.server.database_url)
    if database.is_sqlite:
        found["database"] = database.sqlite_path.resolve()
    if settings.store.kind == "sqlite":
        found["readings"] = settings.store.sqlite_path.resolve()
    found["spool"] = settings.gateway.spool_path.resolve()
    return found


def _data_files(settings: Settings, destination: Path) -> Iterator[Path]:
    """The data folder's files worth keeping, relative to it."""
    data = settings.data_dir.resolve()
    if not data.is_dir():
        return
    skipped = _skipped_folders(settings, destination)
    live = set(_live_databases(settings).values())
    companions = {c for path in live for c in (path, *backups.sqlite_companions(path))}
    for folder, subfolders, files in os.walk(data):
        here = Path(folder)
        subfolders[:] = sorted(d for d in subfolders if here / d not in skipped)
        for name in sorted(files):
            path = here / name
            if path in companions or name.endswith((".pid", "-wal", "-shm", "-journal")):
                continue
            if path.is_file() and not path.is_symlink():
                yield path.relative_to(data)


class Manifest:
    """The list of files in a backup, each with its role, origin and SHA-256."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[dict[str, Any]] = []

    def add(self, relative: str, role: str, origin: str) -> None:
        path = self.folder / relative
        self.files.append(
            {"path": relative, "role": role, "origin": origin,
             "size": path.stat().st_size, "sha256": backups.sha256(path)}
        )  # fmt: skip

    def copy(self, source: Path, relative: str, role: str, origin: str) -> None:
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if backups.is_sqlite_file(source):
            backups.copy_sqlite(source, target)
        else:
            shutil.copy2(source, target)
        self.add(relative, role, origin)


def _schema_revision(settings: Settings) -> str | None:
    from server.core.db import database_revisions, make_engine

    engine = make_engine(settings.server.database_url)
    try:
        return "+".join(database_revisions(engine)) or None
    finally:
        engine.dispose()


def make_backup(settings: Settings, config: Path | None, destination: Path) -> Path:
    """Write one complete backup folder under `destination`; its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    final = destination / f"{backups.FOLDER_PREFIX}{stamp}"
    suffix = 1
    while final.exists():
        suffix += 1
        final = destination / f"{backups.FOLDER_PREFIX}{stamp}-{suffix}"
    partial = destination / f".{final.name}.partial"  # renamed only once complete
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        manifest = Manifest(partial)
        database = Database.of(settings.server.database_url)
        copy = backups.copy_database(database, partial / "database" / "coldchain")
        manifest.add(str(copy.relative_to(partial)), "database", "server.database_url")
        for role, path in _live_databases(settings).items():
            if role != "database" and path.exists():
                manifest.copy(path, f"{role}/{path.name}", role, role)
        if config is not None:
            manifest.copy(config, f"config/{config.name}", "config", str(config.resolve()))
        data = settings.data_dir.resolve()
        for relative in _data_files(settings, destination):
            manifest.copy(data / relative, f"data/{relative}", "data", str(relative))
        for name in OWN_TLS_FIELDS:
            own: Path | None = getattr(settings.mqtt, name, None)
            if own is not None and own.is_file() and not own.resolve().is_relative_to(data):
                manifest.copy(own, f"outside/{name}/{own.name}", "outside", str(own.resolve()))
        (partial / backups.MANIFEST).write_text(
            json.dumps(
                {
                    "format": backups.MANIFEST_FORMAT,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "coldchain_version": __version__,
                    "host": socket.gethostname(),
                    "schema_revision": _schema_revision(settings),
                    "database": "sqlite" if database.is_sqlite else "postgresql",
                    "store": settings.store.kind,
                    "files": manifest.files,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        partial.rename(final)
    except BaseException:
        # Any exit, Ctrl-C included, must not leave a half-written folder that looks like a
        # backup: removed, then re-raised (nothing is swallowed).
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final


def prune(destination: Path, keep: int) -> list[Path]:
    """Remove the oldest complete backups beyond the newest `keep`; those removed."""
    complete = sorted(
        p for p in destination.glob(f"{backups.FOLDER_PREFIX}*") if (p / backups.MANIFEST).is_file()
    )
    removed = complete[: max(len(complete) - keep, 0)]
    for old in removed:
        shutil.rmtree(old)
    return removed


def quiet_alembic() -> None:
    """Alembic's INFO lines (plugins, context) say nothing to the person running a command
    that only reads the schema's revision."""
    logging.getLogger("alembic").setLevel(logging.WARNING)


def run_backup(args: argparse.Namespace) -> int:
    quiet_alembic()
    settings = settings_or_exit(args.config)
    if args.keep < 1:
        print("coldchain: --keep doit être au moins 1", file=sys.stderr)
        return 2
    destination = (args.to or backups.backup_folder(settings)).resolve()
    try:
        destination.mkdir(parents=True, exist_ok=True)
        folder = make_backup(settings, config_file(args), destination)
        removed = prune(destination, args.keep)
    except (BackupError, OSError) as exc:
        print(f"coldchain: sauvegarde impossible / backup failed : {exc}", file=sys.stderr)
        return 1
    manifest = json.loads((folder / backups.MANIFEST).read_text())
    size = sum(entry["size"] for entry in manifest["files"])
    print(f"sauvegarde faite / backup written : {folder}")
    megabytes = f"{size / 1e6:.1f}".replace(".", ",")  # the French decimal comma
    print(f"  {len(manifest['files'])} fichiers, {megabytes} Mo, sommes SHA-256 dans "
          f"{backups.MANIFEST}")  # fmt: skip
    for old in removed:
        print(f"  ancienne sauvegarde supprimée / pruned : {old.name}")
    if config_file(args) is None:
        print("  attention : aucun fichier de configuration (--config) n'a été sauvegardé")
    if "COLDCHAIN_SERVER__SECRET_KEY" in os.environ:
        print("  attention : la clé secrète vient de l'environnement ; notez-la à part")
    if settings.store.kind != "sqlite":
        print("  attention : les relevés sont dans InfluxDB, sauvegardez-le avec ses outils "
              "(influxd backup)")  # fmt: skip
    return 0


# --- restore --------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict[str, Any]:
    """The backup's manifest, after checking every file it lists (size and SHA-256)."""
    path = folder / backups.MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} est absent ou illisible ({exc}) : pas une sauvegarde") from exc
    if manifest.get("format") != backups.MANIFEST_FORMAT:
        raise BackupError(f"format de sauvegarde {manifest.get('format')!r} inconnu ici")
    damaged = []
    for entry in manifest["files"]:
        file = folder / entry["path"]
        if not file.is_file():
            damaged.append(f"{entry['path']} (manquant)")
        elif backups.sha256(file) != entry["sha256"]:
            damaged.append(f"{entry['path']} (somme SHA-256 différente)")
    if damaged:
        raise BackupError("sauvegarde abîmée, rien n'a été restauré : " + ", ".join(damaged))
    return manifest


def _already_in_use(settings: Settings) -> list[str]:
    """Why this machine looks like a running system that a restore would overwrite."""
    from server.core.db import database_revisions, make_engine

    reasons = []
    database = Database.of(settings.server.database_url)
    if not database.is_sqlite or database.sqlite_path.exists():
        engine = make_engine(settings.server.database_url)
        try:
            if database_revisions(engine):
                reasons.append(f"la base de données contient déjà des données ({engine.url!r})")
        finally:
            engine.dispose()
    store = settings.store.sqlite_path
    if settings.store.kind == "sqlite" and store.exists() and store.stat().st_size > 0:
        reasons.append(f"le magasin de relevés existe déjà ({store})")
    return reasons


def _owner_of(folder: Path) -> tuple[int, int] | None:
    """Root restoring for the `coldchain` user: the files go to the data folder's owner."""
    if os.geteuid() != 0 or not folder.exists():
        return None
    status = folder.stat()
    return None if status.st_uid == 0 else (status.st_uid, status.st_gid)


def restore(settings: Settings, folder: Path, manifest: dict[str, Any], force: bool) -> list[str]:
    """Put every file of a checked backup in place; what was done, one line each."""
    from server.core.db import known_revisions

    revision = manifest.get("schema_revision")
    if revision and any(part not in known_revisions() for part in revision.split("+")):
        raise BackupError(
            f"la sauvegarde vient d'une version plus récente de coldchain (schéma {revision}) : "
            "installez cette version (ou une plus récente) avant de restaurer"
        )
    database = Database.of(settings.server.database_url)
    owner = _owner_of(settings.data_dir.resolve())
    done: list[str] = []
    live = _live_databases(settings)
    for entry in manifest["files"]:
        source, role = folder / entry["path"], entry["role"]
        if role == "database":
            if database.is_sqlite != (manifest["database"] == "sqlite"):
                raise BackupError(
                    f"la sauvegarde contient une base {manifest['database']}, la configuration "
                    f"en désigne une autre ({database.url.get_backend_name()}) : adaptez "
                    "server.database_url"
                )
            if database.is_sqlite:
                target = database.sqlite_path
                backups.restore_sqlite(source, target)
            else:
                backups.pg_restore(database.url, source, clean=force)
                done.append(f"base PostgreSQL restaurée ({database.url.database})")
                continue
        elif role in ("readings", "spool"):
            if role not in live:
                done.append(f"{entry['path']} non restauré (store.kind n'est pas sqlite)")
                continue
            target = live[role]
            backups.restore_sqlite(source, target)
        elif role == "data":
            target = settings.data_dir.resolve() / entry["origin"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        elif role == "outside":
            target = Path(entry["origin"])
            if target.exists() and not force:
                done.append(f"{target} existe déjà : gardé (--force pour le remplacer)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:  # the configuration file: put in place before (run_restore), or shown
            continue
        if owner is not None:
            os.chown(target, *owner)
        done.append(f"{role:9} → {target}")
    return done


def run_restore(args: argparse.Namespace) -> int:
    quiet_alembic()
    folder: Path = args.folder
    try:
        manifest = read_manifest(folder)
    except BackupError as exc:
        print(f"coldchain: {exc}", file=sys.stderr)
        return 1
    config = config_file(args)
    saved = [e for e in manifest["files"] if e["role"] == "config"]
    notes = []
    if config is not None and not config.exists() and saved:
        # A fresh machine: the backup's configuration becomes this machine's.
        config.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / saved[0]["path"], config)
        notes.append(f"configuration restaurée : {config}")
    elif saved:
        notes.append(
            f"configuration de la sauvegarde : {folder / saved[0]['path']} (celle de cette "
            "machine est gardée ; comparez-les)"
        )
    settings = settings_or_exit(args.config)
    try:
        in_use = _already_in_use(settings)
        if in_use and not args.force:
            print(
                "coldchain: restauration refusée, ce système contient déjà des données :\n  - "
                + "\n  - ".join(in_use)
                + "\nArrêtez les services et relancez avec --force pour tout remplacer "
                "(faites d'abord `coldchain backup` de l'état actuel).",
                file=sys.stderr,
            )
            return 1
        done = restore(settings, folder, manifest, args.force)
    except (BackupError, OSError) as exc:
        print(f"coldchain: restauration impossible / restore failed : {exc}", file=sys.stderr)
        return 1
    print(f"restauré depuis / restored from : {folder} ({manifest['created_at']})")
    for line in notes + done:
        print(f"  {line}")
    print("Vérifiez les enregistrements scellés : coldchain records verify")
    return 0
