"""When the database cannot be reached: which errors say so, and one log line per outage.

A database restart, a failover or a dropped network shows up as a burst of errors in every request
and background loop at once. Those are not bugs: callers are answered "try again" (HTTP 503,
``DATABASE_UNAVAILABLE``), and the process says once, at ERROR, that the database is away and why
(:class:`OutageLog`), then once that it is back — instead of a traceback per request.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time

from sqlalchemy.exc import DBAPIError

log = logging.getLogger("addon.base.database")

# SQLSTATEs of a server that is away or will not take a connection now: class 08 (connection
# exceptions), 57P01-57P03 (shut down by an administrator, after a crash, or not accepting
# connections while starting or stopping), 53300 (too many connections).
_UNAVAILABLE_STATES = ("57P01", "57P02", "57P03", "53300")
# SQLite: the file cannot be opened, read or written (a missing mount, a full or failing disk).
_SQLITE_UNAVAILABLE = (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL)
# After the database came back, failures of requests that held a connection from before are the
# same outage's tail, not a new one.
SETTLE_SECONDS = 10.0


class DatabaseUnreachable(ConnectionError):
    """No connection to the database could be opened (refused, unresolvable, timed out); raised
    in place of the bare network error so that it is told apart from any other."""


def is_database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what it was raised from) says the database is away, so that the same
    request may well succeed shortly: not a bug, not the caller's mistake."""
    for _ in range(6):  # the explicit chain (``raise … from``) only: never an error met while handling one
        if error is None:
            return False
        if isinstance(error, DatabaseUnreachable):
            return True
        if isinstance(error, DBAPIError):
            if error.connection_invalidated:  # SQLAlchemy saw the connection die
                return True
            if _driver_says_unavailable(error.orig):
                return True
        elif _driver_says_unavailable(error):
            return True
        error = error.__cause__
    return False


def _driver_says_unavailable(error: BaseException | None) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        code = getattr(error, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in _SQLITE_UNAVAILABLE
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return isinstance(state, str) and (state.startswith("08") or state in _UNAVAILABLE_STATES)


def cause_of(error: BaseException) -> str:
    """A short account of why: the driver's (or the network's) own error, first line — no SQL,
    no parameters."""
    for _ in range(6):  # down the explicit chain to the database's error (past our coded ones)
        if isinstance(error, (DatabaseUnreachable, DBAPIError)) or error.__cause__ is None:
            break
        error = error.__cause__
    if isinstance(error, DatabaseUnreachable) and error.__cause__ is not None:
        error = error.__cause__  # the network's own error (refused, no such host, timed out)
    elif isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
        # SQLAlchemy's adapter of an asyncio driver wraps the driver's exception: name that one.
        if type(error).__module__.startswith("sqlalchemy") and error.__cause__ is not None:
            error = error.__cause__
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}"[:300] if lines else type(error).__name__


class OutageLog:
    """One database's outages in this process: the first failure of an episode is logged at
    ERROR with its cause, later ones are only counted, and the first new connection ends the
    episode with one line saying how long it lasted and how many failures it caused."""

    def __init__(self, where: str) -> None:
        self.where = where  # host, port and database (never a password)
        self._lock = threading.Lock()  # requests, the worker and pool events may report at once
        self._since: float | None = None  # monotonic start of the open episode
        self._back_at: float | None = None  # when the open episode's database answered again
        self.failures = 0
        self.episodes = 0

    @property
    def open(self) -> bool:
        return self._since is not None and self._back_at is None

    def failed(self, error: BaseException, *, during: str) -> None:
        """A failure because the database is away, met ``during`` a request, a worker round …"""
        now = time.monotonic()
        with self._lock:
            settled = self._back_at is not None and now - self._back_at > SETTLE_SECONDS
            if self._since is None or settled:
                self._since, self._back_at, self.failures = now, None, 0
                self.episodes += 1
                first = True
            else:
                first = False
            self.failures += 1
        if first:
            cause = cause_of(error)
            log.error("database unavailable (%s): %s; answering DATABASE_UNAVAILABLE until it is back",
                      self.where, cause, extra={"cause": cause, "database": self.where, "during": during})

    def answered(self) -> None:
        """A new connection was opened: an open episode ends here."""
        if self._since is None or self._back_at is not None:
            return
        now = time.monotonic()
        with self._lock:
            if self._since is None or self._back_at is not None:
                return
            self._back_at = now
            seconds, failures = now - self._since, self.failures
        log.warning("database available again (%s) after %.1f s; %d failure(s) meanwhile", self.where, seconds, failures,
                    extra={"database": self.where, "outage_seconds": round(seconds, 1), "failures": failures})


class QuietOutageTracebacks(logging.Filter):
    """Log records that carry a database-unavailable error (a reconcile, a sweep or a callback
    that met the outage) lose their traceback and drop to DEBUG: the outage itself is told once,
    by :class:`OutageLog`. Other records pass as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        if not exc_info or not isinstance(exc_info, tuple) or not is_database_unavailable(exc_info[1]):
            return True
        record.msg = f"{record.getMessage()} (database unavailable: {cause_of(exc_info[1])})"
        record.args = None
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
