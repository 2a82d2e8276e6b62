"""export jobs: the background exports of the pages, kept across restarts (written 2026-12-06)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import create_table, drop_table

revision = "0007"
down_revision = "0006"

INDEXED = ("owner_id", "status")


def upgrade() -> None:
    create_table(
        "export_job",
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_path", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("file_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_fr", sa.Text(), nullable=True),
        sa.Column("error_en", sa.Text(), nullable=True),
        references={"owner_id": "user_account"},
        indexed=INDEXED,
    )


def downgrade() -> None:
    drop_table("export_job", *INDEXED)
