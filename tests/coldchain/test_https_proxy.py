"""HTTPS through Caddy (deploy/caddy/Caddyfile.lan, `tls internal`) in front of the real
server: the page is fetched over HTTPS trusting Caddy's own root, and the session cookie a
login sets is `Secure`, because the server believes Caddy's X-Forwarded-Proto (Caddy's
address is in `server.forwarded_allow_ips`) and nobody else's.

Caddyfile.public (automatic certificates from a public authority) needs a public name and
the internet: it is only validated here (`caddy validate`), not run.
"""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from coldchain.readingstore.sqlite import SqliteReadingStore
from server.app import create_app
from server.domain.accounts import create_superuser
from tests.alerting.support import HttpServer
from tests.harness.app import Databases, make_settings
from tests.harness.servers import free_port, stop_process, tail, wait_for_port
from tests.support.waiting import wait_until

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "caddy"
PASSWORD = "un mot de passe assez long"
CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
SESSION = "coldchain_session"


def caddy_binary() -> str:
    for candidate in ("/usr/bin/caddy", "/usr/local/bin/caddy"):
        if Path(candidate).exists():
            return candidate
    pytest.skip("caddy is not installed (Debian package caddy: scripts/install-system-packages)")


@pytest.fixture
def served(tmp_path: Path, databases: Databases) -> Iterator[HttpServer]:
    """The real app on a fresh SQLite database with one superuser, served by uvicorn on
    127.0.0.1, believing proxy headers from 127.0.0.1 (where Caddy connects from)."""
    url = databases.fresh_sqlite(tmp_path / "coldchain.sqlite3")
    settings = make_settings(url, tmp_path, forwarded_allow_ips=["127.0.0.1"])
    store = SqliteReadingStore(tmp_path / "readings.sqlite3")
    app = create_app(settings, reading_store=store)
    with TestClient(app):  # the lifespan: migrations, state
        with app.state.sessionmaker() as session:
            create_superuser(
                session, app.state.password_hasher, "root@example.be", "Root", PASSWORD
            )
        server = HttpServer(app)
        yield server
        server.stop()
    store.close()
    databases.drop(url)


@pytest.fixture
def caddy(tmp_path: Path, served: HttpServer) -> Iterator[tuple[str, Path]]:
    """Caddy running the shipped LAN Caddyfile, its placeholders set to free loopback ports:
    (https base URL, Caddy's internal root certificate)."""
    binary = caddy_binary()
    https_port, http_port, admin_port = free_port(), free_port(), free_port()
    home = tmp_path / "caddy"
    home.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "CADDY_ADMIN": f"127.0.0.1:{admin_port}",
        "CADDY_HTTP_PORT": str(http_port),
        "CADDY_HTTPS_PORT": str(https_port),
        "COLDCHAIN_SITE": "127.0.0.1",
        "COLDCHAIN_UPSTREAM": f"127.0.0.1:{served.port}",
    }
    log = home / "caddy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "run", "--config", str(DEPLOY / "Caddyfile.lan"), "--adapter", "caddyfile"],
            env=env, cwd=home, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(https_port, proc, 30, log)
        root = home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        wait_until(root.exists, 15, f"Caddy's internal root certificate\n{tail(log)}")
        # The site's own certificate is issued after the root, in the background: until then
        # a handshake gets "tlsv1 alert internal error" (seen once in CI).
        wait_until(
            lambda: handshakes(https_port, root), 30, f"Caddy's site certificate\n{tail(log)}"
        )
        yield f"https://127.0.0.1:{https_port}", root
    finally:
        stop_process(proc)


def handshakes(port: int, root: Path) -> bool:
    """Whether a TLS handshake with 127.0.0.1:port succeeds, trusting `root`."""
    context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1"),
        ):
            return True
    except ssl.SSLError:
        return False


def login(client: httpx.Client) -> httpx.Response:
    """Sign in through the login form as a browser does: show it, post it."""
    page = client.get("/login")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None, "no csrf field on the login page"
    form = {"email": "root@example.be", "password": PASSWORD, "csrf": found.group(1)}
    return client.post("/login", data=form, follow_redirects=False)


def session_cookie(response: httpx.Response) -> str:
    cookies = [v for v in response.headers.get_list("set-cookie") if v.startswith(SESSION + "=")]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def test_login_through_caddy_sets_a_secure_session_cookie(caddy: tuple[str, Path]) -> None:
    base, root = caddy
    trusted = ssl.create_default_context(cafile=str(root))
    with httpx.Client(base_url=base, verify=trusted, timeout=10) as client:
        done = login(client)
        assert done.status_code == 303, done.text
        cookie = session_cookie(done)
        assert "; secure" in cookie.lower(), cookie
        assert "httponly" in cookie.lower()
        admin = client.get("/admin")  # signed in over HTTPS: the cookie came back
        assert admin.status_code == 200 and admin.url.path == "/admin", admin.url
    with httpx.Client(base_url=base, verify=trusted, timeout=10) as newcomer:
        # Every cookie of an HTTPS response is Secure: the login form's anti-CSRF one too.
        form_cookies = newcomer.get("/login").headers.get_list("set-cookie")
        assert form_cookies and all("; secure" in c.lower() for c in form_cookies), form_cookies

    # Without Caddy's root the certificate is not trusted: the chain is Caddy's own.
    with (
        httpx.Client(base_url=base, timeout=10) as untrusting,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        untrusting.get("/login")


def test_plain_http_and_untrusted_proxy_headers_give_no_secure_cookie(
    served: HttpServer,
) -> None:
    # Straight to the server: plain HTTP, no Secure (a browser would drop it over HTTP).
    with httpx.Client(base_url=served.url, timeout=10) as direct:
        assert "secure" not in session_cookie(login(direct)).lower()
    # From 127.0.0.3, not a trusted proxy, claiming HTTPS: the claim is ignored.
    spoofing = httpx.HTTPTransport(local_address="127.0.0.3")
    with httpx.Client(
        base_url=served.url,
        transport=spoofing,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"},
        timeout=10,
    ) as client:
        assert "secure" not in session_cookie(login(client)).lower()


def test_both_shipped_caddyfiles_are_valid(tmp_path: Path) -> None:
    binary = caddy_binary()
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    for name in ("Caddyfile.lan", "Caddyfile.public"):
        checked = subprocess.run(
            [binary, "validate", "--config", str(DEPLOY / name), "--adapter", "caddyfile"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert checked.returncode == 0, (name, checked.stdout, checked.stderr)
        assert "Valid configuration" in checked.stdout + checked.stderr
