"""Async engine and sessions; column types shared by every addon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.types import DateTime, TypeDecorator


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


def create_engine(database_url: str, **kwargs) -> AsyncEngine:
    if is_sqlite(database_url):
        database = make_url(database_url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        # Waiting writers queue instead of failing at once with "database is locked".
        kwargs.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(database_url, **kwargs)
    if is_sqlite(database_url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def _sqlite_begin_immediate(connection) -> None:
    # SQLite cannot upgrade a read transaction to a write one once another writer has
    # committed (SQLITE_BUSY_SNAPSHOT, no waiting). Taking the write lock up front makes
    # concurrent writers queue on busy_timeout instead, and makes batch claims safe.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


async def release(session: AsyncSession) -> None:
    """End a read-only transaction before waiting on the network, keeping loaded objects.

    A commit (unlike a rollback) does not expire objects here (expire_on_commit=False), and
    on SQLite every transaction holds the write lock, so an idle one would block others.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("release() called with unflushed changes; commit them deliberately")
    await session.commit()


class Database:
    """The engine and a session factory; one per process."""

    def __init__(self, database_url: str, **engine_kwargs) -> None:
        self.url = database_url
        self.engine = create_engine(database_url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessionmaker() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
