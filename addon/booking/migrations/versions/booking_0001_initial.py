"""booking: objects, customers, statuses, fields, bookings

Revision ID: booking_0001
Revises: base_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = 'booking_0001'
down_revision = 'base_0001'
branch_labels = ('booking',)
depends_on = None


def upgrade() -> None:
    op.create_table('booking_customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('booking_field',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('booking_object',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['booking_object.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    with op.batch_alter_table('booking_object', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_object_parent_id'), ['parent_id'], unique=False)

    op.create_table('booking_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('booking_booking',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=False),
    sa.Column('start_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('end_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['booking_customer.id'], ),
    sa.ForeignKeyConstraint(['object_id'], ['booking_object.id'], ),
    sa.ForeignKeyConstraint(['status_id'], ['booking_status.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('booking_booking', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_booking_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_booking_object_id'), ['object_id'], unique=False)
        batch_op.create_index('ix_booking_booking_start_id', ['start_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_booking_status_id'), ['status_id'], unique=False)

    op.create_table('booking_field_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('field_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['booking_id'], ['booking_booking.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['field_id'], ['booking_field.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id', 'field_id', name='uq_booking_field_value')
    )
    with op.batch_alter_table('booking_field_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_field_value_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_booking_field_value_field_id'), ['field_id'], unique=False)

    op.create_table('booking_status_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('from_status_id', sa.Integer(), nullable=True),
    sa.Column('to_status_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking_booking.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_status_id'], ['booking_status.id'], ),
    sa.ForeignKeyConstraint(['to_status_id'], ['booking_status.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('booking_status_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_status_history_booking_id'), ['booking_id'], unique=False)

    # A fresh database starts with a sensible status list; admins may add more.
    # (Spelled out here: a migration must not change when the models do.)
    defaults = [("option", "Option"), ("confirmed", "Confirmed"), ("paid", "Paid"),
                ("checked_in", "Checked in"), ("checked_out", "Checked out"), ("cancelled", "Cancelled")]
    status = sa.table("booking_status", sa.column("code"), sa.column("name"), sa.column("sequence"))
    op.bulk_insert(status, [{"code": c, "name": n, "sequence": (i + 1) * 10} for i, (c, n) in enumerate(defaults)])


def downgrade() -> None:
    with op.batch_alter_table('booking_status_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_status_history_booking_id'))

    op.drop_table('booking_status_history')
    with op.batch_alter_table('booking_field_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_field_value_field_id'))
        batch_op.drop_index(batch_op.f('ix_booking_field_value_booking_id'))

    op.drop_table('booking_field_value')
    with op.batch_alter_table('booking_booking', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_booking_status_id'))
        batch_op.drop_index('ix_booking_booking_start_id')
        batch_op.drop_index(batch_op.f('ix_booking_booking_object_id'))
        batch_op.drop_index(batch_op.f('ix_booking_booking_customer_id'))

    op.drop_table('booking_booking')
    op.drop_table('booking_status')
    with op.batch_alter_table('booking_object', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_object_parent_id'))

    op.drop_table('booking_object')
    op.drop_table('booking_field')
    op.drop_table('booking_customer')
