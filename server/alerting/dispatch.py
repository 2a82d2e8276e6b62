"""Sends the notifications of the outbox through the channels of server/alerting/notify/, logs
every attempt, retries with a doubling delay, and runs the escalation timer."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coldchain.settings import Settings
from server.alerting.escalation import escalate_due
from server.alerting.notify.base import Channel, DeliveryFailed
from server.alerting.notify.email import EmailChannel
from server.alerting.notify.probe_alarm import MqttPublish, ProbeAlarmChannel
from server.alerting.notify.webhook import WebhookChannel
from server.core.models import utcnow
from server.core.models.alerts import Notification, NotificationAttempt

log = logging.getLogger(__name__)


def make_channels(settings: Settings, publisher: MqttPublish | None) -> dict[str, Channel]:
    cfg = settings.alerting
    channels: dict[str, Channel] = {}
    if publisher is not None:
        channels["probe_alarm"] = ProbeAlarmChannel(publisher)
    if cfg.smtp_host:
        channels["email"] = EmailChannel(
            cfg.smtp_host,
            cfg.smtp_port,
            cfg.smtp_from,
            starttls=cfg.smtp_starttls,
            username=cfg.smtp_username,
            password=cfg.smtp_password.get_secret_value() if cfg.smtp_password else None,
            timeout_s=cfg.smtp_timeout_s,
        )
    channels["webhook"] = WebhookChannel(
        {w.url: w.secret.get_secret_value() for w in cfg.webhooks}, cfg.webhook_timeout_s
    )
    return channels


def send_due(session: Session, channels: dict[str, Channel], settings: Settings) -> int:
    """One pass over the notifications due now; returns how many were attempted."""
    cfg = settings.alerting
    now = utcnow()
    due = list(
        session.scalars(
            select(Notification)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.id)
            .limit(50)
            .with_for_update(skip_locked=True)  # several workers: each row sent by one
        )
    )
    for note in due:
        channel = channels.get(note.channel)
        note.attempts += 1
        error: str | None = None
        if channel is None:
            error = f"channel {note.channel} not configured here"
        else:
            try:
                channel.send(note.target, {**note.payload, "delivery_id": note.id})
            except DeliveryFailed as exc:
                error = str(exc)[:500]
            except Exception as exc:
                # Broad on purpose: a channel bug is recorded as a failed attempt (so it counts
                # toward notify_max_attempts) and retried like a failure; raised, the attempt
                # would be rolled back and this row retried forever ahead of the others.
                log.exception("notification %d", note.id)
                error = f"{type(exc).__name__}: {exc}"[:500]
        session.add(
            NotificationAttempt(notification_id=note.id, at=utcnow(), ok=error is None, error=error)
        )
        if error is None:
            note.status, note.sent_at, note.last_error = "sent", utcnow(), None
        else:
            note.last_error = error
            if note.attempts >= cfg.notify_max_attempts:
                note.status = "failed"
            else:
                delay = cfg.notify_retry_s * 2 ** (note.attempts - 1)
                note.next_attempt_at = utcnow() + timedelta(seconds=min(delay, 3600))
        session.commit()  # each attempt is on record even if the next one crashes
    return len(due)


class Dispatcher:
    def __init__(
        self, settings: Settings, sessions: sessionmaker[Session], publisher: MqttPublish | None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.channels = make_channels(settings, publisher)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alert-dispatch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.sessions() as session:
                    escalate_due(session, self.settings.alerting, utcnow())
                    session.commit()
                    while (
                        send_due(session, self.channels, self.settings) and not self._stop.is_set()
                    ):
                        pass
            except Exception:
                # Broad on purpose: the dispatcher thread's top loop (database down, a bug):
                # logged, tried again at the next poll; the thread never dies.
                log.exception("alert dispatcher pass failed")
            self._wake.wait(self.settings.alerting.notify_poll_s)
            self._wake.clear()
