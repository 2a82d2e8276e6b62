"""`coldchain server migrate | create-admin | run`, as an operator runs them (real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.harness.servers import free_port, wait_for_http


def _coldchain(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coldchain.cli", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_create_admin_and_serve(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "COLDCHAIN_SERVER__DATABASE_URL": f"sqlite:///{tmp_path / 'coldchain.sqlite3'}",
        "COLDCHAIN_STORE__SQLITE_PATH": str(tmp_path / "readings.sqlite3"),
        "COLDCHAIN_SERVER__PORT": str(port),
    }
    env.pop("COLDCHAIN_CONFIG", None)
    migrated = _coldchain(env, "server", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert _coldchain(env, "server", "migrate").returncode == 0  # idempotent

    short = _coldchain(
        env, "server", "create-admin", "root@coop.be", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 2 and "10 characters" in short.stderr
    created = _coldchain(
        env,
        "server",
        "create-admin",
        "root@coop.be",
        "--password-stdin",
        stdin="un mot de passe solide\n",
    )
    assert created.returncode == 0, created.stderr
    again = _coldchain(
        env,
        "server",
        "create-admin",
        "root@coop.be",
        "--password-stdin",
        stdin="un mot de passe solide\n",
    )
    assert again.returncode == 1 and "already exists" in again.stderr

    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "coldchain.cli", "server", "run"],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, 30, log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            login = client.post(
                "/api/v1/auth/login",
                json={"email": "root@coop.be", "password": "un mot de passe solide"},
            )
            assert login.status_code == 200
            token = login.json()["access_token"]
            me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["is_superuser"] is True
            assert client.get("/openapi.json").json()["info"]["title"] == "Coldchain server"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_production_refuses_the_default_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "COLDCHAIN_MODE": "production",
        "COLDCHAIN_SERVER__DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
    }
    env.pop("COLDCHAIN_SERVER__SECRET_KEY", None)
    env.pop("COLDCHAIN_CONFIG", None)
    result = _coldchain(env, "server", "migrate")
    assert result.returncode == 2 and "server.secret_key" in result.stderr
