"""resivo: becomes a door-access backend

Integrations, mappings, grants and the call log move to door_access; the Authentication tab
stays, as resivo_credentials.

Revision ID: resivo_0003
Revises: resivo_0002
Depends on: door_access_0001
"""
import sqlalchemy as sa
from alembic import op

from addon.base.public import UTCDateTime

revision = "resivo_0003"
down_revision = "resivo_0002"
branch_labels = None
depends_on = "door_access_0001"

# Ids are kept, so that everything pointing at a row (API clients, bookmarks, logs) still does.
MOVES = [
    ("""INSERT INTO door_integration (id, name, backend, active, trigger_statuses, revoke_statuses,
            time_before_minutes, authorization_id_field, default_language, created_at, updated_at)
        SELECT id, name, 'resivo', active, trigger_statuses, revoke_statuses, time_before_minutes,
            authorization_id_field, default_language, created_at, updated_at
        FROM resivo_integration"""),
    ("""INSERT INTO resivo_credentials (integration_id, site_owner_id, client_id, client_secret_encrypted, site_id,
            target_mobile_app_id, base_url, updated_at)
        SELECT id, site_owner_id, client_id, client_secret_encrypted, site_id, target_mobile_app_id, base_url,
            updated_at
        FROM resivo_integration"""),
    ("""INSERT INTO door_mapping (id, integration_id, object_id, door_names, updated_at)
        SELECT id, integration_id, object_id, component_names, updated_at FROM resivo_door_mapping"""),
    # One vocabulary for what a booking asks for: the grant states' upper case.
    ("""INSERT INTO door_access_grant (id, booking_id, integration_id, desired, state, intent_version, generation,
            authorization_id, superseded_authorization_id, location_id, doors, valid_from, valid_to, locale,
            attempts, last_error, last_error_i18n, next_attempt_at, claimed_until, claimed_by,
            revoke_requested_by, revoke_requested_at, created_at, updated_at)
        SELECT id, booking_id, integration_id, UPPER(desired), state, intent_version, generation,
            authorization_id, superseded_authorization_id, site_id, doors, valid_from, valid_to, locale,
            attempts, last_error, last_error_i18n, next_attempt_at, claimed_until, claimed_by,
            revoke_requested_by, revoke_requested_at, created_at, updated_at
        FROM resivo_access_grant"""),
    ("""INSERT INTO door_call_log (id, integration_id, booking_id, at, operation, method, path, http_status,
            duration_ms, outcome, error)
        SELECT id, integration_id, booking_id, at, operation, method, path, http_status, duration_ms, outcome, error
        FROM resivo_call_log"""),
]
MOVED_TABLES = ("door_integration", "door_mapping", "door_access_grant", "door_call_log")


def upgrade() -> None:
    op.create_table(
        "resivo_credentials",
        sa.Column("integration_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("site_owner_id", sa.String(length=100), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("site_id", sa.String(length=100), nullable=True),
        sa.Column("target_mobile_app_id", sa.Integer(), nullable=True),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["integration_id"], ["door_integration.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("integration_id"),
    )
    for statement in MOVES:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        # Rows came with their ids: the id sequences continue after the highest one.
        for table in MOVED_TABLES:
            op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                       f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
    for table in ("resivo_call_log", "resivo_access_grant", "resivo_door_mapping", "resivo_integration"):
        op.drop_table(table)


def downgrade() -> None:
    raise NotImplementedError(
        "resivo_0003 moved the integrations into door_access and cannot be undone in place; restore the "
        "database backup taken before the upgrade (deactivating an integration is the rollback switch "
        "for door access itself)")
