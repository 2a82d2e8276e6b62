"""Forms sent again with the same idempotency key (server/core/idempotency.py): a phone that
lost its signal replays what it queued (server/pages/static/offline.js), and may replay it
twice; the second time must record nothing and answer as the first did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class FormSubmission(IdKey, Base):
    """One key of one user: `location` is where the first sending led (None while it is being
    done: a second sending meanwhile is told it is under way)."""

    __tablename__ = "form_submission"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    key: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(300))  # the form's action: a key is for one form
    location: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
