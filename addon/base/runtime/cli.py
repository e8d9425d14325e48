"""The ``ireserve`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from ..core.addons import AddonError
from ..core.crypto import SecretKeyMismatch
from ..core.errors import ValidationFailed
from ..core.events import commit
from ..core.host import Host, load_host
from ..core.logs import chosen_format, configure_logging
from ..core.migrate import SchemaBehind
from ..core.resources import data_path
from ..core.settings import Settings, SettingsError
from ..identity.cli import add_commands as add_identity_commands
from .secrets_cli import add_commands as add_secret_commands

DEMO_FILE = data_path("fixtures", "demo.json")


def check_ready_to_run(host: Host) -> None:
    """Before serving or working: the schema is at this code's head and the addons' start-up
    checks pass (stored secrets decrypt); a message to act on instead of failing later."""
    from ..core.migrate import require_schema_at_head

    async def check() -> None:
        try:
            await require_schema_at_head(host)
            await host.preflight()
        finally:
            await host.database.dispose()

    asyncio.run(check())


def _serve(host: Host, args: argparse.Namespace) -> int:
    from ..server.graphql_ws import MAX_MESSAGE_BYTES
    from .serve import run_server, serve_workers, server_config

    settings = host.settings
    bind_host, port = args.host or settings.host, args.port or settings.port
    check_ready_to_run(host)
    # A subscribe message is small: never buffer megabytes (ws_max_size).
    if args.workers > 1:
        return serve_workers(args.workers, host=bind_host, port=port, log_level=settings.log_level,
                             log_format=chosen_format(settings.log_format), ws_max_size=MAX_MESSAGE_BYTES)
    from .web import create_app

    config = server_config(create_app(host), host=bind_host, port=port, log_level=settings.log_level,
                           ws_max_size=MAX_MESSAGE_BYTES)
    return run_server(config)


def _probe(host: Host, args: argparse.Namespace) -> int:
    """Exit 0 when every path answers 200 (container health checks: no curl in the image)."""
    import urllib.error
    import urllib.request

    for path in args.paths or ["/healthz", "/readyz"]:
        # A worker's container sets IRESERVE_HEALTH_PORT: that is where its process answers.
        port = args.port or host.settings.health_port or host.settings.port
        url = f"http://{args.host}:{port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=args.timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            print(f"{url}: {exc}", file=sys.stderr)
            return 1
        if status != 200:
            print(f"{url}: HTTP {status}", file=sys.stderr)
            return 1
    return 0


def _db_upgrade(host: Host, args: argparse.Namespace) -> int:
    from ..core.migrate import upgrade

    async def run() -> None:
        try:
            await upgrade(host, args.revision)
        finally:
            await host.database.dispose()

    asyncio.run(run())
    print(f"database schema is up to date ({_safe_url(host.settings.database_url)})")
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

    seed_cmd = commands.add_parser("seed", help="load the demo data (idempotent)")
    seed_cmd.add_argument("--file", default=str(DEMO_FILE), help="demo data JSON (default: fixtures/demo.json)")
    seed_cmd.set_defaults(func=_seed)

    add_identity_commands(commands)  # ireserve user …, ireserve token …

    probe = commands.add_parser("probe", help="health check: exit 0 when /healthz and /readyz answer 200")
    probe.add_argument("paths", nargs="*", metavar="PATH", help="paths to check (default: /healthz /readyz)")
    probe.add_argument("--host", default="127.0.0.1")
    probe.add_argument("--port", type=int, help="port (default: IRESERVE_HEALTH_PORT, else IRESERVE_PORT or 8000)")
    probe.add_argument("--timeout", type=float, default=5.0)
    probe.set_defaults(func=_probe)

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
    except (SettingsError, AddonError, SecretKeyMismatch, SchemaBehind, ValueError) as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
