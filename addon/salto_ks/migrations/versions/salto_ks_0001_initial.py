"""salto_ks: the Authentication tab and IQ OTP setup of Salto KS integrations

Revision ID: salto_ks_0001
Revises: door_access_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "salto_ks_0001"
down_revision = "door_access_0001"
branch_labels = ("salto_ks",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "salto_ks_credentials",
        sa.Column("integration_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("environment", sa.String(length=20), nullable=False),
        sa.Column("site_uid", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=100), nullable=True),
        sa.Column("site_name", sa.String(length=200), nullable=True),
        sa.Column("site_time_zone", sa.String(length=64), nullable=True),
        sa.Column("site_resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_encrypted", sa.Text(), nullable=False),
        sa.Column("iq_id", sa.String(length=64), nullable=True),
        sa.Column("iq_pin_encrypted", sa.Text(), nullable=True),
        sa.Column("iq_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("iq_pin_fetched_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("iq_activated_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("integration_id"),
    )


def downgrade() -> None:
    op.drop_table("salto_ks_credentials")
