"""form submissions: the idempotency keys of the pages' forms, so that a form a phone queued
offline and sent twice records once (written 2026-12-07)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import create_table, drop_table

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    create_table(
        "form_submission",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        references={"user_id": "user_account"},
        unique=[("user_id", "key")],
    )


def downgrade() -> None:
    drop_table("form_submission")
