"""records: sealed HACCP records and the retention purge log

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_sealed_record_cooperative_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_record")),
        sa.UniqueConstraint(
            "cooperative_id", "sequence", name=op.f("uq_sealed_record_cooperative_id_sequence")
        ),
        sa.UniqueConstraint(
            "delivery_id", "version", name=op.f("uq_sealed_record_delivery_id_version")
        ),
    )
    op.create_index(
        op.f("ix_sealed_record_cooperative_id"), "sealed_record", ["cooperative_id"], unique=False
    )
    op.create_index(
        op.f("ix_sealed_record_delivery_id"), "sealed_record", ["delivery_id"], unique=False
    )
    op.create_table(
        "sealed_record_purge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_sealed_record_purge_cooperative_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sealed_record_purge")),
    )
    op.create_index(
        op.f("ix_sealed_record_purge_cooperative_id"),
        "sealed_record_purge",
        ["cooperative_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sealed_record_purge_cooperative_id"), table_name="sealed_record_purge")
    op.drop_table("sealed_record_purge")
    op.drop_index(op.f("ix_sealed_record_delivery_id"), table_name="sealed_record")
    op.drop_index(op.f("ix_sealed_record_cooperative_id"), table_name="sealed_record")
    op.drop_table("sealed_record")
