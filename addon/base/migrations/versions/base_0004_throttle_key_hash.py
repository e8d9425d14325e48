"""base: the sign-in throttle keeps a SHA-256 of the e-mail address typed, not the address

Revision ID: base_0004
Revises: base_0003
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "base_0004"
down_revision = "base_0003"
branch_labels = None
depends_on = None

THROTTLE = sa.table("base_signin_throttle", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                    sa.column("key", sa.String))
PREFIX = "sha256:"  # addon/base/identity/throttle.py, account_key


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(THROTTLE.c.id, THROTTLE.c.key).where(
        THROTTLE.c.kind == "account", ~THROTTLE.c.key.startswith(PREFIX))).all()
    for row_id, key in rows:
        # Keys were stored normalised (trimmed, lower case): the count goes on under its hash.
        hashed = PREFIX + hashlib.sha256(key.strip().lower().encode("utf-8")).hexdigest()
        connection.execute(sa.update(THROTTLE).where(THROTTLE.c.id == row_id).values(key=hashed))


def downgrade() -> None:
    # A hash cannot be turned back into the address: the counts of e-mail addresses start afresh.
    op.get_bind().execute(sa.delete(THROTTLE).where(THROTTLE.c.kind == "account"))
