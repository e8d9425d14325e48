"""base: API tokens

Revision ID: base_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.core.db import UTCDateTime

revision = "base_0001"
down_revision = None
branch_labels = ("base",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "base_api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_base_api_token_name", "base_api_token", ["name"])


def downgrade() -> None:
    op.drop_table("base_api_token")
