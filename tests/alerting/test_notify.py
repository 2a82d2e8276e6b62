"""Notification channels and the dispatcher: webhooks signed with HMAC-SHA256 and retried
after a failure, e-mail in French through a real SMTP server, every attempt logged, and a
channel that stays down ends `failed` after the configured attempts."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coldchain.settings import Settings, WebhookTarget
from server.alerting.dispatch import make_channels, send_due
from server.alerting.notify.webhook import SIGNATURE_HEADER, verify
from server.core.db import make_engine, make_sessionmaker, migrate
from server.core.models import utcnow
from server.core.models.alerts import Notification, NotificationAttempt
from tests.alerting.support import Inbox, settings_for, wait_for
from tests.harness.servers import free_port

SECRET = "s3cret-partagé"


class Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    received: ClassVar[list[tuple[bytes, dict[str, str]]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((body, dict(self.headers)))
        self.send_response(Receiver.answers.pop(0) if Receiver.answers else 200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.answers, Receiver.received = [500], []
    server = HTTPServer(("127.0.0.1", free_port()), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'coldchain.sqlite3'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def run_until_settled(sessions: sessionmaker[Session], settings: Settings) -> None:
    channels = make_channels(settings, None)

    def settled() -> bool:
        with sessions() as session:
            send_due(session, channels, settings)
            return (
                session.scalar(select(Notification.id).where(Notification.status == "pending"))
                is None
            )

    wait_for(settled, 20, 0.1)


def test_webhook_signed_retried_and_every_attempt_logged(
    receiver: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, 1883, None, notify_retry_s=0.1)
    settings.alerting.webhooks = [WebhookTarget(url=receiver, secret=SecretStr(SECRET))]
    body = {"entry": {"kind": "opened"}, "alert": {"text_fr": "Zone frais : 12,4 °C"}}
    with sessions() as session:
        session.add(Notification(channel="webhook", target=receiver, payload={"body": body}))
        session.commit()
    run_until_settled(sessions, settings)

    assert len(Receiver.received) == 2  # the 500, then the retry
    raw, headers = Receiver.received[-1]
    assert json.loads(raw) == body
    assert verify(SECRET, raw, headers[SIGNATURE_HEADER])
    assert not verify("autre secret", raw, headers[SIGNATURE_HEADER])
    assert headers["X-Coldchain-Delivery"] == Receiver.received[0][1]["X-Coldchain-Delivery"]
    with sessions() as session:
        attempts = [
            a.ok
            for a in session.scalars(select(NotificationAttempt).order_by(NotificationAttempt.id))
        ]
        note = session.scalars(select(Notification)).one()
    assert attempts == [False, True]
    assert note.status == "sent" and note.attempts == 2


def test_email_in_french_and_a_dead_server_ends_failed(
    smtp: tuple[int, Inbox], sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    port, inbox = smtp
    settings = settings_for(tmp_path, 1883, port, notify_retry_s=0.05, notify_max_attempts=3)
    payload = {
        "subject": "[Coldchain] Nouvelle alerte (critique) — Fourgon 1 — frais",
        "body": "Température élevée",
    }
    with sessions() as session:
        session.add(Notification(channel="email", target="chauffeur@example.be", payload=payload))
        session.commit()
    run_until_settled(sessions, settings)
    rcpts, message = inbox.messages[0]
    assert rcpts == ["chauffeur@example.be"]
    parsed = email.message_from_bytes(message.encode(), policy=email.policy.default)
    assert parsed["Content-Language"] == "fr"
    assert parsed["Subject"] == payload["subject"]  # non-ASCII subject survives (RFC 2047)
    assert parsed.get_content().strip() == "Température élevée"

    dead = settings_for(tmp_path, 1883, free_port(), notify_retry_s=0.05, notify_max_attempts=3)
    with sessions() as session:
        session.add(
            Notification(
                channel="email", target="x@example.be", payload=payload, next_attempt_at=utcnow()
            )
        )
        session.commit()
    run_until_settled(sessions, dead)
    with sessions() as session:
        note = session.scalars(select(Notification).order_by(Notification.id.desc())).first()
        assert note is not None
        assert note.status == "failed" and note.attempts == 3
        assert note.last_error and "SMTP" in note.last_error
        failed = session.scalars(
            select(NotificationAttempt).where(NotificationAttempt.notification_id == note.id)
        )
        assert [a.ok for a in failed] == [False, False, False]
