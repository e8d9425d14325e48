"""GraphQL over HTTP: one database session and one set of DataLoaders per request."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse
from strawberry.asgi import GraphQL

try:  # where strawberry's HTTP views take their HTTPException from (moved in 0.28x)
    from cross_web import HTTPException
except ImportError:  # pragma: no cover - older strawberry
    from strawberry.http.exceptions import HTTPException

from .audit import set_actor
from .auth import actor_of, authenticate
from .context import Context
from .db import DEFERRED, SQLITE_BEGIN, is_lock_timeout
from .errors import DatabaseBusy
from .i18n import language_from_header, set_request_language
from .host import Host
from .schema import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

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


def _busy_response(request: Request) -> JSONResponse:
    """A GraphQL-shaped answer for a busy database met before execution: 503, retry shortly."""
    set_request_language(language_from_header(request.headers.get("accept-language")))
    busy = DatabaseBusy(DatabaseBusy.NOTHING_CHANGED)  # nothing ran yet
    return JSONResponse({"data": None, "errors": [busy.formatted]}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class GraphQLApp(GraphQL):
    def __init__(self, host: Host, schema, **kwargs: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **kwargs)
        self.host = host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async with self._request_session() as session:
            scope[SESSION_SCOPE_KEY] = session
            try:
                await super().__call__(scope, receive, tracked_send)
            except Exception as exc:
                # Outside execution (the token check): a busy database is a 503 to retry, not a 500.
                if started or not is_lock_timeout(exc):
                    raise
                log.warning("database busy before execution: %s", exc)
                await _busy_response(Request(scope))(scope, receive, send)
            finally:
                scope.pop(SESSION_SCOPE_KEY, None)

    def _request_session(self) -> RequestSession:
        """The request's session. On SQLite it reads in deferred transactions: a snapshot, no
        write lock, so readers (the token check, queries, DataLoaders) never make writers wait.
        Writes go through run_in_transaction, which begins its own transaction IMMEDIATE."""
        options = {SQLITE_BEGIN: DEFERRED} if self.host.database.is_sqlite else {}
        return RequestSession(**self.host.database.sessionmaker.kw, execution_options=options)

    def parse_json(self, data: str | bytes) -> Any:
        # strawberry expects an object (or a batch list) and fails with a 500 on a bare
        # string, number or null; that is the client's mistake, so say so with a 400.
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object, e.g. {\"query\": \"{ viewer { name } }\"}.")
        return parsed

    async def get_context(self, request: Request, response: Any) -> Context:
        # Messages of our own making are answered in the caller's language (codes stay English).
        set_request_language(language_from_header(request.headers.get("accept-language")))
        session = request.scope[SESSION_SCOPE_KEY]
        principal = await authenticate(session, request.headers.get("authorization"))
        await session.rollback()  # end the read transaction; resolvers start their own
        # Whatever this request changes is recorded in the audit trail as done by this caller.
        set_actor(actor_of(principal, request))
        return Context(host=self.host, session=session, principal=principal, request=request, response=response)
