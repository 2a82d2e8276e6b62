"""Login, token, password change."""

from __future__ import annotations

from server.schemas.common import AnyPassword, Email, Input, Password


class LoginIn(Input):
    email: Email
    password: AnyPassword


class TokenOut(Input):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class PasswordChangeIn(Input):
    current_password: AnyPassword
    new_password: Password
