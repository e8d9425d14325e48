"""Running a mutation: one transaction, user errors instead of exceptions, nothing half-written."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from ..core.db import begin_write, is_lock_timeout
from ..core.errors import DatabaseBusy, DatabaseUnavailable, Problem, UserError, ValidationFailed
from ..core.events import commit, rollback, run_follow_ups
from ..core.outage import is_database_unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_in_transaction(
    session: AsyncSession, work: Callable[[AsyncSession], Awaitable[T]], refresh: bool = True
) -> tuple[T | None, list[UserError]]:
    """Run ``work`` and commit; on refusal roll back and return the user errors instead.

    After the commit, the work the change queued (e.g. door access for a new status) runs before
    the answer is built, with its own bounded wait: the answer shows its outcome in the common
    case, and its state so far (PENDING) when it takes longer.

    On SQLite the work waits its turn for the write lock; when that wait times out the caller
    gets :class:`DatabaseBusy` (a coded, retryable GraphQL error) and nothing is changed.

    When the database cannot be reached the caller gets :class:`DatabaseUnavailable` (retryable):
    "nothing was changed" when it failed before the commit; a commit cut off midway may or may not
    have been stored, and the message does not claim either."""
    committing = False
    try:
        # The request's session reads in deferred transactions (SQLite); the work is a transaction
        # of its own that takes the write lock before it reads anything it may then change.
        await begin_write(session)
        result = await work(session)
        committing = True
        await commit(session, follow_ups=False)
    except ValidationFailed as exc:
        await rollback(session)
        return None, exc.user_errors()
    except IntegrityError:
        # Two callers raced for the same unique value; the loser gets a clear answer.
        await rollback(session)
        log.info("mutation refused by a database constraint", exc_info=True)
        return None, [Problem("CONFLICT", "A concurrent change conflicts with this one; try again.").as_user_error()]
    except Exception as exc:
        if is_lock_timeout(exc):
            # SQLite gave up waiting for the write lock: nothing was written, the caller may retry.
            await rollback(session)
            log.warning("mutation gave up waiting for the database lock: %s", getattr(exc, "orig", exc))
            raise DatabaseBusy(DatabaseBusy.NOTHING_CHANGED) from exc
        if not is_database_unavailable(exc):
            raise
        with contextlib.suppress(Exception):  # the connection is gone; the server rolls back
            await rollback(session)
        raise DatabaseUnavailable(DatabaseUnavailable.TRY_AGAIN if committing
                                  else DatabaseUnavailable.NOTHING_CHANGED) from exc
    await run_follow_ups(session)
    if refresh and isinstance(result, SQLModel):
        # After-commit work may have changed it (``refresh=False``: the caller knows it cannot have).
        await session.refresh(result)
    # Later resolvers must see what after-commit work (e.g. an access grant) wrote in other
    # sessions: forget the cached objects so every later query loads them afresh.
    session.expunge_all()
    return result, []
