"""former names: a rename (van, zone, cold room, organisation) keeps the old value with the
instant it stopped being in force (written 2026-12-07)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import create_table, drop_table

revision = "0008"
down_revision = "0007"

INDEXED = ("subject_id",)


def upgrade() -> None:
    create_table(
        "former_name",
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by_id", sa.Integer(), nullable=True),
        references={"changed_by_id": "user_account"},
        indexed=INDEXED,
    )


def downgrade() -> None:
    drop_table("former_name", *INDEXED)
