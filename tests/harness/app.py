"""The server under test, shared by tests/server, tests/alerting, tests/records and
tests/pages: the real app on SQLite and on PostgreSQL (every test that takes `client` runs
on both; a folder may narrow `database_url`), with a real SQLite reading store from the
gateway. Registered once in tests/conftest.py, so one PostgreSQL serves the whole session."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from coldchain.readingstore.sqlite import SqliteReadingStore
from coldchain.settings import ServerSettings, Settings, StoreSettings
from server.app import create_app
from server.core.db import make_engine, migrate
from tests.harness.postgres import Postgres, make_postgres, remove
from tests.server.world import World, build_world


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL 15 for the whole session (each test gets its own database)."""
    server = make_postgres()
    server.start()
    yield server
    server.stop()
    remove(server)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "coldchain.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres: Postgres) -> str:
    postgres.execute("CREATE DATABASE coldchain_template")
    engine = make_engine(postgres.url("coldchain_template"))
    migrate(engine)
    engine.dispose()
    return "coldchain_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database (a copy of a template migrated once per session)."""
    if request.param == "sqlite":
        path = tmp_path / "coldchain.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    server: Postgres = request.getfixturevalue("postgres")
    name = f"test_{uuid.uuid4().hex[:12]}"
    server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    yield server.url(name)
    server.execute(f"DROP DATABASE {name} WITH (FORCE)")


def make_settings(database_url: str, tmp_path: Path, **server: object) -> Settings:
    return Settings(
        server=ServerSettings(
            database_url=database_url,
            argon2_time_cost=1,  # fast hashes: tests log in often; production keeps the defaults
            argon2_memory_kib=1024,
            **server,
        ),
        store=StoreSettings(sqlite_path=tmp_path / "readings.sqlite3"),
    )


@pytest.fixture
def reading_store(tmp_path: Path) -> Iterator[SqliteReadingStore]:
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    yield store
    store.close()


@pytest.fixture
def app(database_url: str, tmp_path: Path, reading_store: SqliteReadingStore) -> FastAPI:
    return create_app(make_settings(database_url, tmp_path), reading_store=reading_store)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def world(client: TestClient, app: FastAPI) -> World:
    """Two cooperatives sharing a van, producers, users of every role (tests/server/world.py)."""
    return build_world(client, app)
