"""Command-line parts of the Resivo addon."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys


def _sandbox(host, args: argparse.Namespace) -> int:
    from .sandbox import run_sandbox

    run_sandbox(host=args.host, port=args.port)
    return 0


def read_secret(stream) -> str:
    """The secret from ``stream``: typed without echo at a terminal, else everything piped in."""
    if stream.isatty():
        return getpass.getpass("Client secret (not shown): ")
    return stream.read()


def _set_secret(host, args: argparse.Namespace) -> int:
    """Re-enter one integration's client secret, encrypted with the newest key. Works without the
    server, and while it refuses to start because a stored secret no longer decrypts."""
    from addon.base.public import ValidationFailed, acting_as, cli_actor, commit

    from .credentials import CredentialChanges, set_credentials

    secret = read_secret(sys.stdin).strip()
    if not secret:
        print("ireserve: no client secret given (pipe it in on stdin, or type it when asked)", file=sys.stderr)
        return 2

    async def run() -> None:
        try:
            async with host.database.session() as session:
                with acting_as(cli_actor()):  # the audit trail names the operating-system user
                    await set_credentials(host, session, args.integration, CredentialChanges(client_secret=secret))
                await commit(session)
        finally:
            await host.database.dispose()

    try:
        asyncio.run(run())
    except ValidationFailed as exc:
        print(f"ireserve: {exc}; nothing changed", file=sys.stderr)
        return 2
    print(f"The client secret of integration {args.integration} was replaced (encrypted with the newest key).")
    return 0


def add_commands(commands) -> None:
    sandbox = commands.add_parser("sandbox", help="run the Resivo sandbox (a stand-in for the Resivo API) on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100)
    sandbox.set_defaults(func=_sandbox)

    resivo = commands.add_parser("resivo", help="Resivo integration commands")
    resivo_commands = resivo.add_subparsers(dest="resivo_command", required=True, metavar="COMMAND")
    set_secret = resivo_commands.add_parser(
        "set-secret", help="re-enter an integration's client secret, read from stdin (e.g. after losing the key)")
    set_secret.add_argument("--integration", required=True, type=int, metavar="ID", help="the integration's id")
    set_secret.set_defaults(func=_set_secret)
