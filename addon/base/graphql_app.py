"""GraphQL over HTTP: one database session and one set of DataLoaders per request."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from strawberry.asgi import GraphQL

try:  # where strawberry's HTTP views take their HTTPException from (moved in 0.28x)
    from cross_web import HTTPException
except ImportError:  # pragma: no cover - older strawberry
    from strawberry.http.exceptions import HTTPException

from .auth import authenticate
from .context import Context
from .i18n import language_from_header, set_request_language
from .host import Host

SESSION_SCOPE_KEY = "ireserve.session"


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


class GraphQLApp(GraphQL):
    def __init__(self, host: Host, schema, **kwargs: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **kwargs)
        self.host = host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        async with RequestSession(**self.host.database.sessionmaker.kw) as session:
            scope[SESSION_SCOPE_KEY] = session
            try:
                await super().__call__(scope, receive, send)
            finally:
                scope.pop(SESSION_SCOPE_KEY, None)

    def parse_json(self, data: str | bytes) -> Any:
        # strawberry expects an object (or a batch list) and fails with a 500 on a bare
        # string, number or null; that is the client's mistake, so say so with a 400.
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object, e.g. {\"query\": \"{ viewer { name } }\"}.")
        return parsed

    async def get_context(self, request: Request, response: Any) -> Context:
        session = request.scope[SESSION_SCOPE_KEY]
        principal = await authenticate(session, request.headers.get("authorization"))
        await session.rollback()  # end the read transaction; resolvers start their own
        # Messages of our own making are answered in the caller's language (codes stay English).
        set_request_language(language_from_header(request.headers.get("accept-language")))
        return Context(host=self.host, session=session, principal=principal, request=request, response=response)
