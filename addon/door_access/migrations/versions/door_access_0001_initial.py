"""door_access: integrations, door mappings, access grants, call log

Revision ID: door_access_0001
Revises: booking_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0001"
down_revision = "booking_0001"
branch_labels = ("door_access",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "door_integration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("backend", sa.String(length=40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trigger_statuses", sa.JSON(), nullable=False),
        sa.Column("revoke_statuses", sa.JSON(), nullable=False),
        sa.Column("time_before_minutes", sa.Integer(), nullable=False),
        sa.Column("authorization_id_field", sa.String(length=64), nullable=True),
        sa.Column("default_language", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "door_mapping",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("door_names", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["object_id"], ["booking_object.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("integration_id", "object_id", name="uq_door_mapping"),
    )
    with op.batch_alter_table("door_mapping", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_door_mapping_integration_id"), ["integration_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_door_mapping_object_id"), ["object_id"], unique=False)

    op.create_table(
        "door_access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("desired", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("intent_version", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.String(length=100), nullable=True),
        sa.Column("superseded_authorization_id", sa.String(length=100), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("doors", sa.JSON(), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_to", UTCDateTime(timezone=True), nullable=True),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_i18n", sa.JSON(), nullable=True),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("revoke_requested_by", sa.String(length=100), nullable=True),
        sa.Column("revoke_requested_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking_booking.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("booking_id", "integration_id", name="uq_door_access_grant"),
    )
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_door_access_grant_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index("ix_door_access_grant_due", ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_door_access_grant_integration_id"), ["integration_id"], unique=False)

    op.create_table(
        "door_call_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("operation", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking_booking.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("door_call_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_door_call_log_booking_id"), ["booking_id"], unique=False)
        batch_op.create_index("ix_door_call_log_integration_id_id", ["integration_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("door_call_log")
    op.drop_table("door_access_grant")
    op.drop_table("door_mapping")
    op.drop_table("door_integration")
