"""Records fixtures: the real app and the world of tests/server (SQLite here; the chain test
also runs on PostgreSQL), plus a delivery with readings, a calibration, a refusal and three
different verdicts (tests/records/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only here (tests/records/test_postgres.py runs the chain on PostgreSQL)."""
    import shutil

    path = tmp_path / "coldchain.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"
