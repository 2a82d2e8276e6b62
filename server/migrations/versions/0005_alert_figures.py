"""alert figures: alert_at, critical_at, n_readings on the alert row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = (
    ("alert_at", sa.DateTime(timezone=True)),
    ("critical_at", sa.DateTime(timezone=True)),
    ("n_readings", sa.Integer()),
)


def _at(ms: object, naive: bool) -> datetime | None:
    """UTC, as server/core/models/base.py's UTCDateTime stores it (naive on SQLite)."""
    if not isinstance(ms, int) or isinstance(ms, bool):
        return None
    at = datetime.fromtimestamp(ms / 1000, UTC)
    return at.replace(tzinfo=None) if naive else at


def upgrade() -> None:
    # Nullable: an alert that is not critical has no critical time, a calibration alert no
    # readings. Existing alerts get their figures from the engine record they already keep.
    for name, type_ in COLUMNS:
        op.add_column("alert", sa.Column(name, type_, nullable=True))
    alert = sa.table(
        "alert",
        sa.column("id", sa.Integer()),
        sa.column("record", sa.JSON()),
        *(sa.column(name, type_) for name, type_ in COLUMNS),
    )
    connection = op.get_bind()
    naive = connection.dialect.name == "sqlite"
    rows = connection.execute(sa.select(alert.c.id, alert.c.record)).all()
    for alert_id, record in rows:
        if not isinstance(record, dict):
            continue
        n = record.get("n_readings")
        connection.execute(
            alert.update()
            .where(alert.c.id == alert_id)
            .values(
                alert_at=_at(record.get("alert_at_ms"), naive),
                critical_at=_at(record.get("critical_at_ms"), naive),
                n_readings=n if isinstance(n, int) else None,
            )
        )


def downgrade() -> None:
    # Batch mode: SQLite drops a column by copying the table.
    with op.batch_alter_table("alert") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
