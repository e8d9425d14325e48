"""Command-line parts of the Salto KS addon: its sandbox on its own, and re-entering a password."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys


def _sandbox(host, args: argparse.Namespace) -> int:
    from .sandbox import run_sandbox

    run_sandbox(host=args.host, port=args.port)
    return 0


def read_password(stream) -> str:
    """The password from ``stream``: typed without echo at a terminal, else the first line piped in."""
    if stream.isatty():
        return getpass.getpass("Password (not shown): ")
    return stream.readline().rstrip("\r\n")


def _set_password(host, args: argparse.Namespace) -> int:
    """Re-enter one integration's password, encrypted with the newest key. Works without the
    server, and while it refuses to start because a stored password no longer decrypts."""
    from addon.base.public import acting_as
    from addon.base.public import ValidationFailed
    from addon.base.public import commit
    from addon.base.public import cli_actor

    from .credentials import CredentialChanges, set_credentials

    password = read_password(sys.stdin)
    if not password.strip():
        print("ireserve: no password given (pipe it in on stdin, or type it when asked)", file=sys.stderr)
        return 2

    async def run() -> None:
        try:
            async with host.database.session() as session:
                with acting_as(cli_actor()):  # the audit trail names the operating-system user
                    await set_credentials(host, session, args.integration, CredentialChanges(password=password))
                await commit(session)
        finally:
            await host.database.dispose()

    try:
        asyncio.run(run())
    except ValidationFailed as exc:
        print(f"ireserve: {exc}; nothing changed", file=sys.stderr)
        return 2
    print(f"The password of integration {args.integration} was replaced (encrypted with the newest key).")
    return 0


def add_commands(commands) -> None:
    sandbox = commands.add_parser(
        "salto-sandbox", help="run the Salto KS sandbox (a stand-in for the Salto KS API) on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8200)
    sandbox.set_defaults(func=_sandbox)

    salto = commands.add_parser("salto-ks", help="Salto KS integration commands")
    salto_commands = salto.add_subparsers(dest="salto_ks_command", required=True, metavar="COMMAND")
    set_password = salto_commands.add_parser(
        "set-password", help="re-enter an integration's Salto KS password, read from stdin (e.g. after losing the key)")
    set_password.add_argument("--integration", required=True, type=int, metavar="ID", help="the integration's id")
    set_password.set_defaults(func=_set_password)
