"""Start-up waits for the database: `serve`, `worker` and `db upgrade` try it with a growing pause,
one log line per attempt, for up to ``IRESERVE_DB_STARTUP_WAIT`` seconds — so that processes
started beside a database that is still coming up (compose, a reboot, a failover) start once it
answers, instead of ending with a traceback and being restarted in a loop."""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from ..core.host import Host
from ..core.outage import cause_of, is_database_unavailable

log = logging.getLogger("addon.base.database")

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 10.0


class DatabaseNeverAnswered(RuntimeError):
    """The database did not answer within the start-up wait (IRESERVE_DB_STARTUP_WAIT)."""


class DatabaseRefused(RuntimeError):
    """The database answered, but refused the connection (a wrong password, no such database):
    waiting does not cure that."""


async def wait_for_database(host: Host, *, sleep=asyncio.sleep, monotonic=time.monotonic) -> int:
    """Return once the database answers (the number of attempts it took); raise
    :class:`DatabaseNeverAnswered` when it has not within the start-up wait. A refusal that no
    waiting cures (a wrong password, a database that does not exist) is :class:`DatabaseRefused`,
    at once."""
    limit = host.settings.db_startup_wait_seconds
    where = host.database.outage.where
    started = monotonic()
    pause = FIRST_PAUSE_SECONDS
    attempt = 0
    while True:
        attempt += 1
        try:
            async with host.database.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as exc:
            if not is_database_unavailable(exc):
                if isinstance(exc, DBAPIError):
                    raise DatabaseRefused(f"the database ({where}) refused the connection: {cause_of(exc)}") from None
                raise
            cause = cause_of(exc)
            waited = monotonic() - started
            if waited + pause > limit:
                log.error("database %s did not answer (attempt %d, %s); giving up after %.0f s", where, attempt, cause,
                          waited, extra={"database": where, "attempt": attempt, "cause": cause})
                raise DatabaseNeverAnswered(
                    f"the database ({where}) did not answer within {limit:.0f} s ({cause}); check DATABASE_HOST "
                    "(or DATABASE_URL) and that the database runs, or wait longer with IRESERVE_DB_STARTUP_WAIT"
                ) from None
            log.warning("database %s does not answer yet (attempt %d, %s); trying again in %.1f s", where, attempt,
                        cause, pause, extra={"database": where, "attempt": attempt, "cause": cause,
                                             "retry_in_seconds": pause})
            await sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)
            continue
        if attempt > 1:
            log.info("database %s answers (attempt %d)", where, attempt, extra={"database": where, "attempt": attempt})
        return attempt
