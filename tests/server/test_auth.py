"""Login, session cookie, bearer tokens, logout, password change, failed-login limits."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pytest import MonkeyPatch
from sqlalchemy import update

from coldchain import clock
from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from server.core import csrf
from server.core.models import AccessToken, utcnow
from server.domain.accounts import create_superuser
from tests.harness.app import make_settings
from tests.server.world import PASSWORD, login

EMAIL = "root@example.be"


def _user(app: FastAPI, email: str = EMAIL) -> None:
    with app.state.sessionmaker() as session:
        create_superuser(session, app.state.password_hasher, email, "Root", PASSWORD)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_login_gives_token_and_signed_http_only_cookie(app: FastAPI, client: TestClient) -> None:
    _user(app)
    response = client.post(
        "/api/v1/auth/login", json={"email": " Root@Example.be ", "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    cookie_header = response.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie_header
        and "SameSite=lax" in cookie_header
        and "Path=/" in cookie_header
    )
    cookie = client.cookies["coldchain_session"]
    assert cookie != token and cookie.startswith(token + ".")  # token + signature
    # The page session works without the bearer header ...
    assert client.get("/api/v1/users/me").json()["email"] == EMAIL
    # ... and a forged signature does not.
    client.cookies.set("coldchain_session", token + ".forged")
    assert client.get("/api/v1/users/me").status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/users/me", headers=_bearer(token)).status_code == 200


def test_unauthenticated_and_wrong_credentials(app: FastAPI, client: TestClient) -> None:
    _user(app)
    response = client.get("/api/v1/deliveries")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "error": {"code": "not_authenticated", "message": "Authentification requise."}
    }
    assert client.get("/api/v1/users/me", headers=_bearer("x" * 43)).status_code == 401
    assert client.get("/api/v1/users/me", headers=_bearer("x" * 5000)).status_code == 401
    # The refusal's language also reads the token (a user's stored choice): malformed,
    # unknown and oversize tokens are nobody, and the refusal is in the asked language.
    for authorization in ("Bearer", "Bearer ", "Basic eDp5", "Bearer x y", "Bearer " + "x" * 5000):
        refused = client.get(
            "/api/v1/users/me", headers={"Authorization": authorization, "Accept-Language": "nl"}
        )
        assert refused.status_code == 401, authorization[:20]
        assert refused.json()["error"]["code"] == "not_authenticated"
        assert refused.json()["error"]["message"] == "Aanmelding vereist."
    wrong = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "not the password"})
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.be", "password": "whatever"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no hint whether the account exists
    assert wrong.json()["error"]["message"] == "Adresse e-mail ou mot de passe incorrect."


def test_logout_revokes_the_token(app: FastAPI, client: TestClient) -> None:
    _user(app)
    first, second = login(client, EMAIL), login(client, EMAIL)
    assert client.post("/api/v1/auth/logout", headers=_bearer(first)).status_code == 204
    assert client.get("/api/v1/users/me", headers=_bearer(first)).status_code == 401
    assert client.get("/api/v1/users/me", headers=_bearer(second)).status_code == 200


def test_expired_token_is_refused(app: FastAPI, client: TestClient) -> None:
    _user(app)
    token = login(client, EMAIL)
    with app.state.sessionmaker() as session:
        session.execute(update(AccessToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.get("/api/v1/users/me", headers=_bearer(token)).status_code == 401


def test_password_change_revokes_other_sessions(app: FastAPI, client: TestClient) -> None:
    _user(app)
    here, elsewhere = login(client, EMAIL), login(client, EMAIL)
    url = "/api/v1/auth/password"
    wrong = client.post(
        url,
        json={"current_password": "nope", "new_password": "a new long password"},
        headers=_bearer(here),
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "wrong_password"
    short = client.post(
        url, json={"current_password": PASSWORD, "new_password": "short"}, headers=_bearer(here)
    )
    assert short.status_code == 422
    ok = client.post(
        url,
        json={"current_password": PASSWORD, "new_password": "a new long password"},
        headers=_bearer(here),
    )
    assert ok.status_code == 204
    assert client.get("/api/v1/users/me", headers=_bearer(here)).status_code == 200
    assert client.get("/api/v1/users/me", headers=_bearer(elsewhere)).status_code == 401
    assert (
        client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}).status_code
        == 401
    )
    login(client, EMAIL, "a new long password")


def test_failed_logins_are_limited_per_account_across_workers(
    database_url: str, tmp_path: Path, reading_store: SqliteReadingStore, monkeypatch: MonkeyPatch
) -> None:
    now = [time.time()]
    monkeypatch.setattr(clock, "now_s", lambda: now[0])
    settings = make_settings(database_url, tmp_path, login_max_failures_account=3)
    worker1 = create_app(settings, reading_store=reading_store)
    worker2 = create_app(settings, reading_store=reading_store)  # a second process, same database
    _user(worker1)
    with TestClient(worker1) as one, TestClient(worker2) as two:
        for client in (one, two, one):
            bad = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": "guess"})
            assert bad.status_code == 401
        for client in (one, two):  # even the right password waits now, on every worker
            blocked = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
            assert blocked.status_code == 429
            assert blocked.json()["error"]["code"] == "too_many_attempts"
        now[0] += 1  # a wait (1 s after the third failure), not a lockout
        right = two.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        assert right.status_code == 200


def test_failed_logins_are_limited_per_client_ip(
    database_url: str, tmp_path: Path, reading_store: SqliteReadingStore
) -> None:
    settings = make_settings(database_url, tmp_path, login_max_failures_ip=4)
    app = create_app(settings, reading_store=reading_store)
    _user(app)
    _user(app, "other@example.be")
    with TestClient(app) as client:
        for n in range(4):  # one address tries many accounts, each only once
            body = {"email": f"user{n}@example.be", "password": "guess"}
            assert client.post("/api/v1/auth/login", json=body).status_code == 401
        response = client.post(
            "/api/v1/auth/login", json={"email": "other@example.be", "password": PASSWORD}
        )
        assert response.status_code == 429
        english = client.post(
            "/api/v1/auth/login",
            json={"email": EMAIL, "password": PASSWORD},
            headers={"Accept-Language": "en"},
        )
        # The wait: until the oldest failure leaves the window (900 s), in the header too.
        wait = int(english.headers["retry-after"])
        assert 890 <= wait <= 900
        assert english.json()["error"]["message"] == (
            f"Too many failed login attempts; try again in {wait} s."
        )


def test_logout_of_a_cookie_session(app: FastAPI, client: TestClient) -> None:
    _user(app)
    login = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    cookie = client.cookies["coldchain_session"]
    # Authenticated by the cookie alone: a write then needs the session's CSRF token.
    settings = app.state.settings.server
    csrf_header = {
        csrf.HEADER: csrf.token_for(settings, csrf.SESSION, login.json()["access_token"])
    }
    response = client.post("/api/v1/auth/logout", headers=csrf_header)
    assert response.status_code == 204
    assert 'coldchain_session=""' in response.headers["set-cookie"]  # the browser forgets it
    client.cookies.set("coldchain_session", cookie)  # a copy kept aside is revoked too
    assert client.get("/api/v1/users/me").status_code == 401
