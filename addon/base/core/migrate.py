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

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


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

    async with host.database.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by rebuilding it (batch mode): dropping the old table would
            # cascade to the rows that point at it. Foreign keys are off while migrating (they can
            # only be switched outside a transaction) and checked once it is done.
            await connection.run_sync(_sqlite_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(run)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
        finally:
            if sqlite:
                await connection.run_sync(_sqlite_foreign_keys, True)


def _sqlite_foreign_keys(connection, on: bool) -> None:
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


async def pending_model_changes(host: Host) -> list:
    """Differences between the models and the migrated database (empty when in sync)."""

    def compare(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with host.database.engine.connect() as connection:
        return await connection.run_sync(compare)


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs: ``ireserve db upgrade`` first."""


def _scripts(host: Host):
    """The migration scripts of the loaded addons, read once per process (they do not change)."""
    from alembic.script import ScriptDirectory

    class Scripts:
        def __init__(self) -> None:
            self.directory = ScriptDirectory.from_config(alembic_config(host))

    return host.service(Scripts, Scripts).directory


async def missing_revisions(host: Host) -> list[str]:
    """The newest revisions of this code (one per addon branch) the database has not reached."""
    from sqlalchemy import inspect, text

    script = _scripts(host)

    def current(connection) -> set[str]:
        if not inspect(connection).has_table("alembic_version"):
            return set()
        return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())

    async with host.database.engine.connect() as connection:
        applied = await connection.run_sync(current)
    reached: set[str] = set()
    for revision in applied:
        try:
            reached.update(r.revision for r in script.iterate_revisions(revision, "base"))
        except Exception:  # a revision this code does not know: a newer version migrated it
            return []
    return sorted(head for head in script.get_heads() if head not in reached)


async def require_schema_at_head(host: Host) -> None:
    """Refuse to serve or work on a database behind the code (a message to act on, no traceback)."""
    missing = await missing_revisions(host)
    if missing:
        raise SchemaBehind(
            f"the database schema is behind this version ({len(missing)} migration(s) missing: {', '.join(missing)}); "
            "run 'ireserve db upgrade' first")
