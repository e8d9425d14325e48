"""resivo: last error as a translatable template

Revision ID: resivo_0002
Revises: resivo_0001
"""
import sqlalchemy as sa
from alembic import op

revision = 'resivo_0002'
down_revision = 'resivo_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('resivo_access_grant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_error_i18n', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('resivo_access_grant', schema=None) as batch_op:
        batch_op.drop_column('last_error_i18n')

