"""The salto_ks alembic branch on SQLite and PostgreSQL: it adds its table to a database of the
other addons, can be taken back alone, and leaves the schema exactly as the models say."""

import uuid

import pytest
from alembic import command
from sqlalchemy import inspect

from addon.base.core.migrate import alembic_config
from addon.base.public import pending_model_changes, upgrade
from tests.conftest import _postgres_admin, run_aside

pytestmark = [pytest.mark.anyio, pytest.mark.all_databases]


@pytest.fixture
def database_url(request, tmp_path):
    """An empty database (not the shared migrated template)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = "salto_" + uuid.uuid4().hex[:12]
    run_aside(_postgres_admin, server, f'CREATE DATABASE "{name}"')
    yield server.url(database=name)
    run_aside(_postgres_admin, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def downgrade(host, revision: str) -> None:
    config = alembic_config(host)

    def run(connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with host.database.engine.begin() as connection:
        await connection.run_sync(run)


async def tables(host) -> set[str]:
    async with host.database.engine.connect() as connection:
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def columns(host) -> set[str]:
    async with host.database.engine.connect() as connection:
        return {c["name"] for c in await connection.run_sync(
            lambda sync: inspect(sync).get_columns("salto_ks_credentials"))}


async def test_the_branch_comes_and_goes_on_its_own(host):
    await upgrade(host)
    assert "salto_ks_credentials" in await tables(host)
    assert {"environment", "site_uid", "site_id", "username", "password_encrypted", "iq_id", "iq_pin_encrypted",
            "iq_secret_encrypted", "iq_activated_at"} <= await columns(host)
    await downgrade(host, "salto_ks@-1")  # its one revision
    left = await tables(host)
    assert "salto_ks_credentials" not in left and {"door_integration", "resivo_credentials"} <= left
    await upgrade(host)
    assert "salto_ks_credentials" in await tables(host)
    assert await pending_model_changes(host) == []
