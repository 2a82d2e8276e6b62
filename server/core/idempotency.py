"""Idempotency keys of the pages' forms: a phone with no signal queues what the driver
recorded (server/pages/static/offline.js) and sends it when the signal returns, each form
with a key it drew (crypto.randomUUID). A sending may arrive twice (the answer was lost, the
phone retried): the second, same user and same key, records nothing and gets the first's
answer. The key is claimed (committed) before the form's work, so that two sendings at once
cannot both do it; a form refused gives its key back, for a corrected retry. A sending that
crashed midway leaves its key claimed and unfinished: after ABANDONED it may be claimed anew."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.core.db import begin_writing
from server.core.models.base import utcnow
from server.core.models.idempotency import FormSubmission

FIELD = "idempotency_key"  # the hidden field the forms carry it in
_KEY = re.compile(r"[A-Za-z0-9-]{16,64}")
# A form's work takes a second or two; one unfinished for this long is a crash's leftover.
ABANDONED = timedelta(minutes=5)
# A phone replays what it queued when the signal returns, within days: older keys are dropped.
KEPT = timedelta(days=30)


def valid(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


@dataclass(frozen=True)
class Earlier:
    """The first sending of a key: its form, and where it led (None: not finished yet)."""

    path: str
    location: str | None


def claim(session: Session, user_id: int, key: str, path: str) -> Earlier | None:
    """None: the key is new and now this sending's (committed); else the first sending."""
    begin_writing(session)
    session.execute(
        delete(FormSubmission).where(
            FormSubmission.user_id == user_id, FormSubmission.created_at < utcnow() - KEPT
        )
    )
    found = _find(session, user_id, key)
    if found is None:
        session.add(FormSubmission(user_id=user_id, key=key, path=path))
        try:
            session.commit()
            return None
        except IntegrityError:  # another sending of the same key claimed it meanwhile
            session.rollback()
            found = _find(session, user_id, key)
            if found is None:
                raise
    if found.location is None and found.created_at < utcnow() - ABANDONED:
        found.created_at = utcnow()  # this sending takes it over
        session.commit()
        return None
    earlier = Earlier(found.path, found.location)
    session.commit()
    return earlier


def done(session: Session, user_id: int, key: str, location: str) -> None:
    """The form did its work: later sendings of the key are sent to `location`."""
    begin_writing(session)
    found = _find(session, user_id, key)
    if found is not None:
        found.location = location
    session.commit()


def give_back(session: Session, user_id: int, key: str) -> None:
    """The form recorded nothing (refused, failed): the key may be sent again."""
    session.rollback()
    begin_writing(session)
    session.execute(
        delete(FormSubmission).where(FormSubmission.user_id == user_id, FormSubmission.key == key)
    )
    session.commit()


def _find(session: Session, user_id: int, key: str) -> FormSubmission | None:
    return session.scalar(
        select(FormSubmission).where(FormSubmission.user_id == user_id, FormSubmission.key == key)
    )
