"""Creating the first administrator (no one can log in before there is one)."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from server.core.models import User


def create_superuser(
    session: Session, hasher: PasswordHasher, email: str, full_name: str, password: str
) -> User:
    """A superuser creates organisations and their first admins through the API."""
    if len(password) < 10:
        raise ValueError("the password needs at least 10 characters")
    user = User(
        email=email.strip().lower(),
        full_name=full_name,
        password_hash=hasher.hash(password),
        is_superuser=True,
    )
    session.add(user)
    session.commit()
    return user
