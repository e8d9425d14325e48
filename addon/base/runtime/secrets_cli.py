"""``ireserve secrets rotate``: re-encrypt every stored secret with the newest key.

Addons declare the columns that hold SecretBox ciphertexts in ``host.registry.secret_columns``;
this module knows nothing of what they are. The command runs without the server (and while the
server refuses to start because a secret does not decrypt)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from dataclasses import dataclass

from sqlalchemy import inspect, select

from ..core.crypto import SecretKeyMismatch, secret_box
from ..core.events import commit, rollback
from ..core.host import Host
from ..identity import audit


def cli_actor() -> audit.Actor:
    """Who acts in a command: the operating-system user running it."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment nor the password database
        name = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return audit.Actor("cli", name)


@dataclass(frozen=True)
class StoredSecret:
    """Where a secret is stored: table, row and column (never its value)."""

    table: str
    row: str
    column: str

    def __str__(self) -> str:
        return f"{self.table} {self.row} ({self.column})"


class SecretsNotRotated(RuntimeError):
    """Some stored secrets open with none of the configured keys; nothing was changed."""

    def __init__(self, undecryptable: list[StoredSecret]) -> None:
        self.undecryptable = undecryptable
        listed = "; ".join(str(s) for s in undecryptable)
        super().__init__(
            f"{len(undecryptable)} stored secret(s) cannot be decrypted with any configured key: {listed}. "
            "Nothing was changed. Add the key they were encrypted with (after the newest one), or re-enter "
            "those secrets, then rotate again."
        )


def _where(row, column: str) -> StoredSecret:
    state = inspect(row)
    keys = [c.key for c in state.mapper.primary_key]
    identity = ", ".join(f"{k}={v}" for k, v in zip(keys, state.identity or (), strict=False))
    return StoredSecret(state.mapper.local_table.name, identity, column)


async def rotate_secrets(host: Host) -> int:
    """Re-encrypt every declared secret with the newest key, in one transaction, and record it;
    returns how many were re-encrypted. Raises :class:`SecretsNotRotated` (changing nothing) when
    any of them decrypts with no configured key."""
    box = secret_box(host)
    async with host.database.session() as session:
        rotated: list[tuple[object, str, str]] = []
        undecryptable: list[StoredSecret] = []
        for model, column in host.registry.secret_columns:
            # Locked (PostgreSQL; SQLite holds the write lock already): a secret saved meanwhile
            # must not be overwritten with the rotated old one.
            rows = (await session.execute(select(model).with_for_update())).scalars().all()
            for row in rows:
                ciphertext = getattr(row, column)
                if not ciphertext:
                    continue
                try:
                    rotated.append((row, column, box.rotate(ciphertext)))
                except SecretKeyMismatch:
                    undecryptable.append(_where(row, column))
        if undecryptable:
            await rollback(session)
            raise SecretsNotRotated(undecryptable)
        for row, column, ciphertext in rotated:
            setattr(row, column, ciphertext)
        await audit.record(session, "secrets.rotate", changes=audit.diff({}, {"count": len(rotated)}))
        await commit(session)
    return len(rotated)


def _rotate(host: Host, args: argparse.Namespace) -> int:
    async def run() -> int:
        try:
            with audit.acting_as(cli_actor()):
                return await rotate_secrets(host)
        finally:
            await host.database.dispose()

    try:
        count = asyncio.run(run())
    except SecretsNotRotated as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return 1
    keys = secret_box(host).key_count
    print(f"{count} stored secret(s) re-encrypted with the newest key.")
    if keys > 1:
        print(f"The {keys - 1} older key(s) are no longer needed: remove them from IRESERVE_SECRET_KEY or the "
              "key file.")
    return 0


def add_commands(commands) -> None:
    secrets = commands.add_parser("secrets", help="stored secrets (encrypted with IRESERVE_SECRET_KEY or the key file)")
    secrets_commands = secrets.add_subparsers(dest="secrets_command", required=True, metavar="COMMAND")
    rotate = secrets_commands.add_parser(
        "rotate", help="re-encrypt every stored secret with the newest key (the first one listed)")
    rotate.set_defaults(func=_rotate)
