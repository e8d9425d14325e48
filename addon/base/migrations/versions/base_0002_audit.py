"""base: audit trail

Revision ID: base_0002
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.core.db import UTCDateTime

revision = "base_0002"
down_revision = "base_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "base_audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("base_audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_base_audit_event_at"), ["at"], unique=False)
        batch_op.create_index("ix_base_audit_event_target", ["target_type", "target_id"], unique=False)
        batch_op.create_index("ix_base_audit_event_action_id", ["action", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("base_audit_event")
