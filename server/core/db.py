"""Engine, sessions and migrations. SQLite (WAL, foreign keys on) by default, PostgreSQL
in production: the same models and the same Alembic migrations serve both."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from coldchain import backups
from coldchain.startup import ConfigurationRefused

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


# Execution option of a session that will write: on SQLite its transaction starts with
# BEGIN IMMEDIATE, taking the write lock first. A deferred transaction that reads and then
# writes fails at once with "database is locked" when another writer committed meanwhile
# (SQLite cannot upgrade a stale read snapshot), which would be a 500 under concurrency.
WRITE = "coldchain_write"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores foreign keys otherwise
    cursor.execute("PRAGMA busy_timeout=5000")  # several workers share the file
    cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def release(session: Session) -> None:
    """End the session's transaction before slow work (hashing a password), so that no lock
    is held meanwhile (on SQLite a writer's transaction holds the database's one write lock
    from its start); the next statement begins a new transaction, a writer's again. Nothing
    may be pending: what was read stays loaded (sessions do not expire on commit)."""
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release() with unsaved changes")
    session.commit()


def begin_writing(session: Session) -> None:
    """End the session's transaction (as `release`) and begin the next one as a writer's
    (SQLite: BEGIN IMMEDIATE, waiting up to the busy timeout for the write lock), even in a
    reading request's session: a deferred transaction that reads and then writes fails at
    once when another writer committed meanwhile. Keep such a transaction short."""
    release(session)
    session.connection(execution_options={WRITE: True})


def make_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("", "psycopg2"):
        url = url.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


class SchemaTooNew(ConfigurationRefused):
    """The database was migrated by a newer version of coldchain: this code does not know
    its schema and must not touch it (an older version run by mistake, a downgrade).
    `coldchain` prints the message and exits with status 2, like a refused configuration."""


def database_revisions(engine: Engine) -> tuple[str, ...]:
    """The Alembic revision(s) the database is at; empty for a database never migrated."""
    with engine.connect() as connection:
        return tuple(MigrationContext.configure(connection).get_current_heads())


def known_revisions() -> set[str]:
    """Every schema revision this code's migrations know."""
    return {found.revision for found in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}


def migrate(engine: Engine, revision: str = "head", *, backup_dir: Path | None = None) -> None:
    """Bring the schema to `revision` (idempotent: nothing happens when up to date).

    Refuses a database at a revision this code does not know (SchemaTooNew): running an
    older coldchain on it would be a silent downgrade. Before changing the schema of a
    database that holds one, keeps a copy (SQLite: next to it, or in `backup_dir`;
    PostgreSQL: pg_dump into `backup_dir`), the way back if the upgrade goes wrong."""
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    current = database_revisions(engine)
    unknown = [rev for rev in current if rev not in known_revisions()]
    if unknown:
        raise SchemaTooNew(
            f"la base de données est à la révision {', '.join(unknown)}, inconnue de cette "
            f"version de coldchain (la plus récente connue : {script.get_current_head()}) : "
            "elle a été mise à jour par une version plus récente. Réinstallez cette version "
            "plus récente, ou restaurez une sauvegarde faite avant la mise à jour "
            "(docs/operations.md, « Mise à jour »). Rien n'a été modifié."
        )
    if revision == "head":
        wanted = set(script.get_heads())
    else:
        wanted = {found.revision for found in script.get_revisions(revision)}
    if current and set(current) != wanted:
        _copy_before_migrating(engine, "+".join(current), backup_dir)
    command.upgrade(config, revision)


def _copy_before_migrating(engine: Engine, current: str, backup_dir: Path | None) -> None:
    database = backups.Database(engine.url)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"before-migration-{current}-{stamp}"
    if database.is_sqlite and engine.url.database in (None, "", ":memory:"):
        return  # nothing on disk to lose
    if database.is_sqlite:
        source = database.sqlite_path
        folder = backup_dir if backup_dir is not None else source.parent
        copy = backups.copy_database(database, folder / f"{source.stem}.{name}")
    elif backup_dir is None or shutil.which("pg_dump") is None:
        log.warning("schema upgrade from %s without a copy (no backup folder or no pg_dump)",
                    current)  # fmt: skip
        return
    else:
        copy = backups.copy_database(database, backup_dir / f"database.{name}")
    log.warning("schema upgrade from %s: the database was copied first to %s", current, copy)
