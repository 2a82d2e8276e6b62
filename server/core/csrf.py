"""Anti-CSRF tokens (synchronizer tokens, OWASP): an HMAC, with a key derived from the
server secret, of what the request is bound to. Nothing is stored.

- A signed-in form: bound to the session token in the signed session cookie, so a token
  of another session (or an old one after logging in again) is refused.
- The login form (no session yet): bound to a random pre-session cookie, a signed
  double-submit cookie; see server/pages/web.py, which puts the field in the forms.
- The API: a state-changing call authenticated by the session cookie alone (no bearer)
  must send the session's token in the `X-CSRF-Token` header (server/core/deps.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from base64 import urlsafe_b64encode

from coldchain.settings import ServerSettings

FIELD = "csrf"  # the hidden form field
HEADER = "X-CSRF-Token"  # the API header
PRE_SESSION_COOKIE = "coldchain_csrf"
SESSION = "session"
PRE_SESSION = "login"


def token_for(settings: ServerSettings, purpose: str, binding: str) -> str:
    # Its own key (not the cookie signer's): a CSRF token is never a valid cookie signature.
    key = hmac.new(settings.secret_key.get_secret_value().encode(), b"coldchain-csrf", "sha256")
    mac = hmac.new(key.digest(), f"{purpose}:{binding}".encode(), hashlib.sha256)
    return urlsafe_b64encode(mac.digest()).decode().rstrip("=")


def matches(settings: ServerSettings, purpose: str, binding: str, presented: str | None) -> bool:
    if not presented or len(presented) > 100:
        return False
    expected = token_for(settings, purpose, binding)
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


def new_nonce() -> str:
    return secrets.token_urlsafe(32)


def valid_nonce(value: str | None) -> str | None:
    """A pre-session cookie as we set it (43 URL-safe characters), else None."""
    if value and len(value) == 43 and all(c.isalnum() or c in "-_" for c in value):
        return value
    return None
