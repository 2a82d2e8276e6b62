"""Writing with a reason: a unique or foreign-key violation becomes a 409 that says what
conflicts. (The API's page envelope, `paginate`, is in server/api/paging.py: core knows no
API schema.)"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.core.errors import ApiError, Both


def commit(session: Session, what: Both) -> None:
    """Commit; a unique or foreign-key violation becomes a 409 naming `what`."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ApiError(409, "conflict", detail=what) from exc


def flush(session: Session, what: Both) -> None:
    """Flush (to get ids) with the same 409 as `commit` on a violation."""
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise ApiError(409, "conflict", detail=what) from exc
