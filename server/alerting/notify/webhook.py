"""Webhooks: JSON POST signed with HMAC-SHA256 of the exact body.

Header `X-Coldchain-Signature: sha256=<hex>`; the receiver recomputes it with the shared
secret. `X-Coldchain-Delivery` is the notification id, the same on every retry, so a
receiver can drop a duplicate.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from server.alerting.notify.base import DeliveryFailed

SIGNATURE_HEADER = "X-Coldchain-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(signature(secret, body), header)


class WebhookChannel:
    name = "webhook"

    def __init__(self, secrets: Mapping[str, str], timeout_s: float = 5.0) -> None:
        self.secrets = dict(secrets)  # url -> secret
        self.timeout_s = timeout_s

    def send(self, target: str, payload: dict[str, Any]) -> None:
        secret = self.secrets.get(target)
        if secret is None:
            raise DeliveryFailed(f"no webhook configured for {target[:100]}")
        body = json.dumps(payload["body"], separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(secret, body),
            "X-Coldchain-Delivery": str(payload.get("delivery_id", "")),
        }
        if not target.startswith(("http://", "https://")):
            raise DeliveryFailed(f"not an http(s) URL: {target[:100]}")
        request = urllib.request.Request(target, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"webhook {target[:100]}: HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"webhook {target[:100]}: {exc}") from exc
        if status >= 300:
            raise DeliveryFailed(f"webhook {target[:100]}: HTTP {status}")
