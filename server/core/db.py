"""Engine, sessions and migrations. SQLite (WAL, foreign keys on) by default, PostgreSQL
in production: the same models and the same Alembic migrations serve both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

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


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent: nothing happens when up to date)."""
    command.upgrade(alembic_config(engine), revision)
