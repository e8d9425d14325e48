"""door_access: locks that open on request — the integration's access model, open-action field and
check-in status; the guest open links and every request to open a lock

Revision ID: door_access_0006
Revises: door_access_0005
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0006"
down_revision = "door_access_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_model", sa.String(length=20), nullable=False,
                                      server_default="ISSUES_CREDENTIAL"))
        batch_op.add_column(sa.Column("open_action_field", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("checkin_status", sa.String(length=64), nullable=True))
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.alter_column("access_model", server_default=None)
    op.create_table(
        "door_guest_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("door_names", sa.JSON(), nullable=False),
        sa.Column("valid_from", UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", UTCDateTime(timezone=True), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=True),
        sa.Column("sent_to", sa.JSON(), nullable=False),
        sa.Column("delivery", sa.String(length=10), nullable=False),
        sa.Column("delivery_error_i18n", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking_booking.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("door_guest_link", schema=None) as batch_op:
        batch_op.create_index("ix_door_guest_link_reference", ["reference"], unique=False)
        batch_op.create_index(batch_op.f("ix_door_guest_link_booking_id"), ["booking_id"], unique=False)
    op.create_table(
        "door_opening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=True),
        sa.Column("door_name", sa.String(length=200), nullable=False),
        sa.Column("lock_id", sa.String(length=100), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("requested_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("refusal", sa.String(length=30), nullable=True),
        sa.Column("error_i18n", sa.JSON(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in", sa.Boolean(), nullable=False),
        sa.Column("checkin_error_i18n", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["grant_id"], ["door_access_grant.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["link_id"], ["door_guest_link.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reference"),
    )
    with op.batch_alter_table("door_opening", schema=None) as batch_op:
        batch_op.create_index("ix_door_opening_grant_id_id", ["grant_id", "id"], unique=False)
        batch_op.create_index("ix_door_opening_result", ["result"], unique=False)


def downgrade() -> None:
    op.drop_table("door_opening")
    op.drop_table("door_guest_link")
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.drop_column("checkin_status")
        batch_op.drop_column("open_action_field")
        batch_op.drop_column("access_model")
