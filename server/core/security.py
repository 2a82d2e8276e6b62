"""Passwords (argon2id), access tokens and the signed session cookie."""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, Signer

from coldchain.settings import ServerSettings


class BoundedHasher(PasswordHasher):
    """argon2id computing at most a few hashes at a time in this process (one per CPU, at
    least two): a burst of logins queues here instead of asking for 64 MiB per request at
    once and sharing the CPUs thirty ways. Never call it inside a transaction (it waits)."""

    def __init__(self, time_cost: int, memory_cost: int) -> None:
        super().__init__(time_cost=time_cost, memory_cost=memory_cost)
        self._slots = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._slots:
            return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._slots:
            return super().verify(hash, password)


def password_hasher(settings: ServerSettings) -> PasswordHasher:
    return BoundedHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
    )


def verify_password(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Compared against when the account does not exist, so a login for an unknown email
# takes as long as one for a known email (no account enumeration by timing).
def dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the database keeps: a leaked table gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_signer(settings: ServerSettings) -> Signer:
    return Signer(settings.secret_key.get_secret_value(), salt="coldchain-session")


def sign_cookie(settings: ServerSettings, token: str) -> str:
    return cookie_signer(settings).sign(token).decode()


def unsign_cookie(settings: ServerSettings, value: str) -> str | None:
    try:
        return cookie_signer(settings).unsign(value).decode()
    except BadSignature:
        return None
