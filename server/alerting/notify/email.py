"""E-mail over SMTP (stdlib smtplib), in the recipient's language (server/alerting/outbox.py),
the English text below."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from server.alerting.notify.base import DeliveryFailed


class EmailChannel:
    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout_s = timeout_s

    def send(self, target: str, payload: dict[str, Any]) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = target
        message["Subject"] = str(payload["subject"])[:200]
        message.set_content(str(payload["body"]))
        # After set_content, which resets Content-* headers; French for a message queued
        # before the outbox said its language.
        message["Content-Language"] = str(payload.get("language", "fr"))
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {self.host}:{self.port}: {exc}") from exc
