"""door_access: the access workers' heartbeat (one row per worker: when it last went round)

Revision ID: door_access_0007
Revises: door_access_0006
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0007"
down_revision = "door_access_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "door_worker",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_round_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker_id"),
    )
    with op.batch_alter_table("door_worker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_door_worker_last_round_at"), ["last_round_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("door_worker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_door_worker_last_round_at"))
    op.drop_table("door_worker")
