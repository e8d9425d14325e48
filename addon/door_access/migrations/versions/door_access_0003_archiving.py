"""door_access: archived integrations

Revision ID: door_access_0003
Revises: door_access_0002
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0003"
down_revision = "door_access_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
