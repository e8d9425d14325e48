"""Async engine and sessions; column types shared by every addon."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import DateTime, TypeDecorator

from .outage import DatabaseUnreachable, OutageLog
from .sqlite_driver import DRIVER as ONE_TRIP_DRIVER

log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as well as PostgreSQL.

    SQLite has no time-zone type, so values are stored as naive UTC there; a naive
    value coming from code is a programming error, not silently local time.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# Primary keys are INTEGER columns; a larger number cannot name a row (and PostgreSQL refuses
# to even compare it), so callers treat it as "no such row" instead of sending it.
MAX_ID = 2**31 - 1


def id_in_range(value: int) -> bool:
    return 1 <= value <= MAX_ID


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_sqlite(url_or_engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, AsyncEngine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


# How a transaction begins on SQLite, as the connection execution option SQLITE_BEGIN says:
# IMMEDIATE (the default) takes the write lock up front; DEFERRED reads from a snapshot and never
# waits for a writer (WAL). SQLite cannot upgrade a read transaction to a write one once another
# writer has committed (SQLITE_BUSY_SNAPSHOT, no waiting), so a session that may write must begin
# IMMEDIATE; only sessions that read (the GraphQL request's, see begin_write) begin DEFERRED.
SQLITE_BEGIN = "sqlite_begin"
IMMEDIATE = "IMMEDIATE"
DEFERRED = "DEFERRED"
# Seconds a SQLite connection waits for a lock before "database is locked".
SQLITE_BUSY_TIMEOUT = 30.0
# Seconds to open a connection to PostgreSQL before it counts as unreachable (asyncpg's default is 60).
CONNECT_TIMEOUT = 10.0


def create_engine(database_url: str, **kwargs) -> AsyncEngine:
    if is_sqlite(database_url):
        database = make_url(database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Waiting writers queue (busy timeout) instead of failing at once with "database is locked".
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, **kwargs.get("connect_args", {})}
    else:
        kwargs["connect_args"] = {"timeout": CONNECT_TIMEOUT, **kwargs.get("connect_args", {})}
        # A pooled connection that died with a server restart is replaced before use, so the
        # first request after an outage does not fail on it.
        kwargs.setdefault("pool_pre_ping", True)
    url = make_url(database_url)
    if url.drivername == "sqlite+aiosqlite":
        url = url.set(drivername=f"sqlite+{ONE_TRIP_DRIVER}")  # aiosqlite, one thread trip a statement
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "do_connect", _connect_or_unreachable)
    if is_sqlite(database_url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine, "before_cursor_execute", _refuse_writes_in_deferred)
    return engine


def _connect_or_unreachable(dialect, _record, cargs, cparams):
    """Open the connection; a network failure (refused, no such host, timed out) becomes
    :class:`DatabaseUnreachable`, so that it is told apart from any other OSError."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnreachable(str(exc) or type(exc).__name__) from exc


def database_address(url: str) -> str:
    """Where the database is, for log lines: host, port and name, or the file — never a password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database or ''}"


def _sqlite_begin(connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN, IMMEDIATE)
    if mode not in (IMMEDIATE, DEFERRED):
        raise ValueError(f"{SQLITE_BEGIN} must be {IMMEDIATE} or {DEFERRED}, not {mode!r}")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _refuse_writes_in_deferred(connection, _cursor, _statement, _parameters, context, _executemany) -> None:
    # A write in a read transaction fails at once with "database is locked" whenever another
    # writer committed since it began; refuse it always, so the mistake shows in every test run.
    if context is not None and (context.isinsert or context.isupdate or context.isdelete) \
            and connection.in_transaction() and connection.get_execution_options().get(SQLITE_BEGIN) == DEFERRED:
        raise RuntimeError("a write in a read-only (deferred) transaction; run it through "
                           "addon.base.mutations.run_in_transaction (or begin_write) instead")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # Deleted and overwritten content is zeroed instead of left in free space, so an erased value
    # does not live on in the file (per connection: every connection sets it).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def is_lock_timeout(error: BaseException | None) -> bool:
    """Whether ``error`` is SQLite giving up on a lock ("database is locked"): the database is
    busy, nothing is wrong with the request, and trying again later may well succeed."""
    original = getattr(error, "orig", error)  # SQLAlchemy wraps the driver's error
    if not isinstance(original, sqlite3.OperationalError):
        return False
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # extended codes too
    return "locked" in str(original)


async def begin_write(session: AsyncSession) -> None:
    """Begin the session's next transaction as a write transaction (on SQLite: BEGIN IMMEDIATE,
    waiting its turn for the write lock), ending the read transaction it may have open first.

    The read transaction is committed, not rolled back, so the objects it loaded stay usable
    (expire_on_commit=False); it must hold no unflushed changes (see :func:`release`)."""
    if not is_sqlite(session.bind):
        if session.in_transaction():
            await release(session)
        return
    for _ in range(3):
        if session.in_transaction():
            await release(session)
        connection = await session.connection(execution_options={SQLITE_BEGIN: IMMEDIATE})
        if connection.sync_connection.get_execution_options().get(SQLITE_BEGIN) == IMMEDIATE:
            return
        # A concurrent resolver of the same request began a read transaction in between.
    raise RuntimeError("could not begin a write transaction: the session keeps beginning read transactions")


async def release(session: AsyncSession) -> None:
    """End a read-only transaction before waiting on the network, keeping loaded objects.

    A commit (unlike a rollback) does not expire objects here (expire_on_commit=False). A read
    transaction holds a snapshot (on PostgreSQL, a connection), and in background sessions on
    SQLite the write lock too, so an idle one would keep others waiting.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release() called with unflushed changes; commit them deliberately")
    await session.commit()


# How long a checkpoint after an erasure waits for readers to move on to the newest snapshot.
CHECKPOINT_BUSY_MS = 5_000
CHECKPOINT_ATTEMPTS = 3


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, database_url: str, **engine_kwargs) -> None:
        self.url = database_url
        self.engine = create_engine(database_url, **engine_kwargs)
        # Outages of this database, told once each (core/outage.py); a new connection ends one.
        self.outage = OutageLog(database_address(database_url))
        event.listen(self.engine.sync_engine, "connect", lambda *_: self.outage.answered())
        # A Session class of this database's own, so that what listens to its sessions' events
        # (the host's token cache) hears this database's sessions only, not the whole process's.
        self.session_class: type[Session] = type("DatabaseSession", (Session,), {})
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession,
                                               sync_session_class=self.session_class)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @asynccontextmanager
    async def session(self, *, read_only: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose transactions take the write lock up front on SQLite (BEGIN IMMEDIATE),
        or, ``read_only``, read from a snapshot without waiting for writers (and refuse writes)."""
        options = {SQLITE_BEGIN: DEFERRED} if read_only and self.is_sqlite else {}
        async with self.sessionmaker(execution_options=options) as session:
            yield session

    async def drop_old_page_versions(self) -> bool:
        """After an erasure: leave no copy of the erased values in the database's files.

        On SQLite a change is written to the ``-wal`` file first; the page as it was stays in the
        WAL (and in the database file until the next checkpoint), so a file backup taken then would
        carry the erased values. A TRUNCATE checkpoint copies every change into the database file,
        where ``secure_delete`` zeroes what the change removed, and empties the WAL. It waits up to
        :data:`CHECKPOINT_BUSY_MS` for readers on an older snapshot, a few times; ``False`` (and a
        warning) when readers still held it, and the next erasure or checkpoint finishes the job.
        PostgreSQL needs nothing here: a dump never holds a row's old versions. Returns ``True``
        when nothing is left."""
        if not self.is_sqlite:
            return True
        for attempt in range(CHECKPOINT_ATTEMPTS):
            async with self.engine.connect() as connection:
                raw = await connection.get_raw_connection()
                cursor = await raw.driver_connection.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
                await cursor.close()
                cursor = await raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                busy, _frames, _copied = await cursor.fetchone()
                await cursor.close()
                cursor = await raw.driver_connection.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
                await cursor.close()
            if not busy:
                return True
            log.info("checkpoint after an erasure waited for readers (attempt %d)", attempt + 1)
        log.warning("the SQLite WAL could not be checkpointed after an erasure: readers held it; erased values may "
                    "remain in the -wal file until the next checkpoint")
        return False

    async def dispose(self) -> None:
        await self.engine.dispose()
