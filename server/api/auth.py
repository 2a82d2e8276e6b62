"""Login (bearer token + session cookie), logout, password change. The rules (rate limit,
revocation): server/domain/sessions.py."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from server.core.deps import AccessTokenDep, CurrentUser, SessionDep, SettingsDep
from server.core.models import utcnow
from server.domain import sessions
from server.schemas.auth import LoginIn, PasswordChangeIn, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/login")
def login(
    body: LoginIn, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> TokenOut:
    """Exchange email + password for a bearer token; also sets the session cookie."""
    signed_in = sessions.login_request(
        request, session, settings, email=body.email, password=body.password
    )
    sessions.set_cookie(response, settings, signed_in)
    return TokenOut(
        access_token=signed_in.token, expires_in=int(signed_in.lifetime.total_seconds())
    )


@router.post("/logout", status_code=204)
def logout(access: AccessTokenDep, session: SessionDep, settings: SettingsDep) -> Response:
    """Revoke the token (or session) used for this request."""
    sessions.logout(session, access, utcnow())
    response = Response(status_code=204)
    sessions.clear_cookie(response, settings)
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
    sessions.change_password(
        session,
        request.app.state.password_hasher,
        user,
        access,
        current=body.current_password,
        new=body.new_password,
        now=utcnow(),
    )
    return Response(status_code=204)
