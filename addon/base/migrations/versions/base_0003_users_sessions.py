"""base: users, browser sessions, sign-in throttling; API tokens get an owner, expiry and last use

Revision ID: base_0003
Revises: base_0002
"""
import sqlalchemy as sa
from alembic import op

from addon.base.core.db import UTCDateTime

revision = "base_0003"
down_revision = "base_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "base_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_signin_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "base_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["base_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_base_session_user_id", "base_session", ["user_id"])
    op.create_table(
        "base_signin_throttle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("key", sa.String(length=254), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_base_signin_throttle_kind_key"),
    )
    op.create_index("ix_base_signin_throttle_last_failure_at", "base_signin_throttle", ["last_failure_at"])

    with op.batch_alter_table("base_api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("owner_app", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("expires_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch_op.create_foreign_key("fk_base_api_token_owner_user_id", "base_user", ["owner_user_id"], ["id"])
        batch_op.create_index("ix_base_api_token_owner_user_id", ["owner_user_id"])
    # Tokens made before owners existed belong to the app they were named after.
    op.execute("UPDATE base_api_token SET owner_app = name WHERE owner_user_id IS NULL AND owner_app IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("base_api_token", schema=None) as batch_op:
        batch_op.drop_index("ix_base_api_token_owner_user_id")
        batch_op.drop_constraint("fk_base_api_token_owner_user_id", type_="foreignkey")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("owner_app")
        batch_op.drop_column("owner_user_id")
    op.drop_table("base_signin_throttle")
    op.drop_table("base_session")
    op.drop_table("base_user")
