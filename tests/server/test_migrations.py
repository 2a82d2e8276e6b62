"""The Alembic migrations build exactly the schema the models describe, on both databases,
and times come back timezone-aware in UTC whatever the database keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import StatementError

from server.core.db import alembic_config, make_engine, migrate
from server.core.models import Base, Organisation


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        assert "delivery" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_times_are_stored_in_utc_and_come_back_aware(database_url: str) -> None:
    from sqlalchemy.orm import Session

    engine = make_engine(database_url)
    brussels_summer = timezone(timedelta(hours=2))
    try:
        with Session(engine) as session:
            org = Organisation(
                name="Coop",
                kind="cooperative",
                created_at=datetime(2026, 7, 1, 10, 0, tzinfo=brussels_summer),
            )
            session.add(org)
            session.commit()
            org_id = org.id
        with Session(engine) as session:
            stored = session.get(Organisation, org_id)
            assert stored is not None
            assert stored.created_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
            assert stored.created_at.utcoffset() == timedelta(0)
            naive = Organisation(name="Naive", kind="producer", created_at=datetime(2026, 7, 1))
            session.add(naive)
            with pytest.raises(StatementError, match="naive datetime"):
                session.commit()
    finally:
        engine.dispose()
