"""The one interface every notification channel implements."""

from __future__ import annotations

from typing import Any, Protocol


class DeliveryFailed(Exception):
    """The message did not get through (this attempt); the dispatcher retries it later."""


class Channel(Protocol):
    name: str

    def send(self, target: str, payload: dict[str, Any]) -> None:
        """Deliver `payload` to `target` (a probe id, an e-mail address, a URL) or raise."""
