"""Migration 0006 (server/migrations/versions/0006_cold_room_label_and_unknown_probes.py): the
cold room gets its nullable label temperature and reason (rooms already stored keep their
category's limit), the `unknown_probe` table appears; down and up again keep the rooms.
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from server.core.db import alembic_config, make_engine, migrate
from server.core.models import ColdRoom, UnknownProbe

AT = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def room_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("cold_room")}


def test_0006_adds_the_cold_room_label_and_the_unknown_probe_table(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "0005")
        assert "label_max_c" not in room_columns(engine)
        assert "unknown_probe" not in inspect(engine).get_table_names()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO organisation (name, kind, created_at) "
                    "VALUES ('P', 'producer', :at)"
                ),
                {"at": AT.replace(tzinfo=None) if engine.dialect.name == "sqlite" else AT},
            )
            owner = connection.execute(text("SELECT id FROM organisation")).scalar_one()
            connection.execute(
                text(
                    "INSERT INTO cold_room (name, owner_id, category) "
                    "VALUES ('Chambre', :owner, 'chilled_retail')"
                ),
                {"owner": owner},
            )
        migrate(engine)
        assert {"label_max_c", "label_reason"} <= room_columns(engine)
        with Session(engine) as session:
            room = session.scalars(select(ColdRoom)).one()
            assert (room.category, room.label_max_c, room.label_reason) == (
                "chilled_retail",
                None,
                None,
            )
            room.label_max_c, room.label_reason = 4.0, "fromage au lait cru"
            session.add(
                UnknownProbe(
                    probe_id="x-1",
                    first_seen=AT,
                    last_seen=AT,
                    readings=3,
                    last_topic="cc/v1/dev/x-1/readings",
                )
            )
            session.commit()
        with Session(engine) as session:
            heard = session.scalars(select(UnknownProbe)).one()
            assert (heard.probe_id, heard.first_seen, heard.readings) == ("x-1", AT, 3)
        command.downgrade(alembic_config(engine), "0005")
        assert "label_reason" not in room_columns(engine)
        assert "unknown_probe" not in inspect(engine).get_table_names()
        migrate(engine)
        with Session(engine) as session:
            room = session.scalars(select(ColdRoom)).one()  # the room survived both ways
            assert (room.name, room.label_max_c) == ("Chambre", None)
            assert session.scalars(select(UnknownProbe)).all() == []
    finally:
        engine.dispose()
