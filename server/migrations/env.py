"""Alembic environment: the engine comes from server.core.db (config.attributes["engine"])
or, from the command line, from the settings (`coldchain server migrate`)."""

from __future__ import annotations

from alembic import context

from server.core.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    from coldchain.settings import load_settings
    from server.core.db import make_engine

    engine = make_engine(load_settings().server.database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
