"""SQLite through aiosqlite, one trip to the connection's thread per statement.

aiosqlite runs each sqlite3 call in a thread of its own connection, and SQLAlchemy's adapter makes
one call per step of a statement: open a cursor, execute, fetch the rows, close the cursor — four
trips through a queue, a thread wake-up and the event loop's self-pipe, where SQLite itself takes a
few microseconds. On a status change's ~30 statements those trips were a third of the server's
CPU. This cursor does the four steps in one call in the thread and hands back the description,
counts and rows together; everything else (the connection, transactions, pooling, errors) is
SQLAlchemy's own aiosqlite dialect, unchanged.

The engine uses it for ``sqlite+aiosqlite`` URLs (see ``db.create_engine``); it relies on
aiosqlite's ``Connection._execute`` (run a function in the connection's thread), pinned by the lock
file and covered by tests/base/test_sqlite_driver.py.
"""

from __future__ import annotations

import collections
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "ireserve_aiosqlite"


def _execute(connection, operation: str, parameters) -> tuple:
    """In aiosqlite's thread: the whole statement, rows included."""
    cursor = connection.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _executemany(connection, operation: str, seq_of_parameters) -> tuple:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one trip to the connection's thread."""

    __slots__ = ("_description", "_rowcount", "_lastrowid", "_arraysize")

    def __init__(self, adapt_connection) -> None:  # no trip to open a cursor: none is kept
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None
        self._soft_closed_memoized = {}
        self._rows = collections.deque()
        self._description = None
        self._rowcount = -1
        self._lastrowid = None
        self._arraysize = 1

    @property
    def description(self):
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self):
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:
        return None  # nothing open: the rows are already here

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            self._description, self._rowcount, self._lastrowid, rows = await connection._execute(
                _execute, connection._conn, operation, parameters)
        self._rows = collections.deque(rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        connection = self._connection
        async with self._adapt_connection._execute_mutex:
            self._rowcount, self._lastrowid = await connection._execute(
                _executemany, connection._conn, operation, list(seq_of_parameters))
        self._description = None
        self._rows = collections.deque()


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


class OneTripDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True  # it compiles exactly as its parent does

    @classmethod
    def import_dbapi(cls) -> OneTripDBAPI:
        base = SQLiteDialect_aiosqlite.import_dbapi()
        return OneTripDBAPI(base.aiosqlite, base.sqlite)


registry.register(f"sqlite.{DRIVER}", __name__, "OneTripDialect")
