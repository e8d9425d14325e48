"""The database session of one GraphQL request (HTTP or a WebSocket operation)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class RequestSession(AsyncSession):
    """The session of one request, shared by resolvers that GraphQL runs concurrently.

    An AsyncSession is not safe for concurrent tasks: sibling root fields (or DataLoaders after
    a commit) racing to open its connection fail with "This session is provisioning a new
    connection; concurrent operations are not permitted". Every operation that may touch the
    connection takes the session's lock, so concurrent resolvers queue instead of failing.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = asyncio.Lock()


def _serialized(method):
    @functools.wraps(method)
    async def run(self: RequestSession, *args: Any, **kwargs: Any):
        async with self._lock:
            return await method(self, *args, **kwargs)

    return run


# scalar(s) and stream_scalars go through execute and stream, so they are covered too.
for _name in ("execute", "get", "get_one", "stream", "flush", "refresh", "merge", "merge_all", "delete",
              "delete_all", "connection", "run_sync", "commit", "rollback", "close"):
    setattr(RequestSession, _name, _serialized(getattr(AsyncSession, _name)))
