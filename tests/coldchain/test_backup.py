"""`coldchain backup` then `coldchain restore` onto a fresh data folder and database, on
SQLite and on PostgreSQL (real server): every sealed record verifies after the round trip,
with the same chain head; the data folder's keys come back byte for byte; a damaged backup
and a restore over a live system are refused."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from coldchain.cli import main
from coldchain.readingstore.sqlite import SqliteReadingStore
from tests.records.test_chain import three_versions  # noqa: F401  (fixture)

KEYS = {
    "secret_key": b"the-server-secret-key-made-at-first-start-0123456789abcdef\n",
    "broker/passwords": b"coldchain-gateway:$7$101$abc\n",
    "broker/acl": b"pattern write cc/v1/dev/%u/up/#\n",
    "tls/ca.pem": b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    "tls/ca.key": b"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
}
NOT_KEPT = ("logs/server.log", "broker/persist/mosquitto.db", "broker/mosquitto.pid")


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in [n for n in os.environ if n.startswith("COLDCHAIN_")]:
        monkeypatch.delenv(name)


def write_config(path: Path, data_dir: Path, database_url: str, readings: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'data_dir = "{data_dir}"\n'
        f'[server]\ndatabase_url = "{database_url}"\nargon2_time_cost = 1\n'
        'secret_key = "a-secret-key-long-enough-for-the-test-1234"\n'
        f'[store]\nsqlite_path = "{readings}"\n'
        f'[gateway]\nspool_path = "{data_dir / "spool.sqlite3"}"\n'
    )
    return path


def coldchain(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main([*args])
    out = capsys.readouterr()
    return status, out.out + out.err


def heads(output: str) -> dict[str, str]:
    """`coldchain records verify`'s lines: cooperative -> 'N records OK, head H'."""
    return dict(re.findall(r"cooperative (\d+): (\d+ records OK, head [0-9a-f]{64})", output))


@pytest.mark.usefixtures("world", "three_versions")  # three sealed versions, chained
def test_backup_and_restore_round_trip_keeps_every_sealed_record(
    reading_store, database_url, tmp_path, capsys, request
) -> None:
    data = tmp_path / "data"
    for name, content in {**KEYS, **dict.fromkeys(NOT_KEPT, b"x")}.items():
        (data / name).parent.mkdir(parents=True, exist_ok=True)
        (data / name).write_bytes(content)
    config = write_config(tmp_path / "etc" / "coldchain.toml", data, database_url,
                          reading_store.path)  # fmt: skip
    status, before = coldchain(capsys, "--config", str(config), "records", "verify")
    assert status == 0 and heads(before) and "3 records OK" in before, before

    usb = tmp_path / "usb"
    # The server is running (the test client's app): the copy is an online one.
    status, out = coldchain(capsys, "--config", str(config), "backup", "--to", str(usb))
    assert status == 0, out
    (folder,) = usb.glob("coldchain-backup-*")
    manifest = json.loads((folder / "manifest.json").read_text())
    roles = {entry["path"]: entry["role"] for entry in manifest["files"]}
    assert set(roles.values()) == {"database", "readings", "config", "data"}
    assert {p.removeprefix("data/") for p, r in roles.items() if r == "data"} == set(KEYS)
    assert manifest["database"] == make_url(database_url).get_backend_name()

    # Onto the live system: refused, nothing touched.
    status, out = coldchain(capsys, "--config", str(config), "restore", str(folder))
    assert status == 1 and "contient déjà des données" in out

    # A fresh machine: another data folder, an empty database, no reading store yet.
    fresh = tmp_path / "fresh"
    if make_url(database_url).get_backend_name() == "sqlite":
        target_url = f"sqlite:///{fresh / 'coldchain.sqlite3'}"
    else:
        name = f"restored_{uuid.uuid4().hex[:8]}"
        request.getfixturevalue("postgres").execute(f"CREATE DATABASE {name}")
        target_url = make_url(database_url).set(database=name).render_as_string(False)
    fresh_config = write_config(fresh / "coldchain.toml", fresh / "data", target_url,
                                fresh / "readings.sqlite3")  # fmt: skip
    status, out = coldchain(capsys, "--config", str(fresh_config), "restore", str(folder))
    assert status == 0, out
    status, after = coldchain(capsys, "--config", str(fresh_config), "records", "verify")
    assert status == 0 and heads(after) == heads(before), after
    for name, content in KEYS.items():
        assert (fresh / "data" / name).read_bytes() == content
    for name in NOT_KEPT:
        assert not (fresh / "data" / name).exists()
    restored = SqliteReadingStore(fresh / "readings.sqlite3")
    assert restored.count() == reading_store.count() > 0
    restored.close()

    # A damaged backup is refused before anything is written.
    (folder / "data" / "tls" / "ca.key").write_bytes(b"tampered")
    status, out = coldchain(capsys, "--config", str(fresh_config), "restore", "--force",
                            str(folder))  # fmt: skip
    assert status == 1 and "tls/ca.key (somme SHA-256 différente)" in out


# --- upgrades ---------------------------------------------------------------------------------


def _one_behind() -> tuple[str, str]:
    """(the revision just before the newest, the newest)."""
    from alembic.script import ScriptDirectory

    from server.core.db import MIGRATIONS

    script = ScriptDirectory(str(MIGRATIONS))
    newest = script.get_current_head()
    assert newest is not None
    head = script.get_revision(newest)
    assert head is not None and isinstance(head.down_revision, str)
    return head.down_revision, head.revision


def _revision(url: str) -> tuple[str, ...]:
    from server.core.db import database_revisions, make_engine

    engine = make_engine(url)
    try:
        return database_revisions(engine)
    finally:
        engine.dispose()


def test_a_database_from_a_newer_version_is_refused_untouched(tmp_path, capsys) -> None:
    import sqlite3

    from server.core.db import make_engine, migrate

    url = f"sqlite:///{tmp_path / 'coldchain.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "coldchain.sqlite3") as db:
        db.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    config = write_config(tmp_path / "coldchain.toml", tmp_path / "data", url,
                          tmp_path / "readings.sqlite3")  # fmt: skip
    status, out = coldchain(capsys, "--config", str(config), "server", "migrate")
    assert status == 2
    assert "révision 0042_from_the_future, inconnue de cette version de coldchain" in out
    assert _revision(url) == ("0042_from_the_future",)
    assert not (tmp_path / "data" / "backups").exists()
    # `server run` stops there too, with the same message, before serving anything (were it
    # not refused, Alembic itself would fail on the unknown revision: no server would start).
    status, out = coldchain(capsys, "--config", str(config), "server", "run")
    assert status == 2 and "inconnue de cette version" in out, out
    assert _revision(url) == ("0042_from_the_future",)


def test_an_upgrade_keeps_a_copy_of_the_database_taken_just_before(tmp_path, capsys) -> None:
    from server.core.db import make_engine, migrate

    previous, newest = _one_behind()
    url = f"sqlite:///{tmp_path / 'coldchain.sqlite3'}"
    engine = make_engine(url)
    migrate(engine, previous)
    engine.dispose()
    config = write_config(tmp_path / "coldchain.toml", tmp_path / "data", url,
                          tmp_path / "readings.sqlite3")  # fmt: skip
    status, out = coldchain(capsys, "--config", str(config), "server", "migrate")
    assert status == 0, out
    assert _revision(url) == (newest,)
    (copy,) = (tmp_path / "data" / "backups").glob(f"coldchain.before-migration-{previous}-*")
    assert _revision(f"sqlite:///{copy}") == (previous,)
    # Up to date: nothing to migrate, no new copy.
    assert coldchain(capsys, "--config", str(config), "server", "migrate")[0] == 0
    assert len(list((tmp_path / "data" / "backups").iterdir())) == 1


def test_an_upgrade_on_postgresql_keeps_a_pg_dump(postgres, tmp_path, capsys) -> None:
    from server.core.db import make_engine, migrate

    previous, newest = _one_behind()
    name = f"upgrade_{uuid.uuid4().hex[:8]}"
    postgres.execute(f"CREATE DATABASE {name}")
    url = postgres.url(name)
    engine = make_engine(url)
    migrate(engine, previous)
    engine.dispose()
    config = write_config(tmp_path / "coldchain.toml", tmp_path / "data", url,
                          tmp_path / "readings.sqlite3")  # fmt: skip
    status, out = coldchain(capsys, "--config", str(config), "server", "migrate")
    assert status == 0, out
    assert _revision(url) == (newest,)
    (dump,) = (tmp_path / "data" / "backups").glob(f"database.before-migration-{previous}-*")
    assert dump.name.endswith(".pgdump") and dump.read_bytes().startswith(b"PGDMP")
    postgres.execute(f"DROP DATABASE {name} WITH (FORCE)")
