"""The page envelope of every API list: a query, the caller's offset and limit, the schema
of one row. An API concern (the pages show their own lists), hence here and not in core."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import Depends
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from server.schemas.common import Page, Paging, paging

S = TypeVar("S", bound=BaseModel)

PagingDep = Annotated[Paging, Depends(paging)]  # a list's ?offset= and ?limit=


def paginate(session: Session, query: Select[Any], paging: Paging, schema: type[S]) -> Page[S]:
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(paging.offset).limit(paging.limit))
    return Page[schema](  # type: ignore[valid-type]
        data=[schema.model_validate(row) for row in rows],
        count=count or 0,
        offset=paging.offset,
        limit=paging.limit,
    )
