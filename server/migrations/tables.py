"""The shape of the tables the revisions in `versions/` create, written once: an integer `id`
key, foreign keys to other tables' `id`, unique constraints and one-column indexes, all
with the names autogenerate gave them (`pk_<table>`, `fk_<table>_<column>_<target>`,
`uq_<table>_<columns>`, `ix_<table>_<column>`, passed through `op.f()` so the naming
convention is not applied a second time). A revision written with these helpers emits
the same DDL, statement for statement, as the one autogenerate wrote out in full.

A released revision describes a schema databases already have: change what a helper
emits and every revision using it changes with it. Add a helper; do not change one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import SchemaItem


def create_table(
    table: str,
    *columns: SchemaItem,
    references: Mapping[str, str] | None = None,
    unique: Sequence[tuple[str, ...]] = (),
    indexed: Sequence[str] = (),
) -> None:
    """Create `table`: the `id` key, then `columns` (and check constraints), a foreign key
    from each column of `references` to its table's `id`, the primary key, a unique
    constraint for each tuple of `unique`; then a non-unique index on each of `indexed`,
    in that order."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        *columns,
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
            )
            for column, target in (references or {}).items()
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        *(
            sa.UniqueConstraint(*group, name=op.f(f"uq_{table}_{'_'.join(group)}"))
            for group in unique
        ),
    )
    if indexed:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in indexed:
                batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)


def drop_table(table: str, *indexed: str) -> None:
    """Undo `create_table(table, ..., indexed=indexed)`: the indexes in the reverse order,
    then the table."""
    if indexed:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in reversed(indexed):
                batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
    op.drop_table(table)


Added = Sequence[tuple[str, sa.types.TypeEngine[Any]]]  # (name, type) of new columns


def add_columns(table: str, columns: Added) -> None:
    """Add nullable `columns` to an existing table: rows written before the revision have
    no value for them, and stay valid."""
    for name, type_ in columns:
        op.add_column(table, sa.Column(name, type_, nullable=True))


def drop_columns(table: str, columns: Added) -> None:
    """Undo `add_columns(table, columns)`, last added first. Batch mode: SQLite drops a
    column by copying the table."""
    with op.batch_alter_table(table) as batch:
        for name, _type in reversed(columns):
            batch.drop_column(name)
