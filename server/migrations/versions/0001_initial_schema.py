"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 05:19:15.161951
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "failed_login",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_failed_login")),
    )
    with op.batch_alter_table("failed_login", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_failed_login_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_failed_login_client_ip"), ["client_ip"], unique=False)
        batch_op.create_index(batch_op.f("ix_failed_login_email"), ["email"], unique=False)

    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("name", name=op.f("uq_organisation_name")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )
    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_access_token_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_access_token_token_hash")),
    )
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "cold_room",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisation.id"], name=op.f("fk_cold_room_owner_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cold_room")),
    )
    with op.batch_alter_table("cold_room", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cold_room_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "cooperative_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_cooperative_member_cooperative_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["producer_id"],
            ["organisation.id"],
            name=op.f("fk_cooperative_member_producer_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cooperative_member")),
        sa.UniqueConstraint(
            "cooperative_id",
            "producer_id",
            name=op.f("uq_cooperative_member_cooperative_id_producer_id"),
        ),
    )
    with op.batch_alter_table("cooperative_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cooperative_member_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cooperative_member_producer_id"), ["producer_id"], unique=False
        )

    op.create_table(
        "membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_membership_organisation_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_membership_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_membership")),
        sa.UniqueConstraint(
            "user_id",
            "organisation_id",
            "role",
            name=op.f("uq_membership_user_id_organisation_id_role"),
        ),
    )
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_membership_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_membership_user_id"), ["user_id"], unique=False)

    op.create_table(
        "probe",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisation.id"], name=op.f("fk_probe_owner_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe")),
        sa.UniqueConstraint("probe_id", name=op.f("uq_probe_probe_id")),
    )
    with op.batch_alter_table("probe", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_probe_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "van",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisation.id"], name=op.f("fk_van_owner_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_van")),
        sa.UniqueConstraint("plate", name=op.f("uq_van_plate")),
    )
    with op.batch_alter_table("van", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_van_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "calibration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("offset", sa.Float(), nullable=False),
        sa.Column("calibrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_instrument", sa.String(length=200), nullable=False),
        sa.Column("performed_by", sa.String(length=200), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["probe_id"], ["probe.id"], name=op.f("fk_calibration_probe_id_probe")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_calibration_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration")),
    )
    with op.batch_alter_table("calibration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_probe_id"), ["probe_id"], unique=False)

    op.create_table(
        "cold_room_loan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cold_room_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cold_room_id"],
            ["cold_room.id"],
            name=op.f("fk_cold_room_loan_cold_room_id_cold_room"),
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_cold_room_loan_cooperative_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cold_room_loan")),
        sa.UniqueConstraint(
            "cold_room_id",
            "cooperative_id",
            name=op.f("uq_cold_room_loan_cold_room_id_cooperative_id"),
        ),
    )
    with op.batch_alter_table("cold_room_loan", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_cold_room_loan_cold_room_id"), ["cold_room_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_cold_room_loan_cooperative_id"), ["cooperative_id"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["user_account.id"],
            name=op.f("fk_delivery_closed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_delivery_cooperative_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["user_account.id"], name=op.f("fk_delivery_driver_id_user_account")
        ),
        sa.ForeignKeyConstraint(["van_id"], ["van.id"], name=op.f("fk_delivery_van_id_van")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_delivery_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_driver_id"), ["driver_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_delivery_van_id"), ["van_id"], unique=False)

    op.create_table(
        "van_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cooperative_id"],
            ["organisation.id"],
            name=op.f("fk_van_pool_cooperative_id_organisation"),
        ),
        sa.ForeignKeyConstraint(["van_id"], ["van.id"], name=op.f("fk_van_pool_van_id_van")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_van_pool")),
        sa.UniqueConstraint(
            "van_id", "cooperative_id", name=op.f("uq_van_pool_van_id_cooperative_id")
        ),
    )
    with op.batch_alter_table("van_pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_van_pool_cooperative_id"), ["cooperative_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_van_pool_van_id"), ["van_id"], unique=False)

    op.create_table(
        "zone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["van_id"], ["van.id"], name=op.f("fk_zone_van_id_van")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zone")),
        sa.UniqueConstraint("van_id", "name", name=op.f("uq_zone_van_id_name")),
    )
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zone_van_id"), ["van_id"], unique=False)

    op.create_table(
        "departure_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("limit_c", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["user_account.id"],
            name=op.f("fk_departure_check_checked_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_departure_check_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zone.id"], name=op.f("fk_departure_check_zone_id_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departure_check")),
        sa.UniqueConstraint(
            "delivery_id", "zone_id", name=op.f("uq_departure_check_delivery_id_zone_id")
        ),
    )
    with op.batch_alter_table("departure_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_departure_check_delivery_id"), ["delivery_id"], unique=False
        )

    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("cold_room_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            '"end" IS NULL OR "end" > start', name=op.f("ck_installation_end_after_start")
        ),
        sa.CheckConstraint(
            "(zone_id IS NULL) <> (cold_room_id IS NULL)", name=op.f("ck_installation_one_place")
        ),
        sa.ForeignKeyConstraint(
            ["cold_room_id"], ["cold_room.id"], name=op.f("fk_installation_cold_room_id_cold_room")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_installation_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["probe_id"], ["probe.id"], name=op.f("fk_installation_probe_id_probe")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zone.id"], name=op.f("fk_installation_zone_id_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installation")),
    )
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_installation_cold_room_id"), ["cold_room_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_installation_probe_id"), ["probe_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_installation_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("place_kind", sa.String(length=20), nullable=False),
        sa.Column("cold_room_id", sa.Integer(), nullable=True),
        sa.Column("place_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["cold_room_id"], ["cold_room.id"], name=op.f("fk_stop_cold_room_id_cold_room")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_stop_delivery_id_delivery")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stop")),
        sa.UniqueConstraint("delivery_id", "sequence", name=op.f("uq_stop_delivery_id_sequence")),
    )
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stop_delivery_id"), ["delivery_id"], unique=False)

    op.create_table(
        "handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("receiver_name", sa.String(length=200), nullable=True),
        sa.Column("core_temperature_c", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_handover_recorded_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(["stop_id"], ["stop.id"], name=op.f("fk_handover_stop_id_stop")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover")),
        sa.UniqueConstraint("stop_id", name=op.f("uq_handover_stop_id")),
    )
    op.create_table(
        "load",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("lot_reference", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("consignor_id", sa.Integer(), nullable=False),
        sa.Column("consignee", sa.String(length=200), nullable=False),
        sa.Column("label_max_c", sa.Float(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("pickup_stop_id", sa.Integer(), nullable=False),
        sa.Column("drop_stop_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consignor_id"], ["organisation.id"], name=op.f("fk_load_consignor_id_organisation")
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["delivery.id"], name=op.f("fk_load_delivery_id_delivery")
        ),
        sa.ForeignKeyConstraint(
            ["drop_stop_id"], ["stop.id"], name=op.f("fk_load_drop_stop_id_stop")
        ),
        sa.ForeignKeyConstraint(
            ["pickup_stop_id"], ["stop.id"], name=op.f("fk_load_pickup_stop_id_stop")
        ),
        sa.ForeignKeyConstraint(["zone_id"], ["zone.id"], name=op.f("fk_load_zone_id_zone")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load")),
    )
    with op.batch_alter_table("load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_load_consignor_id"), ["consignor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_load_delivery_id"), ["delivery_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_load_lot_reference"), ["lot_reference"], unique=False)

    op.create_table(
        "handover_zone_temperature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["handover_id"],
            ["handover.id"],
            name=op.f("fk_handover_zone_temperature_handover_id_handover"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zone.id"], name=op.f("fk_handover_zone_temperature_zone_id_zone")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_zone_temperature")),
        sa.UniqueConstraint(
            "handover_id", "zone_id", name=op.f("uq_handover_zone_temperature_handover_id_zone_id")
        ),
    )
    with op.batch_alter_table("handover_zone_temperature", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_zone_temperature_handover_id"), ["handover_id"], unique=False
        )

    op.create_table(
        "load_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["handover_id"], ["handover.id"], name=op.f("fk_load_decision_handover_id_handover")
        ),
        sa.ForeignKeyConstraint(
            ["load_id"], ["load.id"], name=op.f("fk_load_decision_load_id_load")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_load_decision")),
        sa.UniqueConstraint(
            "handover_id", "load_id", name=op.f("uq_load_decision_handover_id_load_id")
        ),
    )
    with op.batch_alter_table("load_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_load_decision_handover_id"), ["handover_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_load_decision_load_id"), ["load_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("load_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_decision_load_id"))
        batch_op.drop_index(batch_op.f("ix_load_decision_handover_id"))

    op.drop_table("load_decision")
    with op.batch_alter_table("handover_zone_temperature", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_zone_temperature_handover_id"))

    op.drop_table("handover_zone_temperature")
    with op.batch_alter_table("load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_load_lot_reference"))
        batch_op.drop_index(batch_op.f("ix_load_delivery_id"))
        batch_op.drop_index(batch_op.f("ix_load_consignor_id"))

    op.drop_table("load")
    op.drop_table("handover")
    with op.batch_alter_table("stop", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stop_delivery_id"))

    op.drop_table("stop")
    with op.batch_alter_table("installation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installation_zone_id"))
        batch_op.drop_index(batch_op.f("ix_installation_probe_id"))
        batch_op.drop_index(batch_op.f("ix_installation_cold_room_id"))

    op.drop_table("installation")
    with op.batch_alter_table("departure_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departure_check_delivery_id"))

    op.drop_table("departure_check")
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zone_van_id"))

    op.drop_table("zone")
    with op.batch_alter_table("van_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_van_pool_van_id"))
        batch_op.drop_index(batch_op.f("ix_van_pool_cooperative_id"))

    op.drop_table("van_pool")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_van_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_driver_id"))
        batch_op.drop_index(batch_op.f("ix_delivery_day"))
        batch_op.drop_index(batch_op.f("ix_delivery_cooperative_id"))

    op.drop_table("delivery")
    with op.batch_alter_table("cold_room_loan", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cold_room_loan_cooperative_id"))
        batch_op.drop_index(batch_op.f("ix_cold_room_loan_cold_room_id"))

    op.drop_table("cold_room_loan")
    with op.batch_alter_table("calibration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibration_probe_id"))

    op.drop_table("calibration")
    with op.batch_alter_table("van", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_van_owner_id"))

    op.drop_table("van")
    with op.batch_alter_table("probe", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_probe_owner_id"))

    op.drop_table("probe")
    with op.batch_alter_table("membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_membership_user_id"))
        batch_op.drop_index(batch_op.f("ix_membership_organisation_id"))

    op.drop_table("membership")
    with op.batch_alter_table("cooperative_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cooperative_member_producer_id"))
        batch_op.drop_index(batch_op.f("ix_cooperative_member_cooperative_id"))

    op.drop_table("cooperative_member")
    with op.batch_alter_table("cold_room", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cold_room_owner_id"))

    op.drop_table("cold_room")
    with op.batch_alter_table("access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_token_user_id"))

    op.drop_table("access_token")
    op.drop_table("user_account")
    op.drop_table("organisation")
    with op.batch_alter_table("failed_login", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_failed_login_email"))
        batch_op.drop_index(batch_op.f("ix_failed_login_client_ip"))
        batch_op.drop_index(batch_op.f("ix_failed_login_at"))

    op.drop_table("failed_login")
