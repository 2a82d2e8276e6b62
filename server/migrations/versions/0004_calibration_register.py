"""calibration register: reference and probe readings, certificate, result

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (
    ("reference_reading_c", sa.Float()),
    ("probe_reading_c", sa.Float()),
    ("reference_certificate", sa.String(length=200)),
    ("result", sa.String(length=10)),
)


def upgrade() -> None:
    # Nullable: calibrations recorded before this revision stay valid.
    for name, type_ in COLUMNS:
        op.add_column("calibration", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table.
    with op.batch_alter_table("calibration") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
