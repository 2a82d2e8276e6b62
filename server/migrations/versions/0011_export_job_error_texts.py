"""an export job's failure reason in every language of the catalogues, so a Dutch reader
reads it in Dutch whatever refused the export (written 2026-12-07). Jobs that failed
before keep their French and English columns."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import add_columns, drop_columns

revision = "0011"
down_revision = "0010"

EXPORT_JOB = (("error_texts", sa.JSON()),)


def upgrade() -> None:
    add_columns("export_job", EXPORT_JOB)


def downgrade() -> None:
    drop_columns("export_job", EXPORT_JOB)
