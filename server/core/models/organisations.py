"""Organisations (cooperatives and producers), users and their roles per organisation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.core.models.base import Base, IdKey, utcnow


class OrganisationKind(StrEnum):
    COOPERATIVE = "cooperative"
    PRODUCER = "producer"


class Role(StrEnum):
    ADMIN = "admin"
    HYGIENE_OFFICER = "hygiene_officer"
    DRIVER = "driver"
    PRODUCER = "producer"


# Which roles make sense in which kind of organisation.
ROLES_BY_KIND = {
    OrganisationKind.COOPERATIVE: {Role.ADMIN, Role.HYGIENE_OFFICER, Role.DRIVER},
    OrganisationKind.PRODUCER: {Role.PRODUCER},
}


class Organisation(IdKey, Base):
    __tablename__ = "organisation"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CooperativeMember(IdKey, Base):
    """A producer belongs to a cooperative; a producer may belong to several."""

    __tablename__ = "cooperative_member"
    __table_args__ = (UniqueConstraint("cooperative_id", "producer_id"),)

    cooperative_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    producer_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class User(IdKey, Base):
    __tablename__ = "user_account"  # "user" is reserved in PostgreSQL

    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Runs the installation: creates organisations and their first admins. Sees no
    # cooperative's data unless also given a role there.
    is_superuser: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The language the user chose with the pages' switch (fr, nl, en; server/core/catalogue
    # LANGUAGES): set again as the page cookie at login, and the language of their e-mails.
    # None: never chosen, the site's default language.
    language: Mapped[str | None] = mapped_column(String(5), default=None)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan"
    )


class Membership(IdKey, Base):
    """A user's role in one organisation (a person can hold several roles)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id", "role"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships")
