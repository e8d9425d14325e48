"""Event hooks that run inside the caller's transaction, and work deferred until after commit."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]
AFTER_COMMIT_KEY = "ireserve.after_commit"


class EventBus:
    """Named events; handlers get the caller's session so their writes share its transaction."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler) -> None:
        self._handlers[name].append(handler)

    async def emit(self, name: str, session: AsyncSession, **payload: Any) -> None:
        # A failing handler fails the whole change: intent and change commit together or not at all.
        for handler in self._handlers.get(name, ()):
            await handler(session, **payload)


def after_commit(session: AsyncSession, callback: Callable[[], Awaitable[Any]]) -> None:
    """Run ``callback`` once the session's transaction has committed (see :func:`commit`)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


async def commit(session: AsyncSession, follow_ups: bool = True) -> None:
    """Commit, then (unless ``follow_ups`` is false: see :func:`run_follow_ups`) run the
    after-commit callbacks; on a failed commit they are dropped unrun."""
    try:
        await session.commit()
    except BaseException:
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    if follow_ups:
        await run_follow_ups(session)


async def run_follow_ups(session: AsyncSession) -> None:
    """Run the work a committed change queued with :func:`after_commit` (each piece bounds its own
    wait, e.g. the door access a new status asks for)."""
    for callback in session.info.pop(AFTER_COMMIT_KEY, []):
        try:
            await callback()
        except Exception:  # the change is committed; deferred work has its own retry path
            log.exception("after-commit callback failed")


async def rollback(session: AsyncSession) -> None:
    session.info.pop(AFTER_COMMIT_KEY, None)
    await session.rollback()
