"""FastAPI dependencies: `SessionDep`, `SettingsDep`, `StoreDep`, `CurrentUser` / `ViewerDep`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.readingstore.base import ReadingStore
from coldchain.settings import ServerSettings
from server.core import csrf
from server.core.access import Viewer
from server.core.db import WRITE
from server.core.errors import ApiError
from server.core.models import AccessToken, User, utcnow
from server.core.security import token_digest, unsign_cookie

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    if request.method in SAFE_METHODS:
        with request.app.state.sessionmaker() as session:
            yield session
        return
    # A writing request's transactions all take SQLite's write lock first (server/core/db.py),
    # the ones after a mid-request commit too: recording a calibration commits, then resolves
    # its overdue alert in a second transaction, which failed with "database is locked" when
    # the alert worker wrote in between (seen in CI).
    writer = request.app.state.engine.execution_options(**{WRITE: True})
    with request.app.state.sessionmaker(bind=writer) as session:
        yield session


def get_settings(request: Request) -> ServerSettings:
    settings: ServerSettings = request.app.state.settings.server
    return settings


def get_store(request: Request) -> ReadingStore:
    store: ReadingStore = request.app.state.reading_store
    return store


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[ServerSettings, Depends(get_settings)]
StoreDep = Annotated[ReadingStore, Depends(get_store)]

_bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/login")


def session_cookie_token(request: Request, settings: ServerSettings) -> str | None:
    """The token in the signed session cookie (the pages check their forms' CSRF field)."""
    cookie = request.cookies.get(settings.session_cookie_name)
    return unsign_cookie(settings, cookie) if cookie else None


def presented_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The bearer token (API clients) or the one in the signed session cookie. A
    state-changing API call authenticated by the cookie alone must also send the session's
    CSRF token in X-CSRF-Token (server/core/csrf.py): a browser sends cookies for other sites."""
    if credentials is not None:
        return credentials.credentials
    token = session_cookie_token(request, settings)
    if token is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get(csrf.HEADER)
        if not csrf.matches(settings, csrf.SESSION, token, sent):
            log.warning(
                "CSRF: %s %s refused (cookie without a valid %s)",
                request.method,
                request.url.path,
                csrf.HEADER,
            )
            raise ApiError(403, "csrf_failed")
    return token


TokenDep = Annotated[str | None, Depends(presented_token)]


def current_access_token(session: SessionDep, token: TokenDep) -> AccessToken:
    if not token or len(token) > 200:
        raise ApiError(401, "not_authenticated")
    access = session.scalar(
        select(AccessToken).where(AccessToken.token_hash == token_digest(token))
    )
    if access is None or access.revoked_at is not None or access.expires_at <= utcnow():
        raise ApiError(401, "not_authenticated")
    return access


AccessTokenDep = Annotated[AccessToken, Depends(current_access_token)]


def current_user(session: SessionDep, access: AccessTokenDep) -> User:
    user = session.get(User, access.user_id)
    if user is None or not user.is_active:
        raise ApiError(401, "not_authenticated")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def current_viewer(user: CurrentUser) -> Viewer:
    return Viewer.of(user)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]
