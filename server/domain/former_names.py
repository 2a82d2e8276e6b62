"""Renames that keep history. A sealed record names its cooperative, van, zones and
consignors as they were called when its delivery closed: a rename records the former value
with the instant it stopped being in force (`renamed`), and the record asks for the value in
force at its delivery's closing (`in_force`). The current value stays on the row itself, so
every page and query that shows today's name is unchanged, and a row never renamed has no
history row at all (nothing to fill in for what existed before the table).

The product category of a cold room and its label temperature have no such history: the
edit pages do not change a cold room's category (a new cold room is registered instead),
and a label change applies from now on (server/domain/fleet.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.core.access import Viewer
from server.core.models.history import FormerName


class Subject(StrEnum):
    VAN = "van"
    ZONE = "zone"
    COLD_ROOM = "cold_room"
    ORGANISATION = "organisation"


def renamed(
    session: Session,
    viewer: Viewer,
    subject: Subject,
    subject_id: int,
    changes: dict[str, tuple[str, str]],  # field -> (current value, new value)
    now: datetime,
) -> None:
    """Keep each changed field's former value (in force until `now`); the caller sets the
    new values on the row and commits (one transaction)."""
    for field, (old, new) in sorted(changes.items()):
        if old != new:
            session.add(
                FormerName(
                    subject=subject,
                    subject_id=subject_id,
                    field=field,
                    value=old,
                    until=now,
                    changed_by_id=viewer.user_id,
                )
            )


def in_force(
    session: Session,
    subject: Subject,
    current: dict[int, str],  # row id -> its value today
    field: str,
    at: datetime,
) -> dict[int, str]:
    """Each row's `field` as it was at `at`: the former value of its first change after
    `at`, else today's value."""
    found = dict(current)
    changes = session.scalars(
        select(FormerName)
        .where(
            FormerName.subject == subject,
            FormerName.subject_id.in_(list(current)),
            FormerName.field == field,
            FormerName.until > at,
        )
        .order_by(FormerName.until.desc(), FormerName.id.desc())
    )
    for change in changes:  # latest first: the earliest change after `at` is written last
        found[change.subject_id] = change.value
    return found


def one_in_force(
    session: Session, subject: Subject, row_id: int, field: str, current: str, at: datetime
) -> str:
    return in_force(session, subject, {row_id: current}, field, at)[row_id]


def history(session: Session, subject: Subject, ids: Iterable[int]) -> list[FormerName]:
    """The former values of these rows, newest first (the edit pages show them)."""
    return list(
        session.scalars(
            select(FormerName)
            .where(FormerName.subject == subject, FormerName.subject_id.in_(list(ids)))
            .order_by(FormerName.until.desc(), FormerName.id.desc())
        )
    )
