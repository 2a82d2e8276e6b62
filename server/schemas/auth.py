"""Login, token, password change."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from server.schemas.common import Email, Input, Password


class LoginIn(Input):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=200)]


class TokenOut(Input):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


class PasswordChangeIn(Input):
    current_password: Annotated[str, Field(min_length=1, max_length=200)]
    new_password: Password
