"""Copies of the databases that are safe while the system runs, and the backup folder's
manifest (docs/operations.md, « Sauvegarde »).

A live SQLite database in WAL mode is copied with SQLite's online backup API, never as a
file (a file copy can catch half a transaction and miss what is still in the -wal file).
PostgreSQL is copied with `pg_dump` (custom format, restored by `pg_restore`). Used by
`coldchain backup` / `coldchain restore` and by the server's migration step, which keeps a
copy of the database before changing its schema (server/core/db.py).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from coldchain.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
# Written by `coldchain backup`, read by `coldchain restore`: a newer format is refused.
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
FOLDER_PREFIX = "coldchain-backup-"


def backup_folder(settings: Settings) -> Path:
    """Where backups go when no other folder is named: `coldchain backup`'s default and the
    copies taken before a schema upgrade (a USB stick is safer: `coldchain backup --to`)."""
    return settings.data_dir.resolve() / "backups"


class BackupError(Exception):
    """A copy could not be made or restored; the message says why, in French."""


@dataclass(frozen=True)
class Database:
    """The server's database as a backup sees it: an SQLite file or a PostgreSQL URL."""

    url: URL

    @classmethod
    def of(cls, database_url: str) -> Database:
        return cls(make_url(database_url))

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path:
        if not self.is_sqlite or not self.url.database or self.url.database == ":memory:":
            raise BackupError(f"pas un fichier SQLite : {self.url.render_as_string()}")
        return Path(self.url.database)


def is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (online backup API; writers may go on)."""
    if not is_sqlite_file(source):
        raise BackupError(f"base SQLite introuvable ou illisible : {source}")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, *sqlite_companions(target)):
        stale.unlink(missing_ok=True)
    with (
        closing(sqlite3.connect(source, timeout=30)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        # A standalone file: no -wal beside it once closed.
        dst.execute("PRAGMA journal_mode=DELETE")


def restore_sqlite(source: Path, target: Path) -> None:
    """Put a backed-up SQLite file in place of `target` (through the backup API, so that a
    database left open elsewhere sees the restored content, not a replaced inode)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(source)) as src,
        closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def sqlite_companions(path: Path) -> tuple[Path, ...]:
    """The files SQLite keeps beside a database while it is open."""
    return tuple(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The URL as `pg_dump` / `pg_restore` take it, and the environment carrying the
    password (never on the command line, where `ps` shows it)."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} est introuvable : apt-get install postgresql-client "
            f"(la même version que le serveur, ou plus récente)"
        )
    return found


def pg_dump(url: URL, target: Path) -> None:
    """The whole database in pg_dump's custom format (compressed; pg_restore reads it)."""
    dsn, env = _libpq(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [postgres_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         f"--file={target}", f"--dbname={dsn}"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {done.stderr.strip()}")


def pg_restore(url: URL, source: Path, *, clean: bool) -> None:
    """Load a pg_dump file into the database; `clean` drops what it already holds first."""
    dsn, env = _libpq(url)
    command = [postgres_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--dbname={dsn}"]  # fmt: skip
    if clean:
        command += ["--clean", "--if-exists"]
    done = subprocess.run([*command, str(source)], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore a échoué : {done.stderr.strip()}")


def copy_database(database: Database, target_stem: Path) -> Path:
    """Copy the server's database next to `target_stem` (.sqlite3 or .pgdump); the path."""
    if database.is_sqlite:
        target = target_stem.with_name(target_stem.name + ".sqlite3")
        copy_sqlite(database.sqlite_path, target)
    else:
        target = target_stem.with_name(target_stem.name + ".pgdump")
        pg_dump(database.url, target)
    return target


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
