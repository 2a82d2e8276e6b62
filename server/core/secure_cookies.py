"""Cookies marked `Secure` when the request came over HTTPS.

The server itself speaks plain HTTP; HTTPS ends at a reverse proxy (Caddy, docs/https.md).
Uvicorn's proxy-headers middleware, installed only for `server.forwarded_allow_ips`, turns
a trusted proxy's `X-Forwarded-Proto: https` into the request's scheme; anyone else's header
is ignored. This middleware, inside it, then adds `Secure` to every cookie of an HTTPS
response, so no cookie-setting code has to know how the page was reached
(`server.session_cookie_secure = true` still forces it for every response).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecureCookiesOverHttps:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, secure(value) if name.lower() == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secure)


def secure(set_cookie: bytes) -> bytes:
    """A Set-Cookie value with the Secure attribute (unchanged if it has it already)."""
    attributes = [part.strip().lower() for part in set_cookie.split(b";")[1:]]
    return set_cookie if b"secure" in attributes else set_cookie + b"; Secure"
