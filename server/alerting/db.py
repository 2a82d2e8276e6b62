"""The worker's own database engine, and where it keeps the rules engine's state.

On SQLite its transactions start with BEGIN
IMMEDIATE: the worker and the dispatcher read then write, and in WAL mode a deferred
transaction whose snapshot went stale while another connection committed fails at once
with "database is locked" (SQLITE_BUSY_SNAPSHOT) instead of waiting its busy timeout.
Taking the write lock first makes them queue behind each other (busy_timeout) instead."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import JSON, Engine, Table, bindparam, delete, event, insert, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from alerts.engine import Engine as RulesEngine
from server.core.db import make_engine, make_sessionmaker
from server.core.models import utcnow
from server.core.models.alerts import WorkerState


def worker_engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: Any, _record: Any) -> None:
            if dbapi_connection.in_transaction:  # left open by the connection's PRAGMAs
                dbapi_connection.commit()
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            dbapi_connection = connection.connection.dbapi_connection
            if dbapi_connection.in_transaction:  # a deferred BEGIN already went out: empty
                dbapi_connection.commit()
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def worker_sessions(database_url: str) -> tuple[Engine, sessionmaker[Session]]:
    engine = worker_engine(database_url)
    return engine, make_sessionmaker(engine)


# The rules engine's state, one row of alert_worker_state per part (alerts/engine.py,
# `Engine.changes`): the engine's counters, each location, each channel's stream. A save
# writes only the parts that changed since the last one, all in the worker's transaction.
PART_PREFIX = "engine/"
LEGACY_STATE_NAME = "engine"  # versions 1 and 2: the whole state in one row, read once


def part_row_name(key: str) -> str:
    """The row of a part: its key, or a digest of it when too long for the name column."""
    name = PART_PREFIX + key
    if len(name) <= NAME_LENGTH:
        return name
    return PART_PREFIX + "#" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


NAME_LENGTH = 64  # alert_worker_state.name
Parts = Mapping[str, dict[str, Any] | None] | Iterable[tuple[str, dict[str, Any] | None]]

# Parts are encoded here, compact and without the check for circular references (they are
# trees the engine has just built): a third faster than the column's own json.dumps.
_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _as_is(text: str) -> str:
    return text


class EncodedJSON(TypeDecorator[str]):
    """The column's JSON bound as the text `_encode` made (read back as the column's JSON)."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        if dialect.name == "postgresql":  # psycopg: a json parameter, the text as it is
            from psycopg.types.json import Json

            return lambda text: Json(text, _as_is)
        if dialect.name == "sqlite":  # JSON is text there
            return None
        encode = self.impl_instance.bind_processor(dialect)  # any other: decoded, as usual
        return lambda text: encode(json.loads(text)) if encode else json.loads(text)


class StateRows:
    """The saved parts of the engine's state and which row holds each (what is saved)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # part key -> name of the row that holds it

    def load(self, session: Session) -> list[dict[str, Any]]:
        """Every saved part (empty: nothing saved in parts yet)."""
        rows = session.execute(
            select(WorkerState.name, WorkerState.state).where(
                WorkerState.name.startswith(PART_PREFIX, autoescape=True)
            )
        ).all()
        parts: list[dict[str, Any]] = []
        for name, state in rows:
            readable = isinstance(state, dict) and "part" in state
            key = RulesEngine.part_key(state) if readable else name
            self.names[key] = name
            parts.append(state)
        return parts

    def save(self, session: Session, changes: Parts) -> int:
        """Write the parts `Engine.changed_parts` (or `Engine.changes`) gave, each encoded as
        it comes; returns how many rows were written."""
        at = utcnow()
        gone: list[str] = []
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for key, state in changes.items() if isinstance(changes, Mapping) else changes:
            if state is None:  # a location removed: every part of it (deleted first, below)
                location = key.removeprefix("loc/")
                dropped = [k for k in self.names if k.split("/", 2)[1:2] == [location]]
                gone.extend(self.names.pop(k) for k in dropped)
                continue
            name = self.names.get(key)
            row = {"row_name": name, "row_state": _encode(state), "at": at}
            if name is None:
                row["row_name"] = self.names[key] = part_row_name(key)
                inserts.append(row)
            else:
                updates.append(row)
        if gone:
            session.execute(delete(WorkerState).where(WorkerState.name.in_(gone)))
        table = cast(Table, WorkerState.__table__)
        values = {
            "state": bindparam("row_state", type_=EncodedJSON()),
            "updated_at": bindparam("at"),
        }
        if updates:  # one executemany, without the ORM's bookkeeping (hundreds of rows)
            by_name = update(table).where(table.c.name == bindparam("row_name"))
            session.execute(by_name.values(values), updates)
        if inserts:
            session.execute(insert(table).values(name=bindparam("row_name"), **values), inserts)
        return len(updates) + len(inserts)

    def drop_all(self, session: Session) -> None:
        """Forget every saved part (an unreadable state, kept aside by the caller)."""
        session.execute(
            delete(WorkerState).where(WorkerState.name.startswith(PART_PREFIX, autoescape=True))
        )
        self.names.clear()
