"""GraphQL over HTTP: one database session and one set of DataLoaders per request."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.asgi import GraphQL
from strawberry.types.unset import UNSET

try:  # where strawberry's HTTP views take their HTTPException from (moved in 0.28x)
    from cross_web import HTTPException
except ImportError:  # pragma: no cover - older strawberry
    from strawberry.http.exceptions import HTTPException

from ..core.db import DEFERRED, SQLITE_BEGIN, is_lock_timeout
from ..core.errors import DatabaseBusy, DatabaseUnavailable
from ..core.host import Host
from ..core.i18n import language_from_header, set_request_language
from ..core.outage import is_database_unavailable
from ..identity.audit import set_actor
from ..identity.auth import RequestRefused, actor_of, authenticate_request
from .context import Context
from .graphiql import (
    GRAPHIQL_HEADERS,
    documented_operations,
    graphiql_page,
    sign_in_page,
)
from .graphql_ws import WebSocketSupport, websocket_options
from .limits import (
    api_limits,
    body_too_large,
    declared_length,
    limited_receive,
    parse_request_json,
)
from .request_log import note_database_unavailable, request_facts
from .request_session import RequestSession
from .schema import RETRY_AFTER_SECONDS
from .unavailable import graphql_unavailable_response

log = logging.getLogger(__name__)

SESSION_SCOPE_KEY = "ireserve.session"


def _busy_response(request: Request) -> JSONResponse:
    """A GraphQL-shaped answer for a busy database met before execution: 503, retry shortly."""
    set_request_language(language_from_header(request.headers.get("accept-language")))
    busy = DatabaseBusy(DatabaseBusy.NOTHING_CHANGED)  # nothing ran yet
    return JSONResponse({"data": None, "errors": [busy.formatted]}, status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class GraphQLApp(WebSocketSupport, GraphQL):
    def __init__(self, host: Host, schema, **kwargs: Any) -> None:
        # Subscriptions: graphql-transport-ws on the same path (see graphql_ws.py).
        super().__init__(schema, graphql_ide="graphiql", **{**websocket_options(host), **kwargs})
        self.host = host

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # A body over the limit is refused before anything is read when its length is declared,
        # and as soon as the limit is passed while reading when not (or when it lies).
        max_body = api_limits(self.host).max_body_bytes
        declared = declared_length(scope.get("headers", []))
        if declared is not None and declared > max_body:
            set_request_language(language_from_header(Request(scope).headers.get("accept-language")))
            await body_too_large(max_body).response()(scope, receive, send)
            return
        receive = limited_receive(receive, max_body)
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        async with self._request_session() as session:
            scope[SESSION_SCOPE_KEY] = session
            try:
                await super().__call__(scope, receive, tracked_send)
            except RequestRefused as refused:  # e.g. the session cookie without its CSRF token
                if started:
                    raise
                await refused.response()(scope, receive, send)
            except Exception as exc:
                # Outside execution (the token check): a busy or unreachable database is a 503 to
                # retry, not a 500.
                if started:
                    raise
                if is_lock_timeout(exc):
                    log.warning("database busy before execution: %s", exc)
                    await _busy_response(Request(scope))(scope, receive, send)
                elif is_database_unavailable(exc):
                    self.host.database.outage.failed(exc, during="request")
                    note_database_unavailable(scope)
                    await graphql_unavailable_response(Request(scope))(scope, receive, send)
                else:
                    raise
            finally:
                scope.pop(SESSION_SCOPE_KEY, None)

    def _request_session(self) -> RequestSession:
        """The request's session. On SQLite it reads in deferred transactions: a snapshot, no
        write lock, so readers (the token check, queries, DataLoaders) never make writers wait.
        Writes go through run_in_transaction, which begins its own transaction IMMEDIATE."""
        options = {SQLITE_BEGIN: DEFERRED} if self.host.database.is_sqlite else {}
        return RequestSession(**self.host.database.sessionmaker.kw, execution_options=options)

    def create_response(self, response_data, sub_response) -> Response:
        response = super().create_response(response_data, sub_response)
        # Nothing to show because the database is away: 503, which clients and proxies retry
        # (Retry-After is set where the error was met). Partial data stays a 200.
        if isinstance(response_data, dict) and response_data.get("data") is None and any(
                (error.get("extensions") or {}).get("code") == DatabaseUnavailable.CODE
                for error in response_data.get("errors") or ()):
            response.status_code = 503
        return response

    def encode_json(self, data: object) -> str:
        # orjson: ~9x faster than the standard library on a large page (165 kB in 0.16 ms, not
        # 1.4 ms). Text, not bytes: WebSocket messages of graphql-transport-ws are text frames.
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()

    def parse_json(self, data: str | bytes) -> Any:
        # Not UTF-8, not JSON, too deeply nested (refused before the recursive parser sees it) or
        # not an object: a 400 with a GraphQL-shaped JSON body, never a 500.
        return parse_request_json(data)

    async def run(self, request, context=UNSET, root_value=UNSET):
        # strawberry answers its own refusals (an unsupported content type, no query, a method
        # other than GET and POST) in plain text; a client of a JSON API gets JSON, with a code.
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as refused:
            code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(refused.status_code, "BAD_REQUEST")
            return JSONResponse({"data": None, "errors": [{"message": refused.reason, "extensions": {"code": code}}]},
                                status_code=refused.status_code, headers={"Cache-Control": "no-store"})

    # -- GraphiQL: it shows the whole schema, so only to a signed-in user or a token holder

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.host.settings.public_schema or await self._may_open_graphiql(request):
            return HTMLResponse(graphiql_page(request), headers=GRAPHIQL_HEADERS)
        return sign_in_page(request)

    async def operations(self, request: Request) -> Response:
        """The documented operations of graphql/operations/ for GraphiQL's list (to whoever may open it)."""
        async with self._request_session() as session:
            request.scope[SESSION_SCOPE_KEY] = session
            try:
                allowed = self.host.settings.public_schema or await self._may_open_graphiql(request)
            finally:
                request.scope.pop(SESSION_SCOPE_KEY, None)
        if not allowed:
            return JSONResponse({"operations": []}, status_code=401)
        return JSONResponse({"operations": documented_operations()}, headers={"Cache-Control": "no-store"})

    async def _may_open_graphiql(self, request: Request) -> bool:
        # Opening the page (a browser navigating here) changes nothing and no other site can read
        # it, so a signed-in browser needs no CSRF token for it; its queries do (see graphiql_page).
        session = request.scope[SESSION_SCOPE_KEY]
        return await authenticate_request(self.host, session, request, csrf=False) is not None

    async def get_context(self, request: Request, response: Any) -> Context:
        if self.is_websocket_request(request):
            return await self.socket_context(request)  # signed in by connection_init (on_ws_connect)
        # Messages of our own making are answered in the caller's language (codes stay English).
        set_request_language(language_from_header(request.headers.get("accept-language")))
        session = request.scope[SESSION_SCOPE_KEY]
        # A bearer token, or the session cookie with its CSRF proof (RequestRefused without it). The
        # GraphiQL page itself is a navigation that runs nothing: there the cookie needs no proof.
        page = self.should_render_graphql_ide(self.request_adapter_class(request))
        principal = await authenticate_request(self.host, session, request, csrf=not page)
        await session.rollback()  # end the read transaction; resolvers start their own
        facts = request_facts(request.scope)
        if facts is not None:  # for the request's log line
            facts["role"] = principal.role.name.lower() if principal is not None else "anonymous"
        # Whatever this request changes is recorded in the audit trail as done by this caller.
        set_actor(actor_of(principal, request))
        return Context(host=self.host, session=session, principal=principal, request=request, response=response)
