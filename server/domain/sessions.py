"""Signing in and out: the login rate limit (per account and per client address), the
password check that takes as long for an unknown e-mail, the access token and the signed
session cookie that carries it (the API's login and the login page set the same one);
logout; changing one's password, which revokes every other session.

The limits hold without locking anyone out: after `login_max_failures_account` failures of
an account, each further attempt waits 1 s after the last failure, then 2, 4, 8 … up to
`login_max_delay_s` (an attempt refused meanwhile is not a failure and does not make the
wait longer), and the right password works as soon as the wait is over; one client address
gets `login_max_failures_ip` failures per `login_window_s`. The address is the TCP peer's,
or the one a trusted proxy forwarded (`forwarded_allow_ips`, applied in server/app.py).

No password is hashed while a transaction is open: the attempt is checked against the
limits and counted (as a failure of the account, undone if the password is right) in one
short writing transaction, the password is verified outside any, and the failure (now
counted for the address too) or the token is written in a second short one. On SQLite a
writer's transaction holds the database's one write lock; holding it for an argon2 hash
made concurrent logins and background jobs fail with "database is locked". Counting the
attempt before verifying also means that parallel guesses for one account are refused like
sequential ones.

The same rate limiter (`_too_many`: rows of `failed_login` in the window, per client
address) also counts the public record checks (`record_check_allowed`), under a name of
their own so that neither kind uses up the other's allowance."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from coldchain.settings import ServerSettings
from server.core.db import begin_writing, release
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


def _seconds(wait: timedelta) -> int:
    """A wait as the whole seconds to tell the client (at least 1)."""
    return max(1, math.ceil(wait.total_seconds()))


def _too_many(
    session: Session, since: datetime, kind: ColumnElement[bool], client_ip: str, per_ip: int
) -> datetime | None:
    """The per-address limit: when the attempts of one kind kept in failed_login since
    `since` from the address used up its allowance, the oldest of them (the address waits
    until it leaves the window); None when it may go on. Older rows go."""
    session.execute(delete(FailedLogin).where(FailedLogin.at < since))  # keep the table small
    mine = (kind, FailedLogin.client_ip == client_ip, FailedLogin.at >= since)
    if _count(session, *mine) < per_ip:
        return None
    return session.scalar(select(func.min(FailedLogin.at)).where(*mine)) or since


def account_delay(failures: int, free: int, cap_s: int) -> timedelta:
    """How long an account waits after its last failure, with `failures` failures in the
    window: nothing for the first `free`, then 1 s, 2 s, 4 s … up to `cap_s`."""
    free = max(free, 1)
    if failures < free:
        return timedelta(0)
    return timedelta(seconds=min(cap_s, 2 ** min(failures - free, 30)))


def _account_wait(
    session: Session, settings: ServerSettings, email: str, since: datetime, now: datetime
) -> timedelta | None:
    """How long the account must still wait before its next attempt (None: it may try)."""
    failures, last = session.execute(
        select(func.count(), func.max(FailedLogin.at)).where(
            FailedLogin.email == email, FailedLogin.at >= since
        )
    ).one()
    if not failures or last is None:
        return None
    delay = account_delay(failures, settings.login_max_failures_account, settings.login_max_delay_s)
    wait = last + delay - now
    return wait if wait > timedelta(0) else None


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
    """A new access token for the e-mail and password; 429 `too_many_attempts` (with the
    seconds to wait) while the account or the address must wait, 401 for a wrong password,
    an unknown e-mail or a deactivated account alike (no hint which). Committed either way;
    the password is verified with no transaction open."""
    window = timedelta(seconds=settings.login_window_s)
    since = now - window
    # 1. A short writing transaction: the limits, then the attempt counted as a failure.
    begin_writing(session)
    oldest = _too_many(session, since, _LOGINS, client_ip, settings.login_max_failures_ip)
    by_address = None if oldest is None else oldest + window - now
    by_account = _account_wait(session, settings, email, since, now)
    waits = [w for w in (by_account, by_address) if w is not None and w > timedelta(0)]
    if waits:
        session.commit()
        raise ApiError(429, "too_many_attempts", seconds=_seconds(max(waits)))
    # Counted for the account at once (parallel guesses wait like sequential ones), for the
    # address only once it failed (colleagues behind one address signing in together).
    attempt = FailedLogin(email=email, client_ip="", at=now)
    session.add(attempt)
    user = session.scalar(select(User).where(User.email == email))
    session.commit()
    # 2. The password, with no transaction open (argon2 takes tens of milliseconds).
    stored = user.password_hash if user else dummy_hash
    if not verify_password(hasher, stored, password) or user is None or not user.is_active:
        # 3. A short writing transaction: a failure. (By statement: the row may be gone, a
        # right password of the account having cleared the failures meanwhile.)
        failed = update(FailedLogin).where(FailedLogin.id == attempt.id)
        session.execute(
            failed.values(client_ip=client_ip), execution_options={"synchronize_session": False}
        )
        session.commit()
        raise ApiError(401, "invalid_credentials")
    # 3. A second short writing transaction: the account's failures go, the token is kept.
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
    """The address the per-address limits count: the TCP peer's, or, when the peer is a
    trusted proxy (`server.forwarded_allow_ips`), the client address it forwarded in
    X-Forwarded-For (server/app.py installs the middleware that does this)."""
    return request.client.host[:64] if request.client else "unknown"


def record_check_allowed(
    session: Session, settings: ServerSettings, *, client_ip: str, now: datetime
) -> bool:
    """May this address check a record now (the public verification page)? Every check
    counts, found or not: `record_checks_per_ip` per login window (`login_window_s`),
    counted by the login's limiter. False when the address used them up. Committed, in a
    short writing transaction of its own (the page is a GET: its session reads)."""
    since = now - timedelta(seconds=settings.login_window_s)
    begin_writing(session)
    if _too_many(session, since, _CHECKS, client_ip, settings.record_checks_per_ip) is not None:
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
    """Change one's password; every other session of the account is revoked. Both hashes
    are computed with no transaction open (`release`), the change written in a short one."""
    release(session)
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
