"""Migration 0005 (server/migrations/versions/0005_alert_figures.py): the alert row gets
the engine's figures as columns (alert_at, critical_at, n_readings), filled for the alerts
already stored from the record they keep; down and up again. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from server.core.db import alembic_config, make_engine, migrate
from server.core.models.alerts import Alert

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AT_MS = int(AT.timestamp() * 1000)
INSERT = text(
    "INSERT INTO alert (uid, kind, severity, engine_status, state, location_key, probe_id, "
    "channel, start_at, last_out_at, detected_at, detected_late, text_fr, text_en, record, "
    "escalation_level, created_at, updated_at) VALUES (:uid, :kind, 'critical', 'open', "
    "'open', 'zone-1', 'p1', 'air', :at, :at, :at, false, 't', 't', :record, 0, :at, :at)"
)


def columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("alert")}


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_0005_adds_the_figures_and_fills_them_from_the_record(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        command.downgrade(alembic_config(engine), "0004")
        assert "critical_at" not in columns(engine)
        stamp = AT.replace(tzinfo=None) if engine.dialect.name == "sqlite" else AT
        rows: list[tuple[str, str, dict[str, Any]]] = [
            (
                "a-critical",
                "temperature_excursion",
                {
                    "alert_at_ms": AT_MS + 60_000,
                    "critical_at_ms": AT_MS + 900_000,
                    "n_readings": 16,
                },
            ),
            (
                "a-warning",
                "door_open",
                {"alert_at_ms": AT_MS, "critical_at_ms": None, "n_readings": 3},
            ),
            ("a-calibration", "calibration_overdue", {"next_due": "2026-11-01"}),
        ]
        with engine.begin() as connection:
            for uid, kind, record in rows:
                values = {"uid": uid, "kind": kind, "at": stamp, "record": json.dumps(record)}
                connection.execute(INSERT, values)
        migrate(engine)
        with Session(engine) as session:
            found = {
                a.uid: (a.alert_at, a.critical_at, a.n_readings)
                for a in session.scalars(select(Alert))
            }
        assert found == {
            "a-critical": (at(AT_MS + 60_000), at(AT_MS + 900_000), 16),
            "a-warning": (AT, None, 3),
            "a-calibration": (None, None, None),  # no readings: a maintenance alert
        }
        command.downgrade(alembic_config(engine), "0004")
        assert "n_readings" not in columns(engine)
        migrate(engine)
        assert {"alert_at", "critical_at", "n_readings"} <= columns(engine)
    finally:
        engine.dispose()
