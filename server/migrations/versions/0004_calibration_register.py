"""calibration register: reference and probe readings, certificate, result (written 2026-11-22)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import add_columns, drop_columns

revision = "0004"
down_revision = "0003"

COLUMNS = (
    ("reference_reading_c", sa.Float()),
    ("probe_reading_c", sa.Float()),
    ("reference_certificate", sa.String(length=200)),
    ("result", sa.String(length=10)),
)


def upgrade() -> None:
    add_columns("calibration", COLUMNS)


def downgrade() -> None:
    drop_columns("calibration", COLUMNS)
