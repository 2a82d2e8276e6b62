"""The server under test, shared by tests/server, tests/alerting, tests/records and
tests/pages: the real app on SQLite and on PostgreSQL (every test that takes `client` runs
on both; a folder may narrow `database_url`), with a real SQLite reading store from the
gateway. Registered once in tests/conftest.py, so one PostgreSQL serves the whole session.

Every test gets a database of its own, copied from a template: migrated once per session
(an empty database), and the world of tests/server/world.py built once per session through
the API on each backend (`world` and `build_site` start from a copy of it instead of
building it again, about a second per test)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from coldchain.readingstore.sqlite import SqliteReadingStore
from coldchain.settings import ServerSettings, Settings, StoreSettings
from server.app import create_app
from server.core.db import make_engine, migrate
from tests.harness.postgres import Postgres, make_postgres, remove
from tests.server.world import As, World, build_world


@dataclass(frozen=True)
class WorldSeed:
    """What build_world leaves outside the database: each user's bearer token (stored,
    hashed, in the database with twelve hours to live), the user ids and the other ids."""

    tokens: dict[str, str]
    user_ids: dict[str, int]
    ids: dict[str, int]

    @classmethod
    def of(cls, world: World) -> WorldSeed:
        tokens = {
            name: user.headers["Authorization"].removeprefix("Bearer ")
            for name, user in world.users.items()
        }
        return cls(tokens, dict(world.user_ids), dict(world.ids))

    def attach(self, client: TestClient) -> World:
        """The world on a copy of the database it was built in, for this test's client."""
        world = World(client, user_ids=dict(self.user_ids), ids=dict(self.ids))
        world.users.update({name: As(client, token) for name, token in self.tokens.items()})
        return world


def make_settings(database_url: str, tmp_path: Path, **server: object) -> Settings:
    return Settings(
        data_dir=tmp_path,  # the pages' export files (records.export_dir), not ./var
        server=ServerSettings(
            database_url=database_url,
            argon2_time_cost=1,  # fast hashes: tests log in often; production keeps the defaults
            argon2_memory_kib=1024,
            **server,
        ),
        store=StoreSettings(sqlite_path=tmp_path / "readings.sqlite3"),
    )


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of an SQLite database (WAL mode: the backup API, not the file)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _opened(path: Path) -> bool:
    """An SQLite database in WAL mode has its -wal file while a connection is open."""
    return path.with_name(path.name + "-wal").exists()


def _build_world_in(database_url: str, folder: Path) -> WorldSeed:
    """Build the world through the API, as a test would, in the database at `database_url`."""
    store = SqliteReadingStore(folder / "readings.sqlite3")
    app = create_app(make_settings(database_url, folder), reading_store=store)
    with TestClient(app) as client:  # leaving runs the lifespan's end: engine disposed
        seed = WorldSeed.of(build_world(client, app))
    store.close()
    return seed


class Databases:
    """Templates built on first use, once per session, and fresh copies of them.

    The copies made here are remembered by URL: `world_in` gives the seed of a database
    that holds a copy of the world, and `seed_world` may turn a fresh database that nobody
    has opened yet into such a copy."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sqlite: Path | None = None
        self._sqlite_world: tuple[Path, WorldSeed] | None = None
        self._postgres: dict[int, str] = {}  # server port -> template name
        self._postgres_world: dict[int, tuple[str, WorldSeed]] = {}
        self._servers: dict[str, Postgres] = {}  # url of a fresh PostgreSQL database -> server
        self._fresh_sqlite: set[str] = set()  # urls of the SQLite copies made here
        self._worlds: dict[str, WorldSeed] = {}  # url -> the world copied into that database

    # --- templates ------------------------------------------------------------------------

    def sqlite_template(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "sqlite-template" / "coldchain.sqlite3"
            path.parent.mkdir(parents=True)
            engine = make_engine(f"sqlite:///{path}")
            migrate(engine)
            engine.dispose()
            self._sqlite = path
        return self._sqlite

    def sqlite_world(self) -> tuple[Path, WorldSeed]:
        if self._sqlite_world is None:
            folder = self.folder / "sqlite-world"
            folder.mkdir()
            path = folder / "coldchain.sqlite3"
            copy_sqlite(self.sqlite_template(), path)
            self._sqlite_world = path, _build_world_in(f"sqlite:///{path}", folder)
        return self._sqlite_world

    def postgres_template(self, server: Postgres) -> str:
        if server.port not in self._postgres:
            server.execute("CREATE DATABASE coldchain_template")
            engine = make_engine(server.url("coldchain_template"))
            migrate(engine)
            engine.dispose()
            server.close_to_connections("coldchain_template")
            self._postgres[server.port] = "coldchain_template"
        return self._postgres[server.port]

    def postgres_world(self, server: Postgres) -> tuple[str, WorldSeed]:
        if server.port not in self._postgres_world:
            name = "coldchain_world"
            server.execute(f"CREATE DATABASE {name} TEMPLATE {self.postgres_template(server)}")
            folder = self.folder / "postgres-world"
            folder.mkdir()
            seed = _build_world_in(server.url(name), folder)
            server.close_to_connections(name)
            self._postgres_world[server.port] = name, seed
        return self._postgres_world[server.port]

    # --- fresh databases ------------------------------------------------------------------

    def fresh_sqlite(self, path: Path, world: bool = False) -> str:
        url = f"sqlite:///{path}"
        if world:
            template, seed = self.sqlite_world()
            copy_sqlite(template, path)
            self._worlds[url] = seed
        else:
            copy_sqlite(self.sqlite_template(), path)
        self._fresh_sqlite.add(url)
        return url

    def fresh_postgres(self, server: Postgres, world: bool = False) -> str:
        name = f"test_{uuid.uuid4().hex[:12]}"
        url = server.url(name)
        if world:
            template, seed = self.postgres_world(server)
            self._worlds[url] = seed
        else:
            template = self.postgres_template(server)
        server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self._servers[url] = server
        return url

    def drop(self, url: str) -> None:
        self._worlds.pop(url, None)
        self._fresh_sqlite.discard(url)
        server = self._servers.pop(url, None)
        if server is not None:
            server.execute(f"DROP DATABASE {make_url(url).database} WITH (FORCE)")

    def world_in(self, url: str) -> WorldSeed | None:
        return self._worlds.get(url)

    def seed_world(self, url: str) -> WorldSeed | None:
        """Make the database at `url`, not opened by anyone yet, a copy of the world: an
        SQLite file that does not exist yet, or a fresh database of this harness. None for
        any other database (the caller builds the world through the API)."""
        if url in self._worlds:
            return self._worlds[url]
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = Path(parsed.database or "")
            new = bool(parsed.database) and not path.exists()
            if not (new or (url in self._fresh_sqlite and not _opened(path))):
                return None
            path.parent.mkdir(parents=True, exist_ok=True)
            self.fresh_sqlite(path, world=True)
            return self._worlds[url]
        server = self._servers.get(url)
        if server is None or server.connections(parsed.database or "") > 0:
            return None
        template, seed = self.postgres_world(server)
        name = parsed.database
        server.execute(f"DROP DATABASE {name} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        self._worlds[url] = seed
        return seed


_databases: Databases | None = None


def seed_world(database_url: str) -> WorldSeed | None:
    """For helpers that create their app themselves (tests/alerting/support.py build_site):
    call before create_app; then `seed.attach(client)` if not None, else build_world."""
    return _databases.seed_world(database_url) if _databases is not None else None


@pytest.fixture(scope="session", autouse=True)
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    global _databases
    _databases = Databases(tmp_path_factory.mktemp("databases"))
    yield _databases
    _databases = None


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL 15 for the whole session (each test gets its own database)."""
    server = make_postgres()
    server.start()
    yield server
    server.stop()
    remove(server)


@pytest.fixture(scope="session")
def sqlite_template(databases: Databases) -> Path:
    return databases.sqlite_template()


@pytest.fixture(scope="session")
def postgres_template(databases: Databases, postgres: Postgres) -> str:
    return databases.postgres_template(postgres)


def fresh_database(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Iterator[str]:
    """A fresh, migrated database; already holding the world when the test takes `world`."""
    databases: Databases = request.getfixturevalue("databases")
    world = "world" in request.fixturenames
    if kind == "sqlite":
        url = databases.fresh_sqlite(tmp_path / "coldchain.sqlite3", world)
    else:
        url = databases.fresh_postgres(request.getfixturevalue("postgres"), world)
    yield url
    databases.drop(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database (a copy of a template migrated once per session)."""
    yield from fresh_database(request, tmp_path, request.param)


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
def world(client: TestClient, app: FastAPI, databases: Databases) -> World:
    """Two cooperatives sharing a van, producers, users of every role (tests/server/world.py):
    a copy of the one built through the API for this session, or built now for a database
    the harness did not make."""
    seed = databases.world_in(app.state.settings.server.database_url)
    return seed.attach(client) if seed is not None else build_world(client, app)
