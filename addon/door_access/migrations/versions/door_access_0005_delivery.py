"""door_access: what each access set was sent with — the recipients and the language

A guest's link is sent by the lock vendor to the recipients of the set, in its locale; both are
written on the journal record when the create is sent, so staff can see where a link went (and
an erasure scrubs them with the customer's other data). Sets made before have neither.

Revision ID: door_access_0005
Revises: door_access_0004
"""
import sqlalchemy as sa
from alembic import op

revision = "door_access_0005"
down_revision = "door_access_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("door_access_set", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipients", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("door_access_set", schema=None) as batch_op:
        batch_op.drop_column("locale")
        batch_op.drop_column("recipients")
