"""Schema migrations with alembic: one revision branch per addon, ``upgrade heads`` applies all."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from .host import Host

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(host: Host) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    locations = [str(m.path / "migrations" / "versions") for m in host.addons if (m.path / "migrations" / "versions").is_dir()]
    config.set_main_option("version_locations", os.pathsep.join(locations))
    return config


async def upgrade(host: Host, revision: str = "heads") -> None:
    """Bring the database schema to ``revision`` (default: the newest of every addon)."""
    config = alembic_config(host)

    def run(connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with host.database.engine.begin() as connection:
        await connection.run_sync(run)


async def pending_model_changes(host: Host) -> list:
    """Differences between the models and the migrated database (empty when in sync)."""

    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with host.database.engine.connect() as connection:
        return await connection.run_sync(compare)
