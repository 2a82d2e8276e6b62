"""records: sealed HACCP records and the retention purge log (written 2026-11-22)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import create_table, drop_table

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_table(
        "sealed_record",
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        references={"cooperative_id": "organisation"},
        unique=[("cooperative_id", "sequence"), ("delivery_id", "version")],
        indexed=("cooperative_id", "delivery_id"),
    )
    create_table(
        "sealed_record_purge",
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        references={"cooperative_id": "organisation"},
        indexed=("cooperative_id",),
    )


def downgrade() -> None:
    drop_table("sealed_record_purge", "cooperative_id")
    drop_table("sealed_record", "cooperative_id", "delivery_id")
