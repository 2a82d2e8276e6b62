"""a user's language: the one they chose with the pages' switch, which their next login
and their e-mails follow (written 2026-12-07)."""

from __future__ import annotations

import sqlalchemy as sa

from server.migrations.tables import add_columns, drop_columns

revision = "0009"
down_revision = "0008"

# Nullable: a user who never chose one reads the site's default language.
USER_ACCOUNT = (("language", sa.String(length=5)),)


def upgrade() -> None:
    add_columns("user_account", USER_ACCOUNT)


def downgrade() -> None:
    drop_columns("user_account", USER_ACCOUNT)
