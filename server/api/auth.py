"""Login (bearer token + session cookie), logout, password change."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, func, select, update

from server.core.deps import AccessTokenDep, CurrentUser, SessionDep, SettingsDep
from server.core.errors import ApiError
from server.core.models import AccessToken, FailedLogin, User, utcnow
from server.core.security import new_token, sign_cookie, token_digest, verify_password
from server.schemas.auth import LoginIn, PasswordChangeIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> TokenOut:
    """Exchange email + password for a bearer token; also sets the session cookie."""
    client_ip = request.client.host if request.client else "unknown"
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_s)
    session.execute(delete(FailedLogin).where(FailedLogin.at < since))  # keep the table small
    by_account = session.scalar(
        select(func.count()).where(FailedLogin.email == body.email, FailedLogin.at >= since)
    )
    by_ip = session.scalar(
        select(func.count()).where(FailedLogin.client_ip == client_ip, FailedLogin.at >= since)
    )
    if (by_account or 0) >= settings.login_max_failures_account or (
        by_ip or 0
    ) >= settings.login_max_failures_ip:
        session.commit()
        raise ApiError(429, "too_many_attempts")
    user = session.scalar(select(User).where(User.email == body.email))
    hasher = request.app.state.password_hasher
    stored = user.password_hash if user else request.app.state.dummy_hash
    if not verify_password(hasher, stored, body.password) or user is None or not user.is_active:
        session.add(FailedLogin(email=body.email, client_ip=client_ip, at=now))
        session.commit()
        raise ApiError(401, "invalid_credentials")
    session.execute(delete(FailedLogin).where(FailedLogin.email == body.email))
    token = new_token()
    lifetime = timedelta(hours=settings.token_lifetime_h)
    session.add(
        AccessToken(user_id=user.id, token_hash=token_digest(token), expires_at=now + lifetime)
    )
    session.commit()
    response.set_cookie(
        settings.session_cookie_name,
        sign_cookie(settings, token),
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
    return TokenOut(access_token=token, expires_in=int(lifetime.total_seconds()))


@router.post("/logout", status_code=204)
def logout(access: AccessTokenDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Revoke the token (or session) used for this request."""
    access.revoked_at = utcnow()
    session.commit()
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie_name)
    return response


@router.post("/password", status_code=204)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    user: CurrentUser,
    access: AccessTokenDep,
    session: SessionDep,
) -> Response:
    """Change one's password; every other session of the account is revoked."""
    hasher = request.app.state.password_hasher
    if not verify_password(hasher, user.password_hash, body.current_password):
        raise ApiError(422, "wrong_password")
    user.password_hash = hasher.hash(body.new_password)
    session.execute(
        update(AccessToken)
        .where(
            AccessToken.user_id == user.id,
            AccessToken.id != access.id,
            AccessToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    session.commit()
    return Response(status_code=204)
