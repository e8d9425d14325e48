"""door_access: what a create may have left behind, warnings, verification and the drift sweep

Revision ID: door_access_0002
Revises: door_access_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0002"
down_revision = "door_access_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("create_sent_generation", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("warnings", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("verified_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.alter_column("warnings", server_default=None)
    op.create_table(
        "door_sweep_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("drifted", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("door_sweep_run", schema=None) as batch_op:
        batch_op.create_index("ix_door_sweep_run_integration_id_id", ["integration_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("door_sweep_run")
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.drop_column("verified_at")
        batch_op.drop_column("warnings")
        batch_op.drop_column("create_sent_generation")
