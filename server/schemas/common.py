"""Input types with bounds (so hostile input is a 422 with a reason, never a 500) and
the page envelope of every list."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

MAX_ID = 2_147_483_647  # every id fits a 32-bit integer column on both databases
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _clean(value: str) -> str:
    """No NUL (PostgreSQL text refuses it) and no lone surrogate (not encodable as UTF-8)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Clean = AfterValidator(_clean)
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Clean]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), Clean
]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), Clean]
Code = Annotated[str, StringConstraints(min_length=1, max_length=50), Clean]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=20), Clean]  # unit, channel
EMAIL_MAX_LENGTH = 254  # RFC 5321's longest address; the users' column too
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=3,
        max_length=EMAIL_MAX_LENGTH,
        pattern=r"^[^@\s]+@[^@\s]+$",
    ),
    Clean,
]
Password = Annotated[str, StringConstraints(min_length=10, max_length=200), Clean]
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=200), Clean]
IdRef = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Celsius = Annotated[float, Field(ge=-80, le=100, allow_inf_nan=False)]


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("time must be between 2000-01-01 and 2100-01-01")
    return value.astimezone(UTC)


def _day_in_range(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError("date must be between 2000-01-01 and 2100-01-01")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
Day = Annotated[date, AfterValidator(_day_in_range)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int  # total matching rows, for paging
    offset: int
    limit: int


class Paging(BaseModel):
    offset: int = 0
    limit: int = 50


def paging(
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Paging:
    return Paging(offset=offset, limit=limit)
