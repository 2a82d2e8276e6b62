"""Unacknowledged alerts go up the chain: driver (or the cold room's producer) ->
the cooperative's hygiene officer -> its admin; then reminders to all of them until
someone acknowledges. Every step is an entry in the alert's history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coldchain.settings import AlertingSettings
from server.alerting import outbox, recipients
from server.core.models.alerts import Alert, AlertState


def escalate_due(session: Session, settings: AlertingSettings, now: datetime) -> int:
    due = list(
        session.scalars(
            select(Alert)
            .where(
                Alert.state == AlertState.OPEN,
                Alert.next_escalation_at.is_not(None),
                Alert.next_escalation_at <= now,
            )
            .order_by(Alert.next_escalation_at)
            .limit(100)
            # An acknowledgement committing meanwhile holds the row: skip it (it is no longer
            # open next round) rather than send "still not acknowledged" after the fact and
            # re-arm its escalation (a lost update seen on PostgreSQL in CI).
            .with_for_update(skip_locked=True)
        )
    )
    for alert in due:
        if alert.escalation_level < recipients.TOP_LEVEL:
            alert.escalation_level += 1
            kind = "escalation"
            told = recipients.at_level(session, alert, alert.escalation_level)
            delay = settings.escalation_after_min
        else:
            kind = "reminder"
            told = recipients.up_to(session, alert, alert.escalation_level)
            delay = settings.reminder_every_min
        alert.next_escalation_at = now + timedelta(minutes=delay)
        data = {
            "level": alert.escalation_level,
            "to_user_ids": [u.id for u in told],
            "text_fr": (
                f"Non prise en charge : transmise au niveau {alert.escalation_level}"
                if kind == "escalation"
                else "Rappel : alerte toujours non prise en charge"
            ),
        }
        outbox.add_entry(session, alert, kind, data, settings)
        outbox.email_people(session, alert, told, kind, settings)
    return len(due)
