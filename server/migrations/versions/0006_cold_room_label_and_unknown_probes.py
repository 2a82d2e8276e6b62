"""cold room label temperature and reason; unregistered probe ids heard (written 2026-12-06)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import add_columns, create_table, drop_columns, drop_table

revision = "0006"
down_revision = "0005"

# Nullable: a cold room without a label keeps its category's limit.
COLD_ROOM = (
    ("label_max_c", sa.Float()),
    ("label_reason", sa.String(length=200)),
)


def upgrade() -> None:
    add_columns("cold_room", COLD_ROOM)
    create_table(
        "unknown_probe",
        sa.Column("probe_id", sa.String(length=32), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("readings", sa.Integer(), nullable=False),
        sa.Column("last_topic", sa.String(length=300), nullable=False),
        unique=[("probe_id",)],
        indexed=("last_seen",),
    )


def downgrade() -> None:
    drop_table("unknown_probe", "last_seen")
    drop_columns("cold_room", COLD_ROOM)
