"""A real PostgreSQL 15 for tests, started as the `postgres` user.

PostgreSQL refuses to run as root and these machines run tests as root, so initdb and
pg_ctl run through `runuser -u postgres --` on a temporary folder owned by that user
(under /tmp: pytest's own tmp folders are private to root). Trust authentication on
127.0.0.1 and a Unix socket inside the folder; durability switched off (test data).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.harness.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = (
    "apt-get update && apt-get install -y postgresql-15 (binaries in /usr/lib/postgresql/15/bin)"
)


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@dataclass
class Postgres:
    root: Path
    port: int = field(default_factory=free_port)
    user: str = "postgres"
    # In `root`: the cluster, the Unix socket's folder and the server's log.
    data: Path = field(init=False)
    socket_dir: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.data, self.socket_dir, self.log = (
            self.root / name for name in ("data", "socket", "postgres.log")
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([*_as_postgres(), *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._run(
                str(PG_BIN / "initdb"),
                "-D", str(self.data),
                "-U", self.user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.socket_dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE DATABASE needs that)."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql.encode())

    def close_to_connections(self, database: str) -> None:
        """For a template: CREATE DATABASE ... TEMPLATE refuses to copy a database anyone is
        connected to, so nobody may connect to it any more (its copies accept connections)."""
        self.execute(f"ALTER DATABASE {database} WITH ALLOW_CONNECTIONS false")
        self.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )

    def connections(self, database: str) -> int:
        """How many sessions are connected to `database` now."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchone()
            return int(row[0]) if row else 0


def make_postgres() -> Postgres:
    """A stopped server in a new folder owned by `postgres` (fail with a hint if missing)."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 is not installed; run: {INSTALL_HINT}", pytrace=False)
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.fail("runuser is missing (util-linux): PostgreSQL cannot run as root", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="coldchain-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = Postgres(root)
    (server.socket_dir).mkdir()
    if os.geteuid() == 0:
        os.chown(server.socket_dir, entry.pw_uid, entry.pw_gid)
    return server


def remove(server: Postgres) -> None:
    for _ in range(3):
        try:
            shutil.rmtree(server.root)
            return
        except OSError:
            time.sleep(0.2)
