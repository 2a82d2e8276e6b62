"""alert figures: alert_at, critical_at, n_readings on the alert row (written 2026-12-06)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from server.migrations.tables import add_columns, drop_columns

revision = "0005"
down_revision = "0004"

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
    add_columns("alert", COLUMNS)
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
    drop_columns("alert", COLUMNS)
