"""initial schema (written 2026-11-22)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.migrations.tables import create_table, drop_table

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_table(
        "failed_login",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        indexed=("at", "client_ip", "email"),
    )
    create_table(
        "organisation",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        unique=[("name",)],
    )
    create_table(
        "user_account",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        unique=[("email",)],
    )
    create_table(
        "access_token",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        references={"user_id": "user_account"},
        unique=[("token_hash",)],
        indexed=("user_id",),
    )
    create_table(
        "cold_room",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        references={"owner_id": "organisation"},
        indexed=("owner_id",),
    )
    create_table(
        "cooperative_member",
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("producer_id", sa.Integer(), nullable=False),
        references={"cooperative_id": "organisation", "producer_id": "organisation"},
        unique=[("cooperative_id", "producer_id")],
        indexed=("cooperative_id", "producer_id"),
    )
    create_table(
        "membership",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        references={"organisation_id": "organisation", "user_id": "user_account"},
        unique=[("user_id", "organisation_id", "role")],
        indexed=("organisation_id", "user_id"),
    )
    create_table(
        "probe",
        sa.Column("probe_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        references={"owner_id": "organisation"},
        unique=[("probe_id",)],
        indexed=("owner_id",),
    )
    create_table(
        "van",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plate", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        references={"owner_id": "organisation"},
        unique=[("plate",)],
        indexed=("owner_id",),
    )
    create_table(
        "calibration",
        sa.Column("probe_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("offset", sa.Float(), nullable=False),
        sa.Column("calibrated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reference_instrument", sa.String(length=200), nullable=False),
        sa.Column("performed_by", sa.String(length=200), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        references={"probe_id": "probe", "recorded_by_id": "user_account"},
        indexed=("probe_id",),
    )
    create_table(
        "cold_room_loan",
        sa.Column("cold_room_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        references={"cold_room_id": "cold_room", "cooperative_id": "organisation"},
        unique=[("cold_room_id", "cooperative_id")],
        indexed=("cold_room_id", "cooperative_id"),
    )
    create_table(
        "delivery",
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("driver_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        references={
            "closed_by_id": "user_account",
            "cooperative_id": "organisation",
            "driver_id": "user_account",
            "van_id": "van",
        },
        indexed=("cooperative_id", "day", "driver_id", "van_id"),
    )
    create_table(
        "van_pool",
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("cooperative_id", sa.Integer(), nullable=False),
        references={"cooperative_id": "organisation", "van_id": "van"},
        unique=[("van_id", "cooperative_id")],
        indexed=("cooperative_id", "van_id"),
    )
    create_table(
        "zone",
        sa.Column("van_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        references={"van_id": "van"},
        unique=[("van_id", "name")],
        indexed=("van_id",),
    )
    create_table(
        "departure_check",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("limit_c", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        references={"checked_by_id": "user_account", "delivery_id": "delivery", "zone_id": "zone"},
        unique=[("delivery_id", "zone_id")],
        indexed=("delivery_id",),
    )
    create_table(
        "installation",
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
        references={
            "cold_room_id": "cold_room",
            "created_by_id": "user_account",
            "probe_id": "probe",
            "zone_id": "zone",
        },
        indexed=("cold_room_id", "probe_id", "zone_id"),
    )
    create_table(
        "stop",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("place_kind", sa.String(length=20), nullable=False),
        sa.Column("cold_room_id", sa.Integer(), nullable=True),
        sa.Column("place_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actual_at", sa.DateTime(timezone=True), nullable=True),
        references={"cold_room_id": "cold_room", "delivery_id": "delivery"},
        unique=[("delivery_id", "sequence")],
        indexed=("delivery_id",),
    )
    create_table(
        "handover",
        sa.Column("stop_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("receiver_name", sa.String(length=200), nullable=True),
        sa.Column("core_temperature_c", sa.Float(), nullable=True),
        references={"recorded_by_id": "user_account", "stop_id": "stop"},
        unique=[("stop_id",)],
    )
    create_table(
        "load",
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
        references={
            "consignor_id": "organisation",
            "delivery_id": "delivery",
            "drop_stop_id": "stop",
            "pickup_stop_id": "stop",
            "zone_id": "zone",
        },
        indexed=("consignor_id", "delivery_id", "lot_reference"),
    )
    create_table(
        "handover_zone_temperature",
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("temperature_c", sa.Float(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        references={"handover_id": "handover", "zone_id": "zone"},
        unique=[("handover_id", "zone_id")],
        indexed=("handover_id",),
    )
    create_table(
        "load_decision",
        sa.Column("handover_id", sa.Integer(), nullable=False),
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        references={"handover_id": "handover", "load_id": "load"},
        unique=[("handover_id", "load_id")],
        indexed=("handover_id", "load_id"),
    )


def downgrade() -> None:
    drop_table("load_decision", "handover_id", "load_id")
    drop_table("handover_zone_temperature", "handover_id")
    drop_table("load", "consignor_id", "delivery_id", "lot_reference")
    drop_table("handover")
    drop_table("stop", "delivery_id")
    drop_table("installation", "cold_room_id", "probe_id", "zone_id")
    drop_table("departure_check", "delivery_id")
    drop_table("zone", "van_id")
    drop_table("van_pool", "cooperative_id", "van_id")
    drop_table("delivery", "cooperative_id", "day", "driver_id", "van_id")
    drop_table("cold_room_loan", "cold_room_id", "cooperative_id")
    drop_table("calibration", "probe_id")
    drop_table("van", "owner_id")
    drop_table("probe", "owner_id")
    drop_table("membership", "organisation_id", "user_id")
    drop_table("cooperative_member", "cooperative_id", "producer_id")
    drop_table("cold_room", "owner_id")
    drop_table("access_token", "user_id")
    drop_table("user_account")
    drop_table("organisation")
    drop_table("failed_login", "at", "client_ip", "email")
