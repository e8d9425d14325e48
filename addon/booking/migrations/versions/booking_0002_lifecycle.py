"""booking: allowed status transitions, display names per language, archiving, erasure marks

Revision ID: booking_0002
Revises: booking_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "booking_0002"
down_revision = "booking_0001"
branch_labels = None
depends_on = None

# Spelled out here, not imported: a migration must not change when the models do.
DEFAULT_TRANSITIONS = {
    "option": ("confirmed", "cancelled"),
    "confirmed": ("paid", "checked_in", "cancelled"),
    "paid": ("checked_in", "cancelled"),
    "checked_in": ("checked_out",),
    "checked_out": (),
    "cancelled": ("option",),
}
DEFAULT_NAMES = {
    "option": {"nl": "Optie", "de": "Option", "fr": "Option"},
    "confirmed": {"nl": "Bevestigd", "de": "Bestätigt", "fr": "Confirmée"},
    "paid": {"nl": "Betaald", "de": "Bezahlt", "fr": "Payée"},
    "checked_in": {"nl": "Ingecheckt", "de": "Eingecheckt", "fr": "Arrivée"},
    "checked_out": {"nl": "Uitgecheckt", "de": "Ausgecheckt", "fr": "Départ"},
    "cancelled": {"nl": "Geannuleerd", "de": "Storniert", "fr": "Annulée"},
}


def upgrade() -> None:
    # Only columns are added (no table is rebuilt): on SQLite a rebuild of a table other tables
    # point to fails on its foreign keys once it has rows. The server defaults stay for that reason.
    for table in ("booking_object", "booking_field"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("archived_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("booking_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("names", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("booking_customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("booking_status_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("forced", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "booking_status_transition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("from_status_id", sa.Integer(), nullable=False),
        sa.Column("to_status_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["from_status_id"], ["booking_status.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["to_status_id"], ["booking_status.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("from_status_id", "to_status_id", name="uq_booking_status_transition"),
    )
    with op.batch_alter_table("booking_status_transition", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_booking_status_transition_from_status_id"), ["from_status_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_booking_status_transition_to_status_id"), ["to_status_id"], unique=False)

    # The defaults apply to the default statuses that exist (an admin may have renamed codes or
    # added statuses before: those get no transitions and stay reachable only by a forced move
    # until an admin lists them).
    connection = op.get_bind()
    status = sa.table("booking_status", sa.column("id", sa.Integer), sa.column("code", sa.String),
                      sa.column("names", sa.JSON))
    ids = dict(connection.execute(sa.select(status.c.code, status.c.id)).all())
    for code, names in DEFAULT_NAMES.items():
        if code in ids:
            connection.execute(status.update().where(status.c.id == ids[code]).values(names=names))
    transition = sa.table("booking_status_transition", sa.column("from_status_id", sa.Integer),
                          sa.column("to_status_id", sa.Integer))
    rows = [{"from_status_id": ids[a], "to_status_id": ids[b]}
            for a, nexts in DEFAULT_TRANSITIONS.items() for b in nexts if a in ids and b in ids]
    if rows:
        op.bulk_insert(transition, rows)


def downgrade() -> None:
    op.drop_table("booking_status_transition")
    with op.batch_alter_table("booking_status_history", schema=None) as batch_op:
        batch_op.drop_column("forced")
    with op.batch_alter_table("booking_customer", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("booking_status", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
        batch_op.drop_column("names")
    for table in ("booking_object", "booking_field"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("archived_at")
