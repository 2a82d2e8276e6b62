"""Alert tables: the alert (engine record + lifecycle), affected lots, its history,
the corrective action, notifications with every delivery attempt, the worker's state
and the MQTT messages it refused."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.core.models.base import Base, IdKey, utcnow


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ACTION_RECORDED = "action_recorded"  # corrective action written, awaiting review
    CLOSED = "closed"  # reviewed by the hygiene officer
    INFO = "info"  # a record only (evaluation suspended): nothing to acknowledge


class Decision(StrEnum):
    RELEASE = "release"
    SHORTEN_SHELF_LIFE = "shorten_shelf_life"
    REDIRECT = "redirect"
    REJECT = "reject"
    DESTROY = "destroy"
    RETURN_TO_PRODUCER = "return_to_producer"  # « retour au producteur »


class Alert(IdKey, Base):
    __tablename__ = "alert"

    uid: Mapped[str] = mapped_column(String(64), unique=True)  # the engine's alert id
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    engine_status: Mapped[str] = mapped_column(String(20))  # open, closed, withdrawn
    state: Mapped[str] = mapped_column(String(20), index=True, default=AlertState.OPEN)
    location_key: Mapped[str] = mapped_column(String(40), index=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    cold_room_id: Mapped[int | None] = mapped_column(ForeignKey("cold_room.id"), index=True)
    van_id: Mapped[int | None] = mapped_column(ForeignKey("van.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("delivery.id"), index=True)
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))  # cold room owner
    probe_id: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    start_at: Mapped[datetime] = mapped_column(index=True)
    last_out_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    peak: Mapped[float | None] = mapped_column(Float)
    # The engine's figures, as its last event carries them (docs/alerts.md, "published
    # equals stored"): when the alert condition was met, when it turned critical (device
    # time), how many readings it counts.
    alert_at: Mapped[datetime | None]
    critical_at: Mapped[datetime | None]
    n_readings: Mapped[int | None]
    # Arrival of the readings with which the system first knew it critical (the others: first
    # knew it); late when more than the data-gap threshold after critical_at (alert_at).
    detected_at: Mapped[datetime]
    detected_late: Mapped[bool]
    text_fr: Mapped[str] = mapped_column(String(500))
    text_en: Mapped[str] = mapped_column(String(500))
    # The engine's alert record (docs/sources.md#alert-record).
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    acknowledged_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    escalation_level: Mapped[int] = mapped_column(default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertLot(IdKey, Base):
    """A lot (load) that was in the zone during the excursion."""

    __tablename__ = "alert_lot"
    __table_args__ = (UniqueConstraint("alert_id", "load_id"),)

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    load_id: Mapped[int] = mapped_column(ForeignKey("load.id"), index=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"))
    consignor_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)


class AlertEntry(IdKey, Base):
    """One line of an alert's history (engine events, people's actions, escalations).
    The event streams (SSE) are read from this table, in id order."""

    __tablename__ = "alert_entry"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class CorrectiveAction(IdKey, Base):
    """Human-completed record (docs/sources.md#corrective-action-record)."""

    __tablename__ = "corrective_action"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), unique=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    immediate_action: Mapped[str] = mapped_column(Text)
    action_at: Mapped[datetime]
    core_temperature_c: Mapped[float | None] = mapped_column(Float)
    core_measured_at: Mapped[datetime | None]
    thermometer: Mapped[str | None] = mapped_column(String(200))  # EN 13485 instrument id
    product_assessment: Mapped[str] = mapped_column(Text)
    root_cause: Mapped[str] = mapped_column(Text)
    preventive_action: Mapped[str] = mapped_column(Text)
    preventive_due: Mapped[date | None] = mapped_column(Date)
    preventive_owner: Mapped[str | None] = mapped_column(String(200))
    afsca_notified: Mapped[bool]
    afsca_reason: Mapped[str] = mapped_column(Text)  # why (or why not), logged either way


class LotDecision(IdKey, Base):
    __tablename__ = "lot_decision"
    __table_args__ = (UniqueConstraint("corrective_action_id", "load_id"),)

    corrective_action_id: Mapped[int] = mapped_column(
        ForeignKey("corrective_action.id"), index=True
    )
    load_id: Mapped[int] = mapped_column(ForeignKey("load.id"))
    decision: Mapped[str] = mapped_column(String(30))
    justification: Mapped[str] = mapped_column(Text)


class Notification(IdKey, Base):
    """One message to send (outbox): probe alarm, e-mail or webhook, retried until sent."""

    __tablename__ = "notification"

    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NotificationAttempt(IdKey, Base):
    __tablename__ = "notification_attempt"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(String(500))


class WorkerState(Base):
    """The rules engine's saved state (JSON), so a restart neither re-raises nor forgets."""

    __tablename__ = "alert_worker_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RejectedMessage(IdKey, Base):
    """An MQTT message the worker refused, kept for inspection."""

    __tablename__ = "alert_rejected_message"

    at: Mapped[datetime] = mapped_column(default=utcnow)
    topic: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # first 64 KiB
    reason: Mapped[str] = mapped_column(String(50))
    detail: Mapped[str] = mapped_column(String(500))
