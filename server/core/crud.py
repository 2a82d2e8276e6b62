"""Small query helpers shared by the routes."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.core.errors import ApiError, Both
from server.schemas.common import Page, Paging

S = TypeVar("S", bound=BaseModel)


def paginate(session: Session, query: Select[Any], paging: Paging, schema: type[S]) -> Page[S]:
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(paging.offset).limit(paging.limit))
    return Page[schema](  # type: ignore[valid-type]
        data=[schema.model_validate(row) for row in rows],
        count=count or 0,
        offset=paging.offset,
        limit=paging.limit,
    )


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
