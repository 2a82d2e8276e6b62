"""Records fixtures: the real app and the world of tests/server (SQLite here; the chain test
also runs on PostgreSQL), plus a delivery with readings, a calibration, a refusal and three
different verdicts (tests/records/support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.app import fresh_database


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLite only here (tests/records/test_postgres.py runs the chain on PostgreSQL)."""
    yield from fresh_database(request, tmp_path, "sqlite")
