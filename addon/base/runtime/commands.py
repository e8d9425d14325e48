"""The commands of ``ireserve`` that load the application (all but ``probe``, see cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from ..core.addons import AddonError
from ..core.crypto import SecretKeyMismatch
from ..core.errors import ValidationFailed
from ..core.events import commit
from ..core.host import Host, load_host
from ..core.logs import chosen_format, configure_logging
from ..core.migrate import SchemaBehind
from ..core.outage import cause_of, is_database_unavailable
from ..core.resources import data_path
from ..core.settings import Settings, SettingsError
from ..identity.cli import add_commands as add_identity_commands
from .backup import BackupRefused, backup_sqlite
from .secrets_cli import add_commands as add_secret_commands
from .waiting import DatabaseNeverAnswered, DatabaseRefused, wait_for_database

DEMO_FILE = data_path("fixtures", "demo.json")


def check_ready_to_run(host: Host) -> None:
    """Before serving or working: the database answers (waiting for it with backoff, up to
    IRESERVE_DB_STARTUP_WAIT), the schema is at this code's head and the addons' start-up checks
    pass (stored secrets decrypt); a message to act on instead of failing later."""
    from ..core.migrate import require_schema_at_head

    async def check() -> None:
        try:
            await wait_for_database(host)
            await require_schema_at_head(host)
            await host.preflight()
        finally:
            await host.database.dispose()

    asyncio.run(check())


# Exit status when the database could not be reached (a restart policy tries again later).
DATABASE_UNREACHABLE_STATUS = 3


def _serve(host: Host, args: argparse.Namespace) -> int:
    import dataclasses

    from ..server.graphql_ws import MAX_MESSAGE_BYTES
    from .serve import ServingAddress, run_server, serve_workers, server_config

    settings = host.settings
    bind_host, port = args.host or settings.host, args.port or settings.port
    if args.workers < 1:
        print("ireserve: --workers must be at least 1", file=sys.stderr)
        return 2
    if args.workers > 1 and host.database.is_sqlite:
        print("ireserve: SQLite has one writer, so it is served by one process: leave out --workers (or use "
              "--workers 1), or move to PostgreSQL (DATABASE_HOST …) to run several", file=sys.stderr)
        return 2
    for check in host.registry.serve_checks:  # what an addon cannot offer with several processes
        problem = check(host, args.workers)
        if problem:
            print(f"ireserve: {problem}", file=sys.stderr)
            return 2
    # The address served on is the one in force (the demo's sandbox address follows it), also for
    # the processes `--workers` starts, which read their settings from the environment.
    host.settings = dataclasses.replace(settings, host=bind_host, port=port)
    os.environ["IRESERVE_HOST"], os.environ["IRESERVE_PORT"] = bind_host, str(port)
    check_ready_to_run(host)
    # A subscribe message is small: never buffer megabytes (ws_max_size).
    if args.workers > 1:
        return serve_workers(args.workers, host=bind_host, port=port, log_level=settings.log_level,
                             log_format=chosen_format(settings.log_format), ws_max_size=MAX_MESSAGE_BYTES)
    from .web import create_app

    host.provide(ServingAddress(bind_host, port))
    config = server_config(create_app(host), host=bind_host, port=port, log_level=settings.log_level,
                           ws_max_size=MAX_MESSAGE_BYTES)
    return run_server(config)


def _db_upgrade(host: Host, args: argparse.Namespace) -> int:
    from ..core.migrate import upgrade

    async def run() -> None:
        try:
            await wait_for_database(host)
            await upgrade(host, args.revision)
        finally:
            await host.database.dispose()

    asyncio.run(run())
    print(f"database schema is up to date ({_safe_url(host.settings.database_url)})")
    return 0


def _db_backup(host: Host, args: argparse.Namespace) -> int:
    try:
        copied = backup_sqlite(host.settings.database_url, Path(args.path))
    except BackupRefused as refused:
        print(f"ireserve: {refused}", file=sys.stderr)
        return 2
    print(f"database copied to {copied.path} ({copied.size_bytes} bytes, {copied.pages} pages, checked)")
    return 0


async def seed(host: Host, data: dict) -> None:
    """Load demo data through every addon's seeder, in one transaction; safe to repeat."""
    async with host.database.session() as session:
        for seeder in host.registry.seeders:
            await seeder(host, session, data)
        await commit(session)


def _seed(host: Host, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        try:
            await seed(host, data)
        finally:
            await host.database.dispose()

    try:
        asyncio.run(run())
    except (KeyError, TypeError, AttributeError) as exc:
        # Nothing was stored: the seed runs in one transaction.
        print(f"{path} is not in the shape of fixtures/demo.json ({type(exc).__name__}: {exc}); nothing loaded",
              file=sys.stderr)
        return 2
    except ValidationFailed as exc:
        print(f"{path} holds data the application refuses ({exc}); nothing loaded", file=sys.stderr)
        return 2
    print(f"demo data loaded from {path}")
    return 0


def _schema(host: Host, args: argparse.Namespace) -> int:
    from ..server.schema import print_sdl

    sys.stdout.write(print_sdl(host))
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser(host: Host) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ireserve", description="Booking addons with door access.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the web server (GraphQL at /graphql)")
    serve.add_argument("--host", help="interface to listen on (default: IRESERVE_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: IRESERVE_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="web processes sharing the port (default 1); a supervisor restarts any that dies")
    serve.set_defaults(func=_serve)

    db = commands.add_parser("db", help="database schema commands")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_upgrade = db_commands.add_parser("upgrade", help="create or migrate the tables (alembic)")
    db_upgrade.add_argument("revision", nargs="?", default="heads", help="target revision (default: heads)")
    db_upgrade.set_defaults(func=_db_upgrade)
    db_backup = db_commands.add_parser(
        "backup", help="SQLite: write a consistent copy of the database to PATH, also while it is served "
                       "(SQLite's online backup); PostgreSQL: use pg_dump")
    db_backup.add_argument("path", metavar="PATH", help="the copy to write (a new file)")
    db_backup.set_defaults(func=_db_backup)

    seed_cmd = commands.add_parser("seed", help="load the demo data (idempotent)")
    seed_cmd.add_argument("--file", default=str(DEMO_FILE), help="demo data JSON (default: fixtures/demo.json)")
    seed_cmd.set_defaults(func=_seed)

    add_identity_commands(commands)  # ireserve user …, ireserve token …

    # Listed for --help; `ireserve probe` itself never gets here (cli.py answers it without the app).
    from .probe import add_arguments as add_probe_arguments

    probe = commands.add_parser("probe", help="health check: exit 0 when /healthz and /readyz answer 200")
    add_probe_arguments(probe)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(func=_schema)

    add_secret_commands(commands)  # ireserve secrets rotate
    for add_commands in host.registry.cli_commands:
        add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        settings = Settings.from_env()
        host = load_host(settings)
    except (SettingsError, AddonError) as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, chosen_format(settings.log_format))
    args = build_parser(host).parse_args(argv)
    try:
        return args.func(host, args)
    except (SettingsError, AddonError, SecretKeyMismatch, SchemaBehind, DatabaseRefused, ValueError) as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return 2
    except DatabaseNeverAnswered as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return DATABASE_UNREACHABLE_STATUS
    except Exception as exc:
        # Any other command that meets a database that is away: one line, not a traceback.
        if not is_database_unavailable(exc):
            raise
        print(f"ireserve: the database ({host.database.outage.where}) cannot be reached: {cause_of(exc)}",
              file=sys.stderr)
        return DATABASE_UNREACHABLE_STATUS

