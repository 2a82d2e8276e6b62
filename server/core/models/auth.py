"""Access tokens (bearer and session cookie) and failed login attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class AccessToken(IdKey, Base):
    """A login. Only the SHA-256 of the token is stored; logout sets `revoked_at`."""

    __tablename__ = "access_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class FailedLogin(IdKey, Base):
    """One failed login, kept in the database so every worker counts the same failures; also
    one public record check, under the e-mail "#record-check" (server/domain/sessions.py,
    the same rate limiter)."""

    __tablename__ = "failed_login"

    email: Mapped[str] = mapped_column(String(254), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
