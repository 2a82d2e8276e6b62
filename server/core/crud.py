"""Writing with a reason: a unique or foreign-key violation becomes a 409 that says what
conflicts. (The API's page envelope, `paginate`, is in server/api/paging.py: core knows no
API schema.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.core.errors import ApiError, Phrase

T = TypeVar("T")


@contextmanager
def _integrity_as_conflict(session: Session, what: Phrase) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        session.rollback()
        raise ApiError(409, "conflict", detail=what) from exc


def commit(session: Session, what: Phrase) -> None:
    """Commit; a unique or foreign-key violation becomes a 409 naming `what`."""
    with _integrity_as_conflict(session, what):
        session.commit()


def flush(session: Session, what: Phrase) -> None:
    """Flush (to get ids) with the same 409 as `commit` on a violation."""
    with _integrity_as_conflict(session, what):
        session.flush()


def insert(session: Session, row: T, what: Phrase) -> T:
    """Add the new row and commit, with the same 409 as `commit`; the row, with its id."""
    session.add(row)
    commit(session, what)
    return row
