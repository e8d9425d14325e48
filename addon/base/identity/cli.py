"""``ireserve user …`` and ``ireserve token …``: people and API tokens from the command line.

Passwords are read from a terminal prompt (getpass, asked twice) or, with ``--password-stdin``,
from the first line of standard input; never from an argument (it would show in the process
list and the shell history). Every change is recorded in the audit trail as done by ``cli:<login>``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from ..core.errors import ValidationFailed
from ..core.events import commit
from ..core.host import Host
from .audit import Actor, acting_as
from .models import User


class CommandFailed(Exception):
    """A message for the person at the terminal; the command exits with status 2."""


def _actor() -> Actor:
    try:
        login = getpass.getuser()
    except Exception:  # no login name in this environment (a container without one)
        login = "unknown"
    return Actor("cli", login)


def _run(host: Host, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """``work(session)`` in one transaction (committed when it returns), as the CLI's actor."""

    async def run() -> Any:
        try:
            with acting_as(_actor()):
                async with host.database.session() as session:
                    result = await work(session)
                    await commit(session)
                    return result
        finally:
            await host.database.dispose()

    return asyncio.run(run())


def _command(function):
    """Turn refusals into a message on stderr and exit status 2 (no traceback)."""

    def run(host: Host, args: argparse.Namespace) -> int:
        try:
            return function(host, args)
        except ValidationFailed as exc:
            for problem in exc.problems:
                print(f"ireserve: {problem.message}", file=sys.stderr)
            return 2
        except CommandFailed as exc:
            print(f"ireserve: {exc}", file=sys.stderr)
            return 2

    return run


def read_password(args: argparse.Namespace) -> str:
    """The new password: the first line of stdin (``--password-stdin``) or asked twice."""
    if args.password_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        return password[:-1] if password.endswith("\r") else password
    if not sys.stdin.isatty():
        raise CommandFailed("no terminal to ask for the password on; pipe it in with --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise CommandFailed("the two passwords differ; nothing was changed")
    return first


async def _user_by_email(session, email: str) -> User:
    from .users import find_by_email

    user = await find_by_email(session, email)
    if user is None:
        raise CommandFailed(f"there is no user with the e-mail address {email!r}")
    return user


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)


def sign_in_url(host: Host) -> str:
    from .signin import LOGIN_PATH

    name = host.settings.host
    name = "127.0.0.1" if name in ("0.0.0.0", "", "::") else name
    name = f"[{name}]" if ":" in name else name
    return f"http://{name}:{host.settings.port}{LOGIN_PATH}"


# -- users -----------------------------------------------------------------------------------------

@_command
def _user_create(host: Host, args: argparse.Namespace) -> int:
    from .users import create_user

    password = read_password(args)
    user = _run(host, lambda s: create_user(s, email=args.email, name=args.name, role=args.role, password=password))
    print(f"user {user.email} ({user.role}) created; sign in at {sign_in_url(host)}")
    return 0


@_command
def _user_list(host: Host, args: argparse.Namespace) -> int:
    from .users import list_users

    found = _run(host, list_users)
    if not found:
        print("no users yet; add one with: ireserve user create --email E --name N --role admin")
        return 0
    rows = [["ID", "E-MAIL", "NAME", "ROLE", "STATE", "LAST SIGN-IN"]]
    rows += [[str(u.id), u.email, u.name, u.role, "active" if u.active else "disabled", _when(u.last_signin_at)]
             for u in found]
    print(_table(rows))
    return 0


def _set_active(active: bool):
    @_command
    def run(host: Host, args: argparse.Namespace) -> int:
        from .users import set_active

        async def work(session):
            user = await _user_by_email(session, args.email)
            changed = user.active != active
            await set_active(session, user, active)
            return user, changed

        user, changed = _run(host, work)
        if not changed:
            print(f"{user.email} was already {'enabled' if active else 'disabled'}")
        elif active:
            print(f"{user.email} is enabled again")
        else:
            print(f"{user.email} is disabled: signed out everywhere, and their tokens no longer work")
        return 0

    return run


@_command
def _user_set_password(host: Host, args: argparse.Namespace) -> int:
    from .users import set_password

    password = read_password(args)

    async def work(session):
        return await set_password(session, await _user_by_email(session, args.email), password)

    user = _run(host, work)
    print(f"new password set for {user.email}; their sessions have ended")
    return 0


@_command
def _user_ensure_demo(host: Host, args: argparse.Namespace) -> int:
    from .users import ensure_demo_admin

    user, password = _run(host, ensure_demo_admin)
    url = sign_in_url(host)
    if password is not None:
        print(f"Demo admin created. Sign in at {url}\n"
              f"  e-mail:   {user.email}\n"
              f"  password: {password}\n"
              "The password is shown this once; only its hash is stored.")
    elif not user.active:
        print(f"The demo admin {user.email} is disabled. Enable it with:  ireserve user enable {user.email}")
    else:
        print(f"Sign in at {url} as {user.email} (its password was printed when it was created).\n"
              f"Forgot it? Set a new one with:  ireserve user set-password {user.email}")
    return 0


# -- tokens ----------------------------------------------------------------------------------------

@_command
def _token_create(host: Host, args: argparse.Namespace) -> int:
    from .tokens import issue_token, parse_expiry

    now = host.clock.now()
    try:
        expires_at = parse_expiry(args.expires, now) if args.expires else None
    except ValueError as exc:
        raise CommandFailed(str(exc)) from None

    async def work(session):
        owner = await _user_by_email(session, args.owner) if args.owner else None
        return await issue_token(session, name=args.name, role=args.role, now=now, owner=owner, owner_app=args.app,
                                 expires_at=expires_at, replace=args.replace)

    issued = _run(host, work)
    if args.quiet:
        print(issued.token)
        return 0
    print(f"New {args.role} token {issued.row.name!r} (id {issued.row.id}; shown once, only its hash is stored):\n\n"
          f"  {issued.token}\n")
    if expires_at is not None:
        print(f"It expires at {_when(expires_at)}.")
    print('In GraphiQL, open "Headers" and enter:  {"Authorization": "Bearer ' + issued.token + '"}')
    return 0


@_command
def _token_list(host: Host, args: argparse.Namespace) -> int:
    from .tokens import ACTIVE, list_tokens, owner_label, state

    now = host.clock.now()
    found = _run(host, lambda s: list_tokens(s, include_revoked=True))
    shown = [(row, owner) for row, owner in found if args.all or state(row, now) == ACTIVE]
    if not shown:
        print("no tokens in force" + ("" if args.all else " (--all lists revoked and expired ones too)"))
        return 0
    rows = [["ID", "NAME", "ROLE", "OWNER", "STATE", "CREATED", "EXPIRES", "LAST USED"]]
    rows += [[str(row.id), row.name, row.role, owner_label(row, owner), state(row, now), _when(row.created_at),
              _when(row.expires_at), _when(row.last_used_at)] for row, owner in shown]
    print(_table(rows))
    return 0


@_command
def _token_revoke(host: Host, args: argparse.Namespace) -> int:
    from .tokens import revoke_token

    try:
        token_id = int(args.id)
    except ValueError:
        raise CommandFailed(f"{args.id!r} is not a token id; see: ireserve token list") from None
    now = host.clock.now()
    row, changed = _run(host, lambda s: revoke_token(s, token_id, now))
    print(f"token {row.id} ({row.name}) {'revoked' if changed else 'was already revoked'}")
    return 0


def add_commands(commands) -> None:
    """The ``user`` and ``token`` commands on the ``ireserve`` parser."""
    user = commands.add_parser("user", help="people who sign in (admin console, GraphiQL)")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")

    def password_source(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--password-stdin", action="store_true",
                            help="read the password from the first line of standard input instead of asking")

    create = user_commands.add_parser("create", help="add a user (asks for the password)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True, help="the person's name, as the audit trail shows it")
    create.add_argument("--role", required=True, choices=["admin", "staff"])
    password_source(create)
    create.set_defaults(func=_user_create)

    listing = user_commands.add_parser("list", help="list the users")
    listing.set_defaults(func=_user_list)

    disable = user_commands.add_parser("disable", help="disable a user: signed out at once, their tokens stop working")
    disable.add_argument("email")
    disable.set_defaults(func=_set_active(False))

    enable = user_commands.add_parser("enable", help="enable a disabled user again")
    enable.add_argument("email")
    enable.set_defaults(func=_set_active(True))

    set_password = user_commands.add_parser("set-password", help="set a new password (ends the user's sessions)")
    set_password.add_argument("email")
    password_source(set_password)
    set_password.set_defaults(func=_user_set_password)

    demo = user_commands.add_parser("ensure-demo", help="create the demo admin once (make run) and say how to sign in")
    demo.set_defaults(func=_user_ensure_demo)

    token = commands.add_parser("token", help="API token commands")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="COMMAND")
    token_create = token_commands.add_parser("create", help="create an API token and print it once")
    token_create.add_argument("--role", required=True, choices=["admin", "staff", "frontend"])
    token_create.add_argument("--name", required=True, help="who or what uses the token")
    owner = token_create.add_mutually_exclusive_group()
    owner.add_argument("--owner", metavar="EMAIL",
                       help="the user it belongs to (it stops working when they are disabled)")
    owner.add_argument("--app", metavar="NAME", help="the app it belongs to (default: the token's name)")
    token_create.add_argument("--expires", metavar="WHEN",
                              help="e.g. 90d, 12h, 2w or a date (2030-12-31); default: never")
    token_create.add_argument("--replace", action="store_true", help="revoke earlier tokens of this name")
    token_create.add_argument("--quiet", action="store_true", help="print only the token")
    token_create.set_defaults(func=_token_create)

    token_list = token_commands.add_parser("list", help="list the tokens in force (never the tokens themselves)")
    token_list.add_argument("--all", action="store_true", help="revoked and expired tokens too")
    token_list.set_defaults(func=_token_list)

    token_revoke = token_commands.add_parser("revoke", help="revoke a token; it stops working at once")
    token_revoke.add_argument("id", help="the token's id (see: ireserve token list)")
    token_revoke.set_defaults(func=_token_revoke)
