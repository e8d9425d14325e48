"""``ireserve db backup PATH``: a consistent copy of the embedded SQLite database, also while it is
served — with SQLite's online backup API, which copies one snapshot of the pages (a plain file
copy taken mid-write, or without its ``-wal`` file, can be inconsistent). PostgreSQL has pg_dump.

Nothing half-written is left under PATH: the copy is written beside it under a temporary name,
checked (``PRAGMA quick_check``), and only then given its name; an existing file is never
overwritten. The copy is readable by its owner only (it holds personal data).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from ..core.db import SQLITE_BUSY_TIMEOUT


class BackupRefused(Exception):
    """The backup cannot be made as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Backup:
    path: Path
    pages: int
    size_bytes: int


def backup_sqlite(database_url: str, target: Path) -> Backup:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            "the database is PostgreSQL: back it up with pg_dump (e.g. pg_dump -Fc -f ireserve.dump, and pg_restore "
            "to restore; see the README, Backups) — `ireserve db backup` copies the embedded SQLite database")
    source = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source.is_file():
        raise BackupRefused(f"there is no database file at {source} to back up")
    target = target.expanduser().absolute()
    if target.exists():
        raise BackupRefused(f"{target} exists already; choose a new name (a backup never overwrites a file)")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist")
    if target.resolve() == source.resolve():
        raise BackupRefused("the backup cannot be the database itself")

    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        source_connection = sqlite3.connect(source, timeout=SQLITE_BUSY_TIMEOUT)
        try:
            copy = sqlite3.connect(partial)
            try:
                os.chmod(partial, 0o600)
                # All pages in one step: one read snapshot (WAL: writers go on meanwhile).
                source_connection.backup(copy, pages=-1)
                # One self-contained file: no -wal beside it when it is opened or moved later.
                copy.execute("PRAGMA journal_mode=DELETE")
                verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
                pages = copy.execute("PRAGMA page_count").fetchone()[0]
            finally:
                copy.close()
        finally:
            source_connection.close()
        if verdict != "ok":
            raise BackupRefused(f"the copy did not pass SQLite's check ({verdict}); nothing was written to {target}")
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        # A link fails when the name was taken meanwhile: an existing file is never replaced.
        try:
            os.link(partial, target)
        except FileExistsError:
            raise BackupRefused(f"{target} appeared while the backup was made; nothing was overwritten") from None
    except sqlite3.Error as exc:
        raise BackupRefused(f"SQLite could not copy {source}: {exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return Backup(target, pages, target.stat().st_size)
