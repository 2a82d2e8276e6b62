"""Records fixtures: the real app and the world of tests/server (SQLite here; the chain test
also runs on PostgreSQL), plus a delivery with readings, a calibration, a refusal and three
different verdicts (tests/records/support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.store_sqlite import SqliteReadingStore
from server.app import create_app
from tests.server.conftest import (  # noqa: F401  (fixtures)
    make_settings,
    postgres,
    postgres_template,
    sqlite_template,
)
from tests.server.world import World, build_world


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:  # noqa: F811
    import shutil

    path = tmp_path / "coldchain.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


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
    return build_world(client, app)
