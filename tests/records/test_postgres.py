"""The chain on PostgreSQL (row lock per cooperative, timestamps with time zone)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

from server.core.models.records import SealedRecord
from tests.harness.app import fresh_database
from tests.records.test_chain import _verify, three_versions  # noqa: F401  (fixture)
from tests.records.test_inspection import test_inspection_zip as inspection_zip


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request, tmp_path, "postgresql")


def test_chain_on_postgresql(world, app, three_versions) -> None:  # noqa: F811
    report = _verify(world)
    assert report["ok"] is True and report["checked"] == 3
    assert [r["sequence"] for r in three_versions] == [1, 2, 3]
    with app.state.sessionmaker() as session:
        session.execute(delete(SealedRecord).where(SealedRecord.id == three_versions[1]["id"]))
        session.commit()
    report = _verify(world)
    assert report["first_bad"]["record_id"] == three_versions[2]["id"]


def test_inspection_export_on_postgresql(world, app, reading_store) -> None:
    inspection_zip(world, app, reading_store)
