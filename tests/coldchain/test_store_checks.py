"""Production stores checked at start (issue 16 item 6): a wrong PostgreSQL or InfluxDB stops
`server run` / `gateway run` / `coldchain up` with a French sentence saying what is wrong.

Real PostgreSQL 15 (the session's server, tests/harness/postgres.py) and a real InfluxDB
1.6.7 (tests/harness/servers.py). InfluxDB 2 cannot be installed on these machines: its
/api/v2/buckets answers come from a small HTTP server in this file, shaped like InfluxDB 2's
(`{"code": "unauthorized", ...}`, `{"buckets": [...]}`); that part is a mock, and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg
import pytest

from coldchain.readingstore.check import store_problem
from coldchain.settings import StoreSettings
from server.core.database_check import database_problem
from tests.harness.postgres import Postgres
from tests.harness.servers import InfluxDB1, free_port, make_influxdb1

COLDCHAIN = str(Path(sys.executable).with_name("coldchain"))
ROLE, PASSWORD = "coldchain_check", "le-bon-mot-de-passe"


def coldchain(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COLDCHAIN_")}
    return subprocess.run(
        [COLDCHAIN, *args], env=clean | env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def password_role(postgres: Postgres) -> Postgres:
    """A role that must give its password (the session's server trusts everyone else)."""
    hba = postgres.data / "pg_hba.conf"
    line = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
    if line not in hba.read_text():
        hba.write_text(line + hba.read_text())  # first match wins: before the trust lines
    with psycopg.connect(
        host="127.0.0.1", port=postgres.port, user=postgres.user, dbname="postgres",
        autocommit=True,
    ) as conn:  # fmt: skip
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ROLE,)).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'".encode())
        conn.execute("SELECT pg_reload_conf()")
    return postgres


def url(postgres: Postgres, password: str, database: str = "postgres") -> str:
    return f"postgresql://{ROLE}:{password}@127.0.0.1:{postgres.port}/{database}"


def test_postgresql_wrong_password_missing_database_and_unreachable(
    password_role: Postgres,
) -> None:
    assert database_problem(url(password_role, PASSWORD)) is None
    refused = database_problem(url(password_role, "mauvais"))
    assert refused is not None and "mot de passe refusé" in refused and ROLE in refused
    assert "mauvais" not in refused  # the password is never printed
    missing = database_problem(url(password_role, PASSWORD, "pas_de_base"))
    assert missing is not None and "la base « pas_de_base » n'existe pas" in missing
    nobody = database_problem(f"postgresql://personne@127.0.0.1:{password_role.port}/postgres")
    assert nobody is not None and "l'utilisateur « personne » est inconnu" in nobody
    port = free_port()
    unreachable = database_problem(f"postgresql://{ROLE}:x@127.0.0.1:{port}/postgres")
    assert unreachable is not None and f"PostgreSQL injoignable à 127.0.0.1:{port}" in unreachable
    assert database_problem("sqlite:///nowhere/x.sqlite3") is None  # nothing to check


def test_server_run_stops_on_a_refused_password(password_role: Postgres, tmp_path: Path) -> None:
    done = coldchain(
        "server", "run", cwd=tmp_path,
        env={"COLDCHAIN_SERVER__DATABASE_URL": url(password_role, "mauvais"),
             "COLDCHAIN_SERVER__PORT": str(free_port())},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "démarrage refusé" in done.stderr and "mot de passe refusé" in done.stderr


@pytest.fixture
def influxdb1_with_auth(tmp_path: Path) -> Iterator[InfluxDB1]:
    server = make_influxdb1(tmp_path / "influx")
    conf = tmp_path / "influx" / "influxdb.conf"
    conf.write_text(conf.read_text().replace("[http]\n", "[http]\n  auth-enabled = true\n"))
    server.start()
    # With no user yet, InfluxDB 1.x accepts the first admin without credentials.
    server.query("CREATE USER admin WITH PASSWORD 'admin-pw' WITH ALL PRIVILEGES")
    yield server
    server.stop()


def as_admin(server: InfluxDB1, statement: str) -> None:
    data = urlencode({"q": statement}).encode()
    url = f"{server.url}/query?u=admin&p=admin-pw"  # InfluxDB 1.x reads them from the URL
    with urllib.request.urlopen(url, data=data, timeout=30) as answer:
        assert "error" not in json.loads(answer.read())["results"][0], statement


def test_influxdb1_missing_database_wrong_password_and_unreachable(
    influxdb1_with_auth: InfluxDB1,
) -> None:
    given = {"kind": "influxdb1", "url": influxdb1_with_auth.url, "username": "admin"}
    store = StoreSettings(**given, password="admin-pw", create_database=False)
    missing = store_problem(store)
    assert missing is not None and "la base « coldchain » n'existe pas" in missing
    assert store_problem(StoreSettings(**given, password="admin-pw")) is None  # created later
    wrong = store_problem(StoreSettings(**given, password="mauvais"))
    assert wrong is not None and "mot de passe refusé" in wrong
    # docs/storage.md's configuration: a user with rights on its database only.
    for statement in ("CREATE DATABASE coldchain", "CREATE USER coop WITH PASSWORD 'coop-pw'",
                      "GRANT ALL ON coldchain TO coop"):  # fmt: skip
        as_admin(influxdb1_with_auth, statement)
    documented = {"kind": "influxdb1", "url": influxdb1_with_auth.url, "username": "coop"}
    assert (
        store_problem(StoreSettings(**documented, password="coop-pw", create_database=False))
        is None
    )
    port = free_port()
    gone = store_problem(StoreSettings(kind="influxdb1", url=f"http://127.0.0.1:{port}"))
    assert gone is not None and f"InfluxDB injoignable à http://127.0.0.1:{port}" in gone


def test_gateway_run_stops_on_a_missing_database(influxdb1: InfluxDB1, tmp_path: Path) -> None:
    done = coldchain(
        "gateway", "run", cwd=tmp_path,
        env={"COLDCHAIN_STORE__KIND": "influxdb1", "COLDCHAIN_STORE__URL": influxdb1.url,
             "COLDCHAIN_STORE__DATABASE": "absente", "COLDCHAIN_STORE__CREATE_DATABASE": "false",
             "COLDCHAIN_MQTT__PORT": str(free_port())},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "démarrage refusé" in done.stderr and "la base « absente » n'existe pas" in done.stderr
    assert not (tmp_path / "var" / "gateway-spool.sqlite3").exists()  # stopped before anything


class FakeInfluxDB2(BaseHTTPRequestHandler):
    """A MOCK of InfluxDB 2's GET /api/v2/buckets (none can run here): token "good", org
    "coop" holding bucket "coldchain"; the bodies have the shapes InfluxDB 2 answers with."""

    def do_GET(self) -> None:  # the name http.server calls
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        body: dict[str, object]
        if self.headers.get("Authorization") != "Token good":
            status, body = 401, {"code": "unauthorized", "message": "unauthorized access"}
        elif query.get("org") != "coop":
            message = f'organization name "{query.get("org")}" not found'
            status, body = 404, {"code": "not found", "message": message}
        else:
            found = [{"name": "coldchain"}] if query.get("name") == "coldchain" else []
            status, body = 200, {"buckets": found}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def fake_influxdb2() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeInfluxDB2)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_influxdb2_token_organisation_and_bucket_against_a_mock(fake_influxdb2: str) -> None:
    def problem(**given: str) -> str | None:
        settings = {"kind": "influxdb2", "url": fake_influxdb2, "token": "good", "org": "coop"}
        return store_problem(StoreSettings(**(settings | given)))

    assert problem() is None
    assert "jeton refusé" in (problem(token="stolen") or "")
    assert "l'organisation « autre » n'existe pas" in (problem(org="autre") or "")
    assert "le bucket « froid » n'existe pas" in (problem(bucket="froid") or "")
