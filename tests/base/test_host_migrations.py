"""Migrations: they build exactly the tables the models describe, on SQLite and PostgreSQL."""

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import select, text

from addon.base.core.migrate import alembic_config, pending_model_changes, upgrade
from addon.booking.models import DEFAULT_STATUSES, BookingStatus

pytestmark = [pytest.mark.anyio, pytest.mark.all_databases]


async def applied_revisions(host) -> set[str]:
    async with host.database.engine.connect() as connection:
        return set((await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars())


async def test_models_match_the_migrations(host):
    changes = await pending_model_changes(host)
    assert changes == [], (
        "the models differ from the migrated database; add a migration to the addon's migrations/versions:\n"
        + "\n".join(map(str, changes))
    )


async def test_every_addon_head_is_applied(host):
    scripts = ScriptDirectory.from_config(alembic_config(host))
    assert {"base_0001", "booking_0001"} <= {script.revision for script in scripts.walk_revisions()}
    # alembic_version keeps only what no other applied revision depends on: walk back from it.
    reached = {script.revision for script in scripts.iterate_revisions(tuple(await applied_revisions(host)), "base")}
    assert set(scripts.get_heads()) <= reached
    assert reached == {script.revision for script in scripts.walk_revisions()}


async def test_upgrade_twice_is_harmless(host):
    before = await applied_revisions(host)
    await upgrade(host)
    await upgrade(host)
    assert await applied_revisions(host) == before
    assert await pending_model_changes(host) == []
    async with host.database.session() as session:
        assert len((await session.execute(select(BookingStatus))).scalars().all()) == 6


async def test_a_fresh_database_has_the_default_statuses(host):
    async with host.database.session() as session:
        rows = (await session.execute(select(BookingStatus).order_by(BookingStatus.sequence))).scalars().all()
    assert [(row.code, row.name) for row in rows] == DEFAULT_STATUSES
    assert [row.sequence for row in rows] == [10, 20, 30, 40, 50, 60]


async def test_migrating_from_nothing(tmp_path):
    """Not from the shared template: an empty file, as `ireserve db upgrade` sees it first."""
    from addon.base.core.host import load_host
    from tests.conftest import base_environ

    host = load_host(environ=base_environ(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'new' / 'db.sqlite3'}"))
    try:
        await upgrade(host)
        assert await pending_model_changes(host) == []
        assert (tmp_path / "new" / "db.sqlite3").is_file(), "the folder of the database file is created"
    finally:
        await host.database.dispose()


async def test_the_throttle_keeps_counting_under_the_hash_of_each_address(tmp_path):
    """base_0004: the failed sign-ins counted per e-mail address go on under its SHA-256; the
    addresses themselves leave the table."""
    from addon.base.core.host import load_host
    from addon.base.identity.throttle import account_key
    from tests.conftest import base_environ

    host = load_host(environ=base_environ(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"))
    try:
        await upgrade(host, "base_0003")
        async with host.database.engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO base_signin_throttle (kind, key, failures, last_failure_at) VALUES "
                "('account', 'anna@example.com', 4, '2030-01-01 10:00:00'), "
                "('address', '203.0.113.9', 7, '2030-01-01 10:00:00')"))
        await upgrade(host)
        async with host.database.engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT kind, key, failures FROM base_signin_throttle ORDER BY kind"))).all()
        assert [tuple(r) for r in rows] == [("account", account_key("anna@example.com"), 4),
                                            ("address", "203.0.113.9", 7)]
    finally:
        await host.database.dispose()


async def test_a_fresh_database_has_the_default_transitions_and_names(host):
    from addon.booking.models import DEFAULT_TRANSITIONS, BookingStatusTransition

    async with host.database.session() as session:
        codes = dict((await session.execute(select(BookingStatus.id, BookingStatus.code))).all())
        pairs = (await session.execute(select(BookingStatusTransition.from_status_id,
                                              BookingStatusTransition.to_status_id))).all()
        names = {row.code: row.names for row in (await session.execute(select(BookingStatus))).scalars()}
    found = {code: set() for code in codes.values()}
    for source, target in pairs:
        found[codes[source]].add(codes[target])
    assert found == {code: set(nexts) for code, nexts in DEFAULT_TRANSITIONS.items()}
    assert names["cancelled"] == {"nl": "Geannuleerd", "de": "Storniert", "fr": "Annulée"}
