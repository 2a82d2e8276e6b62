"""Anti-CSRF tokens of the pages' forms (server/core/csrf.py, server/pages/web.py) and of the
API's cookie-authenticated writes (server/core/deps.py), over HTTP on the real app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from server.core import csrf
from tests.pages.conftest import csrf_of, page_login
from tests.server.world import World

REFUSED = "Formulaire expiré ou invalide, rechargez la page."
# The login form refused: the form again (not a dead end), the e-mail kept.
LOGIN_EXPIRED = "La page de connexion n'était plus valable"
ME = "/api/v1/users/me"  # signed in or not, by the session cookie
ANY_PAGE = "/alerts/999999"  # a signed-in page (here « introuvable »): its header's logout form


@pytest.fixture
def browser(app: FastAPI, world: World) -> Iterator[TestClient]:
    """A cookie jar of its own (world's client holds bearer tokens only)."""
    assert world.user_ids
    with TestClient(app) as client:
        yield client


def post_paths(routes: list[Any], prefix: str = "") -> Iterator[str]:
    """Every POST route's path, also through included routers (FastAPI >= 0.1xx keeps
    them as included-router entries rather than copies)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from post_paths(inner.routes, prefix + getattr(context, "prefix", ""))
        elif isinstance(route, APIRoute) and "POST" in (route.methods or set()):
            yield prefix + route.path


def refused(answer: Any) -> bool:
    return answer.status_code == 403 and REFUSED in answer.text


def login_refused(answer: Any) -> bool:
    text = answer.text.replace("&#39;", "'")
    return answer.status_code == 403 and LOGIN_EXPIRED in text and 'id="password"' in text


def test_login_form_needs_the_token_of_its_own_pre_session_cookie(
    app: FastAPI, browser: TestClient
) -> None:
    form = {"email": "driver_a@example.be", "password": "correct horse battery"}
    assert login_refused(browser.post("/login", data=form))  # missing
    token = csrf_of(browser.get("/login").text)  # sets the pre-session cookie
    assert browser.cookies.get(csrf.PRE_SESSION_COOKIE)
    assert login_refused(browser.post("/login", data={**form, "csrf": token[:-2] + "xx"}))
    with TestClient(app) as other:  # another browser's token: bound to its own cookie
        other_token = csrf_of(other.get("/login").text)
        assert other_token != token
        assert login_refused(browser.post("/login", data={**form, "csrf": other_token}))
    assert app.state.csrf_refused["missing"] >= 1 and app.state.csrf_refused["wrong"] >= 2
    signed = browser.post("/login", data={**form, "csrf": token}, follow_redirects=False)
    assert signed.status_code == 303 and browser.get(ME).status_code == 200


def test_a_signed_out_tabs_script_leaves_the_login_form_of_another_tab_valid(
    browser: TestClient,
) -> None:
    """A person signs in in one tab while a page left open in another, signed out, asks for
    its live parts (live.js: fetch, redirected to /login). That copy of the login form must
    not replace the pre-session cookie: it did, and the login then failed as forged (seen as
    a failed CI run of tests/pages/test_admin_setup.py)."""
    form = {"email": "driver_a@example.be", "password": "correct horse battery"}
    navigate = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
    token = csrf_of(browser.get("/login", headers=navigate).text)
    cookie = browser.cookies.get(csrf.PRE_SESSION_COOKIE)
    assert cookie
    # The other tab's fetch left before this cookie was set (both answers are on their way).
    browser.cookies.delete(csrf.PRE_SESSION_COOKIE)
    script = {"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Accept": "text/html"}
    fetched = browser.get("/live/banner", headers=script)  # signed out: the login page
    assert fetched.url.path == "/login" and 'id="password"' in fetched.text
    assert csrf.PRE_SESSION_COOKIE not in fetched.headers.get("set-cookie", "")
    # Over plain HTTP on a LAN, Chromium sends no Sec-Fetch-*: our scripts' own header.
    lan = browser.get("/live/banner", headers={"X-Coldchain-Script": "live"})
    assert lan.url.path == "/login" and csrf.PRE_SESSION_COOKIE not in lan.headers.get(
        "set-cookie", ""
    )
    person = browser.get("/login")  # a person opening it with neither: the cookie is set
    assert csrf.PRE_SESSION_COOKIE in person.headers.get("set-cookie", "")
    browser.cookies.delete(csrf.PRE_SESSION_COOKIE)
    browser.cookies.set(csrf.PRE_SESSION_COOKIE, cookie)
    signed = browser.post("/login", data={**form, "csrf": token}, follow_redirects=False)
    assert signed.status_code == 303 and browser.get(ME).status_code == 200


def test_a_refused_login_form_is_the_form_again_with_the_email_kept(browser: TestClient) -> None:
    """Two tabs each drew a login form with no cookie yet: the second one's cookie won, the
    first form is refused. The person gets the form again, e-mail kept, with a valid token."""
    form = {"email": "driver_a@example.be", "password": "correct horse battery"}
    first = csrf_of(browser.get("/login").text)
    browser.cookies.delete(csrf.PRE_SESSION_COOKIE)
    csrf_of(browser.get("/login").text)  # the other tab: another cookie
    again = browser.post("/login", data={**form, "csrf": first})
    assert login_refused(again)
    assert 'value="driver_a@example.be"' in again.text
    assert browser.get(ME).status_code == 401  # not signed in by a refused form
    hostile = browser.post("/login", data={"email": "<script>" + "x" * 5000, "csrf": first})
    assert login_refused(hostile) and "<script>" not in hostile.text  # escaped
    assert "x" * 246 in hostile.text and "x" * 247 not in hostile.text  # cut: 254 characters
    retry = browser.post(
        "/login", data={**form, "csrf": csrf_of(again.text)}, follow_redirects=False
    )
    assert retry.status_code == 303 and browser.get(ME).status_code == 200


def test_signed_in_form_needs_this_sessions_token(app: FastAPI, browser: TestClient) -> None:
    assert page_login(browser, "driver_a").status_code == 303
    token = csrf_of(browser.get(ANY_PAGE).text)
    assert refused(browser.post("/logout", data={}))
    assert refused(browser.post("/logout", data={"csrf": "forged"}))
    with TestClient(app) as second:  # the same user's other session has another token
        assert page_login(second, "driver_a").status_code == 303
        assert refused(browser.post("/logout", data={"csrf": csrf_of(second.get(ANY_PAGE).text)}))
    login_token = csrf_of(TestClient(app).get("/login").text)  # a login form's: not for this
    assert refused(browser.post("/logout", data={"csrf": login_token}))
    assert browser.get(ME).status_code == 200  # none of those logged out
    out = browser.post("/logout", data={"csrf": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert browser.get(ME).status_code == 401


def test_every_page_post_route_refuses_a_form_without_token(
    app: FastAPI, browser: TestClient
) -> None:
    """Also the routes added later (by anyone): each page form must check its token."""
    assert page_login(browser, "admin_a").status_code == 303
    posts = [path for path in post_paths(app.routes) if not path.startswith("/api/")]
    assert "/login" in posts and "/admin/cold-rooms" in posts and len(posts) >= 10
    for path in posts:
        url = re.sub(r"\{[^}]+\}", "1", path)
        answer = browser.post(url, data={"note": "x", "name": "x"}, follow_redirects=False)
        check = login_refused if path == "/login" else refused
        assert check(answer), f"{path}: {answer.status_code}"


def test_api_write_by_the_session_cookie_needs_the_header(
    world: World, browser: TestClient
) -> None:
    assert page_login(browser, "admin_a").status_code == 303
    body = {"name": "Chambre par cookie", "owner_id": world.ids["A"], "category": "chilled_retail"}
    bare = browser.post("/api/v1/cold-rooms", json=body)
    assert bare.status_code == 403 and bare.json()["error"]["code"] == "csrf_failed"
    assert "X-CSRF-Token" in bare.json()["error"]["message"]
    wrong = browser.post("/api/v1/cold-rooms", json=body, headers={csrf.HEADER: "forged"})
    assert wrong.status_code == 403
    assert browser.get("/api/v1/users/me").status_code == 200  # reading needs no token
    token = csrf_of(browser.get("/admin").text)  # the pages' token is the session's
    made = browser.post("/api/v1/cold-rooms", json=body, headers={csrf.HEADER: token})
    assert made.status_code == 201, made.text
    bearer = world["admin_a"].post("/api/v1/cold-rooms", {**body, "name": "Par jeton"})
    assert bearer.status_code == 201  # a bearer token is not sent by browsers by itself
