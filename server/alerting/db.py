"""The worker's own database engine. On SQLite its transactions start with BEGIN
IMMEDIATE: the worker and the dispatcher read then write, and in WAL mode a deferred
transaction whose snapshot went stale while another connection committed fails at once
with "database is locked" (SQLITE_BUSY_SNAPSHOT) instead of waiting its busy timeout.
Taking the write lock first makes them queue behind each other (busy_timeout) instead."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from server.core.db import make_engine, make_sessionmaker


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
