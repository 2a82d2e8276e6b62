"""Signing in and out: the login rate limit (per account and per client address), the
password check that takes as long for an unknown e-mail, the access token and the signed
session cookie that carries it (the API's login and the login page set the same one);
logout; changing one's password, which revokes every other session.

The same rate limiter (`_too_many`: rows of `failed_login` in the window, per client
address) also counts the public record checks (`record_check_allowed`), under a name of
their own so that neither kind uses up the other's allowance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from coldchain.settings import ServerSettings
from server.core.errors import ApiError
from server.core.models import AccessToken, FailedLogin, User, utcnow
from server.core.security import new_token, sign_cookie, token_digest, verify_password

# A public record check is kept in failed_login under this name: never an e-mail address
# (no "@"), so no login counts it and no check counts a login.
RECORD_CHECK = "#record-check"
_LOGINS = FailedLogin.email != RECORD_CHECK
_CHECKS = FailedLogin.email == RECORD_CHECK


def _count(session: Session, *where: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).where(*where)) or 0


def _too_many(
    session: Session,
    since: datetime,
    kind: ColumnElement[bool],
    client_ip: str,
    per_ip: int,
    email: str | None = None,
    per_email: int | None = None,
) -> bool:
    """The rate limit: the attempts of one kind kept in failed_login since `since`, from the
    client address (and for the e-mail, when given), against their allowance. Older rows go."""
    session.execute(delete(FailedLogin).where(FailedLogin.at < since))  # keep the table small
    if _count(session, kind, FailedLogin.client_ip == client_ip, FailedLogin.at >= since) >= per_ip:
        return True
    return (
        email is not None
        and per_email is not None
        and _count(session, FailedLogin.email == email, FailedLogin.at >= since) >= per_email
    )


@dataclass(frozen=True)
class SignedIn:
    token: str  # given once: the database keeps its digest
    lifetime: timedelta


def login(
    session: Session,
    settings: ServerSettings,
    hasher: PasswordHasher,
    dummy_hash: str,
    *,
    email: str,
    password: str,
    client_ip: str,
    now: datetime,
) -> SignedIn:
    """A new access token for the e-mail and password; 429 after too many failures of the
    account or the address in the window, 401 for a wrong password, an unknown e-mail or
    a deactivated account alike (no hint which). Committed either way."""
    since = now - timedelta(seconds=settings.login_window_s)
    if _too_many(
        session,
        since,
        _LOGINS,
        client_ip,
        settings.login_max_failures_ip,
        email,
        settings.login_max_failures_account,
    ):
        session.commit()
        raise ApiError(429, "too_many_attempts")
    user = session.scalar(select(User).where(User.email == email))
    stored = user.password_hash if user else dummy_hash
    if not verify_password(hasher, stored, password) or user is None or not user.is_active:
        session.add(FailedLogin(email=email, client_ip=client_ip, at=now))
        session.commit()
        raise ApiError(401, "invalid_credentials")
    session.execute(delete(FailedLogin).where(FailedLogin.email == email))
    token = new_token()
    lifetime = timedelta(hours=settings.token_lifetime_h)
    session.add(
        AccessToken(user_id=user.id, token_hash=token_digest(token), expires_at=now + lifetime)
    )
    session.commit()
    return SignedIn(token, lifetime)


def login_request(
    request: Request, session: Session, settings: ServerSettings, *, email: str, password: str
) -> SignedIn:
    """`login` as the API and the login page ask it: with the application's password hasher,
    now, and the caller's address (which the per-address limit counts)."""
    return login(
        session,
        settings,
        request.app.state.password_hasher,
        request.app.state.dummy_hash,
        email=email,
        password=password,
        client_ip=client_address(request),
        now=utcnow(),
    )


def client_address(request: Request) -> str:
    """The address the per-address limits count (the TCP peer: behind a reverse proxy,
    the proxy's address for everyone, as for the login)."""
    return request.client.host if request.client else "unknown"


def record_check_allowed(
    session: Session, settings: ServerSettings, *, client_ip: str, now: datetime
) -> bool:
    """May this address check a record now (the public verification page)? Every check
    counts, found or not: `record_checks_per_ip` per login window (`login_window_s`),
    counted by the login's limiter. False when the address used them up. Committed."""
    since = now - timedelta(seconds=settings.login_window_s)
    if _too_many(session, since, _CHECKS, client_ip, settings.record_checks_per_ip):
        session.commit()
        return False
    session.add(FailedLogin(email=RECORD_CHECK, client_ip=client_ip, at=now))
    session.commit()
    return True


def set_cookie(response: Response, settings: ServerSettings, signed_in: SignedIn) -> None:
    """The signed session cookie the pages (and a browser calling the API) authenticate with."""
    response.set_cookie(
        settings.session_cookie_name,
        sign_cookie(settings, signed_in.token),
        max_age=int(signed_in.lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def clear_cookie(response: Response, settings: ServerSettings) -> None:
    response.delete_cookie(settings.session_cookie_name)


def logout(session: Session, access: AccessToken, now: datetime) -> None:
    """Revoke the token (or session) used for this request."""
    access.revoked_at = now
    session.commit()


def change_password(
    session: Session,
    hasher: PasswordHasher,
    user: User,
    access: AccessToken,
    *,
    current: str,
    new: str,
    now: datetime,
) -> None:
    """Change one's password; every other session of the account is revoked."""
    if not verify_password(hasher, user.password_hash, current):
        raise ApiError(422, "wrong_password")
    user.password_hash = hasher.hash(new)
    session.execute(
        update(AccessToken)
        .where(
            AccessToken.user_id == user.id,
            AccessToken.id != access.id,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    session.commit()
