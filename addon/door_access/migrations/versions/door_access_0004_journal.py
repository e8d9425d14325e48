"""door_access: the journal of every access set asked for; what archiving chose for live access

Every set a grant knows of moves into ``door_access_set``: its live set (CURRENT), a replaced one
still to be revoked (LIVE), one revoked already (GONE) and every create whose answer never came
(SENDING, looked up by its reference at the next reconcile). The grant's columns that held part
of this (``superseded_authorization_id``, ``create_sent_generation``) go.

Revision ID: door_access_0004
Revises: door_access_0003
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "door_access_0004"
down_revision = "door_access_0003"
branch_labels = None
depends_on = None


def _reference(integration_id: int, booking_id: int, generation: int) -> str:
    # The external reference the engine has always sent (plan.external_reference), fixed here.
    return f"ireserve-i{integration_id}-b{booking_id}-g{generation}"


def upgrade() -> None:
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_live_access", sa.String(length=20), nullable=True))
    with op.batch_alter_table("door_sweep_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unresolved", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("door_sweep_run", schema=None) as batch_op:
        batch_op.alter_column("unresolved", server_default=None)
    op.create_table(
        "door_access_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=True),
        sa.Column("location_id", sa.String(length=100), nullable=True),
        sa.Column("set_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("sent_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer_by", UTCDateTime(timezone=True), nullable=True),
        sa.Column("observed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["grant_id"], ["door_access_grant.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("door_access_set", schema=None) as batch_op:
        batch_op.create_index("ix_door_access_set_grant_status", ["grant_id", "status"], unique=False)
        batch_op.create_index("ix_door_access_set_status", ["status"], unique=False)

    connection = op.get_bind()
    grants = connection.execute(sa.text(
        "SELECT id, booking_id, integration_id, state, generation, authorization_id, superseded_authorization_id, "
        "create_sent_generation, location_id, updated_at FROM door_access_grant ORDER BY id")).mappings().all()
    rows = []
    for grant in grants:
        known = dict(grant_id=grant["id"], location_id=grant["location_id"], created_at=grant["updated_at"],
                     sent_at=None, observed_at=grant["updated_at"], resolution=None)
        if grant["authorization_id"]:
            status = {"REVOKED": "GONE", "REVOKING": "LIVE"}.get(grant["state"], "CURRENT")
            rows.append(dict(known, reference=_reference(grant["integration_id"], grant["booking_id"],
                                                         grant["generation"]),
                             generation=grant["generation"], set_id=grant["authorization_id"], status=status,
                             resolution="REVOKED" if status == "GONE" else "CREATED"))
        if grant["superseded_authorization_id"]:
            rows.append(dict(known, reference=None, generation=None, set_id=grant["superseded_authorization_id"],
                             status="LIVE", resolution="CREATED"))  # it was the grant's set once
        sent = grant["create_sent_generation"]
        if sent is not None:
            # Every generation a lost answer may have made a set under (the engine used to look up this range).
            for generation in range(min(grant["generation"], sent), sent + 1):
                rows.append(dict(known, reference=_reference(grant["integration_id"], grant["booking_id"], generation),
                                 generation=generation, set_id=None, status="SENDING", sent_at=grant["updated_at"],
                                 observed_at=None))
    if rows:
        # Plain SQL: the time stamps go back as they were read (text on SQLite, values on PostgreSQL).
        connection.execute(sa.text(
            "INSERT INTO door_access_set (grant_id, reference, generation, location_id, set_id, status, resolution, "
            "sent_at, observed_at, created_at) VALUES (:grant_id, :reference, :generation, :location_id, :set_id, "
            ":status, :resolution, :sent_at, :observed_at, :created_at)"), rows)
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.drop_column("superseded_authorization_id")
        batch_op.drop_column("create_sent_generation")


def downgrade() -> None:
    with op.batch_alter_table("door_access_grant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("superseded_authorization_id", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("create_sent_generation", sa.Integer(), nullable=True))
    connection = op.get_bind()
    for grant_id, set_id in connection.execute(sa.text(
            "SELECT grant_id, MIN(set_id) FROM door_access_set WHERE status = 'LIVE' GROUP BY grant_id")).all():
        connection.execute(sa.text("UPDATE door_access_grant SET superseded_authorization_id = :s WHERE id = :g"),
                           {"s": set_id, "g": grant_id})
    for grant_id, generation in connection.execute(sa.text(
            "SELECT grant_id, MAX(generation) FROM door_access_set WHERE status = 'SENDING' GROUP BY grant_id")).all():
        connection.execute(sa.text("UPDATE door_access_grant SET create_sent_generation = :n WHERE id = :g"),
                           {"n": generation, "g": grant_id})
    op.drop_table("door_access_set")
    with op.batch_alter_table("door_sweep_run", schema=None) as batch_op:
        batch_op.drop_column("unresolved")
    with op.batch_alter_table("door_integration", schema=None) as batch_op:
        batch_op.drop_column("archived_live_access")
