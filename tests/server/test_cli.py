"""`coldchain server migrate | create-admin | run`, as an operator runs them (real processes)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from coldchain.cli import main
from tests.harness.servers import free_port, wait_for_http


def _coldchain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str, stdin: str = ""
) -> tuple[int, str]:
    """Run `coldchain ...` in this process (same code path as the console command)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_migrate_create_admin_and_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    env = {
        "COLDCHAIN_SERVER__DATABASE_URL": f"sqlite:///{tmp_path / 'coldchain.sqlite3'}",
        "COLDCHAIN_STORE__SQLITE_PATH": str(tmp_path / "readings.sqlite3"),
        "COLDCHAIN_SERVER__PORT": str(port),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("COLDCHAIN_CONFIG", raising=False)
    run = lambda *args, stdin="": _coldchain(monkeypatch, capsys, *args, stdin=stdin)  # noqa: E731
    assert run("server", "migrate") == (0, "database schema up to date\n")
    assert run("server", "migrate")[0] == 0  # idempotent

    admin = ("server", "create-admin", "root@coop.be", "--password-stdin")
    code, output = run(*admin, stdin="short\n")
    assert code == 2 and "10 characters" in output
    code, output = run(*admin, stdin="un mot de passe solide\n")
    assert code == 0 and "superuser root@coop.be created" in output
    code, output = run(*admin, stdin="un mot de passe solide\n")
    assert code == 1 and "already exists" in output

    # The server itself, as a real process on a free port.
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "coldchain.cli", "server", "run"],
            env={**os.environ, **env},
            stdout=out,
            stderr=out,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", proc, 30, log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            credentials = {"email": "root@coop.be", "password": "un mot de passe solide"}
            login = client.post("/api/v1/auth/login", json=credentials)
            assert login.status_code == 200
            token = login.json()["access_token"]
            me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.json()["is_superuser"] is True
            assert client.get("/openapi.json").json()["info"]["title"] == "Coldchain server"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_production_refuses_the_default_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLDCHAIN_MODE", "production")
    monkeypatch.setenv("COLDCHAIN_SERVER__DATABASE_URL", f"sqlite:///{tmp_path / 'c.sqlite3'}")
    monkeypatch.delenv("COLDCHAIN_SERVER__SECRET_KEY", raising=False)
    monkeypatch.delenv("COLDCHAIN_CONFIG", raising=False)
    code, output = _coldchain(monkeypatch, capsys, "server", "migrate")
    assert code == 2 and "server.secret_key" in output
