"""alerts: lifecycle, notifications, worker state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 05:41:35.584128
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "alert_rejected_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rejected_message")),
    )
    op.create_table(
        "alert_worker_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alert_worker_state")),
    )
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["user_account.id"],
            name=op.f("fk_alert_acknowledged_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["user_account.id"], name=op.f("fk_alert_closed_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["cold_room_id"], ["cold_room.id"], name=op.f("fk_alert_cold_room_id_cold_room")
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_alert_cooperative_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_alert_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisation.id"], name=op.f("fk_alert_owner_id_organisation")
        ),
        sa.ForeignKeyConstraint(["van_id"], ["van.id"], name=op.f("fk_alert_van_id_van")),
        sa.ForeignKeyConstraint(["zone_id"], ["zone.id"], name=op.f("fk_alert_zone_id_zone")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("uid", name=op.f("uq_alert_uid")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_cold_room_id"), ["cold_room_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_location_key"), ["location_key"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_next_escalation_at"), ["next_escalation_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_start_at"), ["start_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_van_id"), ["van_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alert_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "alert_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_alert_entry_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_entry_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_entry")),
    )
    with op.batch_alter_table("alert_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_entry_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "corrective_action",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_corrective_action_alert_id_alert")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_corrective_action_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_action")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_corrective_action_alert_id")),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_notification_alert_id_alert")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification")),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_notification_next_attempt_at"), ["next_attempt_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_notification_status"), ["status"], unique=False)

    op.create_table(
        "alert_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("consignor_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_alert_lot_alert_id_alert")
        ),
        sa.ForeignKeyConstraint(
            ["consignor_id"],
            ["organisation.id"],
            name=op.f("fk_alert_lot_consignor_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_alert_lot_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(["load_id"], ["load.id"], name=op.f("fk_alert_lot_load_id_load")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_lot")),
        sa.UniqueConstraint("alert_id", "load_id", name=op.f("uq_alert_lot_alert_id_load_id")),
    )
    with op.batch_alter_table("alert_lot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_lot_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_alert_lot_consignor_id"), ["consignor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alert_lot_load_id"), ["load_id"], unique=False)

    op.create_table(
        "lot_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corrective_action_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=30), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["corrective_action_id"],
            ["corrective_action.id"],
            name=op.f("fk_lot_decision_corrective_action_id_corrective_action"),
        ),
        sa.ForeignKeyConstraint(
            ["load_id"], ["load.id"], name=op.f("fk_lot_decision_load_id_load")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_decision")),
        sa.UniqueConstraint(
            "corrective_action_id",
            "load_id",
            name=op.f("uq_lot_decision_corrective_action_id_load_id"),
        ),
    )
    with op.batch_alter_table("lot_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lot_decision_corrective_action_id"),
            ["corrective_action_id"],
            unique=False,
        )

    op.create_table(
        "notification_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notification.id"],
            name=op.f("fk_notification_attempt_notification_id_notification"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_attempt")),
    )
    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_attempt_notification_id"), ["notification_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("notification_attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_attempt_notification_id"))

    op.drop_table("notification_attempt")
    with op.batch_alter_table("lot_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_decision_corrective_action_id"))

    op.drop_table("lot_decision")
    with op.batch_alter_table("alert_lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_lot_load_id"))
        batch_op.drop_index(batch_op.f("ix_alert_lot_consignor_id"))
        batch_op.drop_index(batch_op.f("ix_alert_lot_alert_id"))

    op.drop_table("alert_lot")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_status"))
        batch_op.drop_index(batch_op.f("ix_notification_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_notification_alert_id"))

    op.drop_table("notification")
    op.drop_table("corrective_action")
    with op.batch_alter_table("alert_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_entry_alert_id"))

    op.drop_table("alert_entry")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_zone_id"))
        batch_op.drop_index(batch_op.f("ix_alert_van_id"))
        batch_op.drop_index(batch_op.f("ix_alert_state"))
        batch_op.drop_index(batch_op.f("ix_alert_start_at"))
        batch_op.drop_index(batch_op.f("ix_alert_next_escalation_at"))
        batch_op.drop_index(batch_op.f("ix_alert_location_key"))
        batch_op.drop_index(batch_op.f("ix_alert_kind"))
        batch_op.drop_index(batch_op.f("ix_alert_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_alert_cooperative_id"))
        batch_op.drop_index(batch_op.f("ix_alert_cold_room_id"))

    op.drop_table("alert")
    op.drop_table("alert_worker_state")
    op.drop_table("alert_rejected_message")
