"""Logins when attacked and busy, on a real SQLite file database and the real app: no
password is hashed while the write lock is held (so concurrent logins and a flood of failed
ones get no 5xx, and other writers no "database is locked"); the per-account limit makes
the account wait 1, 2, 4 … seconds instead of locking its owner out; the per-address limit
counts the TCP peer, and X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from coldchain import clock
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from server.domain.accounts import create_superuser
from server.domain.sessions import account_delay
from tests.harness.app import fresh_database, make_settings
from tests.harness.servers import free_port
from tests.server.world import PASSWORD

LOGIN = "/api/v1/auth/login"
EMAIL = "chauffeur@example.be"


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated SQLite file database (the write lock is SQLite's)."""
    yield from fresh_database(request, tmp_path, "sqlite")


def _app(url: str, tmp_path: Path, store: SqliteReadingStore, **server: Any) -> FastAPI:
    settings = make_settings(url, tmp_path)
    settings = settings.model_copy(update={"server": settings.server.model_copy(update=server)})
    return create_app(settings, reading_store=store)


def _user(app: FastAPI, email: str = EMAIL) -> None:
    with app.state.sessionmaker() as session:
        create_superuser(session, app.state.password_hasher, email, "Chauffeur", PASSWORD)


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app on a real uvicorn on 127.0.0.1 (its worker threads, as in production)."""
    with TestClient(app):  # the lifespan: the background jobs run meanwhile
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=free_port(),
            lifespan="off",
            proxy_headers=False,  # as `coldchain server run`: the app decides (server/app.py)
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{config.port}"
        finally:
            server.should_exit = True
            thread.join(5)


@contextmanager
def background_writer(url: str) -> Iterator[list[str]]:
    """Another process's short writes (like the alert worker's) while the logins run: the
    errors they met."""
    errors: list[str] = []
    stop = threading.Event()

    def write() -> None:
        db = sqlite3.connect(make_url(url).database or "", timeout=5, isolation_level=None)
        db.execute("CREATE TABLE IF NOT EXISTS test_job (n INTEGER)")
        while not stop.is_set():
            try:
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO test_job VALUES (1)")
                db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                errors.append(str(error))
            time.sleep(0.005)
        db.close()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        stop.set()
        thread.join(10)


def test_30_concurrent_logins_get_no_5xx(
    sqlite_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    # A real argon2 cost (OWASP's minimum: 19 MiB, 2 passes), not the tests' cheap one.
    app = _app(sqlite_url, tmp_path, reading_store, argon2_time_cost=2, argon2_memory_kib=19456)
    emails = [f"chauffeur{n}@example.be" for n in range(30)]
    for email in emails:
        _user(app, email)
    with served(app) as base, background_writer(sqlite_url) as writer_errors:
        barrier = threading.Barrier(len(emails))

        def log_in(email: str) -> int:
            with httpx.Client(base_url=base, timeout=30) as http:
                barrier.wait()
                return http.post(LOGIN, json={"email": email, "password": PASSWORD}).status_code

        with ThreadPoolExecutor(len(emails)) as pool:
            statuses = Counter(pool.map(log_in, emails))
    assert statuses == {200: 30}, statuses  # colleagues behind one address: all get in
    assert writer_errors == []


def test_a_flood_of_failed_logins_from_many_addresses_gets_no_5xx(
    sqlite_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    app = _app(sqlite_url, tmp_path, reading_store, forwarded_allow_ips=["127.0.0.1"])
    _user(app)
    with (
        served(app) as base,
        background_writer(sqlite_url) as writer_errors,
        httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=20)) as http,
    ):

        def fail(n: int) -> int:
            email = EMAIL if n % 2 else f"inconnu{n}@example.be"  # the driver, and anyone
            forwarded = {"X-Forwarded-For": f"10.0.{n // 250}.{n % 250}"}
            body = {"email": email, "password": f"devine {n}"}
            return http.post(LOGIN, json=body, headers=forwarded).status_code

        with ThreadPoolExecutor(20) as pool:
            statuses = Counter(pool.map(fail, range(200)))
    assert sum(n for status, n in statuses.items() if status >= 500) == 0, statuses
    assert set(statuses) <= {401, 429} and statuses[401] >= 100, statuses
    assert statuses[429] >= 90  # the driver's account waits after its first failures
    assert writer_errors == []


def test_no_password_is_hashed_under_the_write_lock(
    sqlite_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    """While argon2 runs (login, password change, user creation), another connection can
    take the write lock at once."""
    database = make_url(sqlite_url).database or ""
    held: list[str] = []

    def lock_is_free(what: str) -> None:
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError:
            held.append(what)
        finally:
            other.close()

    class Probe(PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            lock_is_free("hash")
            return super().hash(password, salt=salt)

        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            lock_is_free("verify")
            return super().verify(hash, password)

    app = _app(sqlite_url, tmp_path, reading_store)
    _user(app)
    app.state.password_hasher = Probe(time_cost=1, memory_cost=1024)
    with TestClient(app) as client:
        assert client.post(LOGIN, json={"email": EMAIL, "password": "faux"}).status_code == 401
        token = client.post(LOGIN, json={"email": EMAIL, "password": PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        change = {"current_password": PASSWORD, "new_password": "un nouveau mot de passe"}
        assert client.post("/api/v1/auth/password", json=change, headers=bearer).status_code == 204
        organisation = client.post(
            "/api/v1/organisations",
            json={"name": "Coop Test", "kind": "cooperative"},
            headers=bearer,
        )
        assert organisation.status_code == 201, organisation.text
        new_user = {
            "email": "nouveau@example.be",
            "full_name": "Nouveau",
            "password": "un mot de passe assez long",
            "memberships": [{"organisation_id": organisation.json()["id"], "role": "admin"}],
        }
        created = client.post("/api/v1/users", json=new_user, headers=bearer)
        assert created.status_code == 201, created.text
    assert held == []


def test_the_account_waits_longer_after_each_failure_and_is_never_locked_out(
    sqlite_url: str,
    tmp_path: Path,
    reading_store: SqliteReadingStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [time.time()]
    monkeypatch.setattr(clock, "now_s", lambda: now[0])
    app = _app(sqlite_url, tmp_path, reading_store, login_max_failures_account=3)
    _user(app)
    wrong = {"email": EMAIL, "password": "devine"}
    right = {"email": EMAIL, "password": PASSWORD}
    with TestClient(app) as client:
        for _ in range(3):  # three typing mistakes: no wait yet...
            assert client.post(LOGIN, json=wrong).status_code == 401
        # ...then 1 s, 2 s, 4 s, 8 s: during the wait even the right password waits, and a
        # refused attempt does not lengthen it.
        for delay in (1, 2, 4, 8):
            refused = client.post(LOGIN, json=right)
            assert refused.status_code == 429
            assert refused.headers["retry-after"] == str(delay)
            assert refused.json()["error"]["message"] == (
                f"Trop de tentatives de connexion échouées ; réessayez dans {delay} s."
            )
            now[0] += delay - 0.5
            assert client.post(LOGIN, json=right).status_code == 429
            now[0] += 0.5
            assert client.post(LOGIN, json=wrong).status_code == 401  # the attacker again
        now[0] += 16  # the wait after the 7th failure is over: the driver gets in
        assert client.post(LOGIN, json=right).status_code == 200
        # ...and the count starts again from zero.
        assert client.post(LOGIN, json=wrong).status_code == 401
        assert client.post(LOGIN, json=right).status_code == 200
    assert [account_delay(n, 3, 60).total_seconds() for n in range(2, 11)] == [
        0,
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


def test_the_login_page_says_how_long_to_wait(
    sqlite_url: str,
    tmp_path: Path,
    reading_store: SqliteReadingStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "now_s", lambda: 1_800_000_000.0)
    app = _app(sqlite_url, tmp_path, reading_store, login_max_failures_account=1)
    with TestClient(app) as client:
        page = client.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        form = {"email": EMAIL, "password": "devine", "csrf": csrf}
        assert client.post("/login", data=form).status_code == 401
        refused = client.post("/login", data=form)
        assert refused.status_code == 429
        assert "Trop de tentatives de connexion. Réessayez dans 1 s." in refused.text


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(
    sqlite_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    def failures_until_refused(app: FastAPI) -> list[int]:
        statuses = []
        with TestClient(app) as client:  # its peer address is "testclient"
            for n in range(4):
                body = {"email": f"personne{n}@example.be", "password": "devine"}
                forwarded = {"X-Forwarded-For": f"192.0.2.{n}"}
                statuses.append(client.post(LOGIN, json=body, headers=forwarded).status_code)
        return statuses

    # Nobody trusted, or another proxy: the four forged addresses are one peer, refused after
    # 3 failures. The peer is the trusted proxy: each forwarded address has its own allowance.
    for trusted, expected in (
        ([], [401, 401, 401, 429]),
        (["10.1.1.1"], [401, 401, 401, 429]),
        (["testclient"], [401, 401, 401, 401]),
    ):
        with_proxy = _app(
            sqlite_url,
            tmp_path,
            reading_store,
            login_max_failures_ip=3,
            forwarded_allow_ips=trusted,
        )
        assert failures_until_refused(with_proxy) == expected, trusted
        if trusted != ["testclient"]:
            with with_proxy.state.engine.begin() as db:
                db.execute(text("DELETE FROM failed_login"))
    behind_proxy = with_proxy
    with behind_proxy.state.engine.connect() as db:
        counted = db.execute(text("SELECT DISTINCT client_ip FROM failed_login")).scalars()
        assert sorted(counted) == [f"192.0.2.{n}" for n in range(4)]
