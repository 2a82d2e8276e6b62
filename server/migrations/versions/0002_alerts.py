"""alerts: lifecycle, notifications, worker state (written 2026-11-22)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.migrations.tables import create_table, drop_table

revision = "0002"
down_revision = "0001"


# The indexed columns of `alert`: created in this order, dropped in the reverse one.
ALERT_INDEXED = (
    "cold_room_id",
    "cooperative_id",
    "delivery_id",
    "kind",
    "location_key",
    "next_escalation_at",
    "start_at",
    "state",
    "van_id",
    "zone_id",
)


def upgrade() -> None:
    create_table(
        "alert_rejected_message",
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
    )
    op.create_table(
        "alert_worker_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alert_worker_state")),
    )
    create_table(
        "alert",
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("engine_status", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("location_key", sa.String(length=40), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("cold_room_id", sa.Integer(), nullable=True),
        sa.Column("van_id", sa.Integer(), nullable=True),
        sa.Column("delivery_id", sa.Integer(), nullable=True),
        sa.Column("cooperative_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("probe_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_out_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("peak", sa.Float(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_late", sa.Boolean(), nullable=False),
        sa.Column("text_fr", sa.String(length=500), nullable=False),
        sa.Column("text_en", sa.String(length=500), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        references={
            "acknowledged_by_id": "user_account",
            "closed_by_id": "user_account",
            "cold_room_id": "cold_room",
            "cooperative_id": "organisation",
            "delivery_id": "delivery",
            "owner_id": "organisation",
            "van_id": "van",
            "zone_id": "zone",
        },
        unique=[("uid",)],
        indexed=ALERT_INDEXED,
    )
    create_table(
        "alert_entry",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        references={"actor_id": "user_account", "alert_id": "alert"},
        indexed=("alert_id",),
    )
    create_table(
        "corrective_action",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("immediate_action", sa.Text(), nullable=False),
        sa.Column("action_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("core_temperature_c", sa.Float(), nullable=True),
        sa.Column("core_measured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("thermometer", sa.String(length=200), nullable=True),
        sa.Column("product_assessment", sa.Text(), nullable=False),
        sa.Column("root_cause", sa.Text(), nullable=False),
        sa.Column("preventive_action", sa.Text(), nullable=False),
        sa.Column("preventive_due", sa.Date(), nullable=True),
        sa.Column("preventive_owner", sa.String(length=200), nullable=True),
        sa.Column("afsca_notified", sa.Boolean(), nullable=False),
        sa.Column("afsca_reason", sa.Text(), nullable=False),
        references={"alert_id": "alert", "recorded_by_id": "user_account"},
        unique=[("alert_id",)],
    )
    create_table(
        "notification",
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        references={"alert_id": "alert"},
        indexed=("alert_id", "next_attempt_at", "status"),
    )
    create_table(
        "alert_lot",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("consignor_id", sa.Integer(), nullable=False),
        references={
            "alert_id": "alert",
            "consignor_id": "organisation",
            "delivery_id": "delivery",
            "load_id": "load",
        },
        unique=[("alert_id", "load_id")],
        indexed=("alert_id", "consignor_id", "load_id"),
    )
    create_table(
        "lot_decision",
        sa.Column("corrective_action_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=30), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        references={"corrective_action_id": "corrective_action", "load_id": "load"},
        unique=[("corrective_action_id", "load_id")],
        indexed=("corrective_action_id",),
    )
    create_table(
        "notification_attempt",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        references={"notification_id": "notification"},
        indexed=("notification_id",),
    )


def downgrade() -> None:
    drop_table("notification_attempt", "notification_id")
    drop_table("lot_decision", "corrective_action_id")
    drop_table("alert_lot", "alert_id", "consignor_id", "load_id")
    drop_table("notification", "alert_id", "next_attempt_at", "status")
    drop_table("corrective_action")
    drop_table("alert_entry", "alert_id")
    drop_table("alert", *ALERT_INDEXED)
    drop_table("alert_worker_state")
    drop_table("alert_rejected_message")
