"""GraphQL subscriptions over WebSocket: the ``graphql-transport-ws`` protocol on ``/graphql``.

One connection, one caller: the ``connection_init`` message signs in, with an API token in its
payload (``{"Authorization": "Bearer <token>"}``, or the upgrade request's own Authorization
header) or with the browser's session cookie. A cookie counts only when the upgrade comes from one
of this site's own pages (its ``Origin``): browsers send cookies with WebSocket upgrades from any
site, and CORS does not apply to them. Without a valid sign-in the connection is closed with 4403
and a reason. The credential is checked again while the connection stays open
(``IRESERVE_WS_AUTH_RECHECK``): a revoked token or an ended session closes it.

The server pings an idle connection (``{"type": "ping"}`` every ``IRESERVE_WS_PING_INTERVAL``
seconds) and closes it (4408) when nothing comes back within ``IRESERVE_WS_PONG_TIMEOUT``. A
connection that sends no ``connection_init`` within ``IRESERVE_WS_INIT_TIMEOUT`` is closed (4408).

The socket carries subscriptions only; queries and mutations go over HTTP. Each event of a
subscription reads the database afresh: its resolver wraps the event in :func:`event_reads`, and
every field resolved under it (DataLoaders included) uses that event's session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from json import JSONDecodeError
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.http.websocket_origin import is_same_origin, normalize_allowed_origins
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.types.unset import UNSET

from graphql import GraphQLError, OperationType, get_operation_ast, parse

from ..core.db import DEFERRED, SQLITE_BEGIN, is_lock_timeout
from ..core.errors import CodedError, DatabaseBusy, DatabaseUnavailable
from ..core.outage import is_database_unavailable
from ..core.i18n import N_, Message, language_from_header, set_request_language
from ..core.principal import Principal
from ..core.settings import Env, SettingsError
from ..identity import sessions
from ..identity.audit import set_actor
from ..identity.auth import actor_of, authenticate_request
from .context import Context
from .pubsub import Inbox, LiveUpdatesUnavailable, broker
from .request_session import RequestSession

log = logging.getLogger(__name__)

# A subscribe message is small; anything larger is refused before it is parsed (close 1009).
MAX_MESSAGE_BYTES = 64 * 1024
# WebSocket close codes (graphql-transport-ws uses 44xx like HTTP statuses).
FORBIDDEN = 4403
TIMED_OUT = 4408
TRY_AGAIN_LATER = 1013
MESSAGE_TOO_BIG = 1009
# A close frame's reason holds at most 123 bytes.
MAX_REASON_BYTES = 123
_REFUSAL_KEY = "ireserve.ws_refusal"

NO_CREDENTIALS = N_("Authentication required: send Authorization: Bearer <token> in the connection_init payload.")
BAD_CREDENTIALS = N_("Not signed in: the token or session is unknown, revoked, expired or signed out.")
COOKIE_FROM_OTHER_SITE = N_("The session cookie counts only on connections from this site's own pages.")
CREDENTIALS_ENDED = N_("The token was revoked or the session ended.")
LIVE_UPDATES_UNAVAILABLE = N_("Live updates are unavailable right now; subscribe again in a moment.")
ROLE_CHANGED = N_("The role of this sign-in changed; connect again.")
NO_PONG = N_("No answer to the server's ping.")
TOO_BIG = N_("A message may have at most {limit} bytes.")
SUBSCRIPTIONS_ONLY = N_("This WebSocket carries subscriptions only; send queries and mutations over HTTP "
                        "(POST /graphql).")


@dataclass(frozen=True)
class LiveSettings:
    """GraphQL subscriptions over WebSocket: keep-alive, sign-in and limits of a connection."""

    ws_ping_seconds: float = 15.0  # how often the server pings an idle connection (0: never)
    ws_pong_timeout_seconds: float = 10.0  # no answer within this: the connection is closed
    ws_init_timeout_seconds: float = 10.0  # connection_init must come within this after connecting
    ws_max_subscriptions: int = 20  # operations running at once on one connection
    ws_auth_recheck_seconds: float = 60.0  # a revoked token or ended session closes the connection within this

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "LiveSettings":
        env = Env(environ)
        return cls(
            ws_ping_seconds=env.float("IRESERVE_WS_PING_INTERVAL", cls.ws_ping_seconds),
            ws_pong_timeout_seconds=env.float("IRESERVE_WS_PONG_TIMEOUT", cls.ws_pong_timeout_seconds, minimum=0.01),
            ws_init_timeout_seconds=env.float("IRESERVE_WS_INIT_TIMEOUT", cls.ws_init_timeout_seconds, minimum=0.01),
            ws_max_subscriptions=env.int("IRESERVE_WS_MAX_SUBSCRIPTIONS", cls.ws_max_subscriptions, minimum=1),
            ws_auth_recheck_seconds=env.float("IRESERVE_WS_AUTH_RECHECK", cls.ws_auth_recheck_seconds, minimum=0.01),
        )


def live_settings(host) -> LiveSettings:
    return host.service(LiveSettings) or host.declare_settings(LiveSettings)


def websocket_options(host) -> dict[str, Any]:
    """The WebSocket settings of the GraphQL view (keyword arguments of strawberry's GraphQL)."""
    settings = live_settings(host)
    for origin in host.settings.cors_origins:
        try:
            normalize_allowed_origins([origin])
        except ValueError:
            raise SettingsError(f"IRESERVE_CORS_ORIGINS: {origin!r} is not an origin like https://app.example.com "
                                "(scheme, host and optional port, without a path)") from None
    return {
        "subscription_protocols": (GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        "connection_init_wait_timeout": timedelta(seconds=settings.ws_init_timeout_seconds),
        "max_subscriptions_per_connection": settings.ws_max_subscriptions,
        # Pages of these origins may open a socket (to use a token); the cookie still needs our own.
        "allowed_origins": tuple(host.settings.cors_origins),
    }


# -- the context of a connection, and the reads of one event -------------------------------------

@dataclass
class _Reads:
    session: AsyncSession
    loaders: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)


_current_reads: ContextVar[_Reads | None] = ContextVar("ireserve_event_reads", default=None)


class SocketContext(Context):
    """The context of one WebSocket connection: its caller (signed in by ``connection_init``) for
    as long as it stays open. The database session and DataLoaders are those of the event being
    answered (:func:`event_reads`), never one kept across events."""

    connection_params: dict | None = None  # filled in by strawberry from connection_init

    @staticmethod
    def _reads() -> _Reads:
        reads = _current_reads.get()
        if reads is None:
            raise RuntimeError("a subscription reads the database inside addon.base.graphql_ws.event_reads()")
        return reads

    @property
    def session(self) -> AsyncSession:
        return self._reads().session

    @session.setter
    def session(self, value: AsyncSession | None) -> None:
        if value is not None:
            raise AttributeError("a WebSocket connection has no session of its own; see event_reads()")

    @property
    def cache(self) -> dict[str, Any]:
        """Per event, like the session: what a request memoizes (e.g. which fields are private)
        must not outlive the event on a connection that stays open for hours."""
        return self._reads().cache

    @cache.setter
    def cache(self, value: dict[str, Any]) -> None:
        pass  # the connection's own (empty) one, set by the dataclass: never used

    def loader(self, name: str):
        reads = self._reads()
        if name not in reads.loaders:
            reads.loaders[name] = self.host.registry.loader_factories[name](self)
        return reads.loaders[name]


@asynccontextmanager
async def event_reads(context: Context) -> AsyncIterator[AsyncSession]:
    """One event of a subscription: a read session (a snapshot on SQLite, taking no write lock)
    and DataLoaders of its own, for the resolver and every field resolved under it. A subscription
    resolver yields its value inside this block; the block ends when the next event is asked for.

    Outside a WebSocket (a subscription run by ``schema.subscribe`` in a test) the context's own
    session serves."""
    if not isinstance(context, SocketContext):
        yield context.session
        return

    options = {SQLITE_BEGIN: DEFERRED} if context.host.database.is_sqlite else {}
    async with RequestSession(**context.host.database.sessionmaker.kw, execution_options=options) as session:
        token = _current_reads.set(_Reads(session))
        try:
            yield session
        finally:
            try:
                _current_reads.reset(token)
            except ValueError:  # closed from another context (the connection went away)
                _current_reads.set(None)


@asynccontextmanager
async def listening(context: Context, channel: str) -> AsyncIterator[Inbox]:
    """A subscription's notices on ``channel`` (see ``pubsub.Broker.subscribe``); a broker that
    cannot listen is a coded error (UNAVAILABLE) for the subscriber."""
    try:
        subscribed = broker(context.host).subscribe(channel)
        inbox = await subscribed.__aenter__()
    except LiveUpdatesUnavailable:
        raise CodedError(LIVE_UPDATES_UNAVAILABLE, "UNAVAILABLE") from None
    try:
        yield inbox
    finally:
        await subscribed.__aexit__(None, None, None)


# -- the transport ---------------------------------------------------------------------------------

def _fit(reason: str) -> str:
    """A close reason within the 123 bytes a close frame holds."""
    encoded = reason.encode("utf-8")
    if len(encoded) <= MAX_REASON_BYTES:
        return reason
    return encoded[:MAX_REASON_BYTES - 3].decode("utf-8", "ignore") + "…"


def refuse(websocket: WebSocket, code: int, template: str) -> None:
    """Close the connection with ``code`` and ``template`` (in the caller's language) when strawberry
    rejects it next (it closes with 4403 "Forbidden" otherwise)."""
    websocket.scope[_REFUSAL_KEY] = (code, _fit(Message(template).text()))


class SocketAdapter(ASGIWebSocketAdapter):
    async def iter_json(self, *, ignore_parsing_errors: bool = False):
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                except KeyError as exc:
                    raise NonTextMessageReceived from exc
                if len(text) > MAX_MESSAGE_BYTES:
                    await self.close(MESSAGE_TOO_BIG, Message(TOO_BIG, {"limit": MAX_MESSAGE_BYTES}).text())
                    return
                try:
                    yield self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
        except WebSocketDisconnect:
            pass

    async def close(self, code: int, reason: str) -> None:
        refusal = self.ws.scope.pop(_REFUSAL_KEY, None)
        if refusal is not None and code == FORBIDDEN:
            code, reason = refusal
        if self.ws.application_state == WebSocketState.DISCONNECTED:
            return  # closed already (a ping timeout and the client's own close can cross)
        with suppress(RuntimeError):  # the client's close frame came first
            await self.ws.close(code=code, reason=_fit(reason))


def _operation_type(payload: Any) -> OperationType | None:
    try:
        document = parse(payload["query"], no_location=True)
        operation = get_operation_ast(document, payload.get("operationName"))
    except (GraphQLError, KeyError, TypeError):
        return None  # strawberry answers what is wrong with it
    return operation.operation if operation is not None else None


class SocketHandler(BaseGraphQLTransportWSHandler):
    """strawberry's graphql-transport-ws handler, plus: pings with a pong timeout, the credential
    checked again while the connection lives, and subscriptions only."""

    async def handle(self) -> None:
        loop = asyncio.get_running_loop()
        self._heard_at = loop.time()
        keeping = [loop.create_task(self._keep_pinging()), loop.create_task(self._keep_checking())]
        try:
            await super().handle()
        finally:
            for task in keeping:
                task.cancel()
            for task in keeping:
                with suppress(asyncio.CancelledError, Exception):
                    await task

    async def handle_message(self, message) -> None:
        self._heard_at = asyncio.get_running_loop().time()  # any message shows the client is there
        await super().handle_message(message)

    async def handle_subscribe(self, message) -> None:
        if self.connection_acknowledged and isinstance(message.get("payload"), Mapping):
            kind = _operation_type(message["payload"])
            if kind in (OperationType.QUERY, OperationType.MUTATION) and isinstance(message.get("id"), str):
                error = {"message": Message(SUBSCRIPTIONS_ONLY).text(), "extensions": {"code": "BAD_REQUEST"}}
                await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
                return
        await super().handle_subscribe(message)

    async def _keep_pinging(self) -> None:
        settings = live_settings(self.view.host)
        if settings.ws_ping_seconds <= 0:
            return
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(settings.ws_ping_seconds)
            if not self.connection_acknowledged:
                continue  # the init timeout looks after connections that never signed in
            pinged = loop.time()
            try:
                await asyncio.wait_for(self.send_message({"type": "ping"}), settings.ws_pong_timeout_seconds)
            except (WebSocketDisconnected, asyncio.TimeoutError, RuntimeError):
                pass  # the answer (or its absence) decides below
            await asyncio.sleep(settings.ws_pong_timeout_seconds)
            if self._heard_at < pinged:
                log.info("closing a WebSocket that did not answer a ping within %.1f s", settings.ws_pong_timeout_seconds)
                await self.websocket.close(TIMED_OUT, Message(NO_PONG).text())
                return

    async def _keep_checking(self) -> None:
        every = live_settings(self.view.host).ws_auth_recheck_seconds
        while True:
            await asyncio.sleep(every)
            if not self.connection_acknowledged:
                continue
            try:
                principal = await self.view.sign_in_socket(self.context)
            except Exception as exc:  # a busy or briefly unreachable database: check again next time
                if is_database_unavailable(exc):
                    self.view.host.database.outage.failed(exc, during="request")  # told once per outage
                else:
                    log.warning("could not check the credential of a WebSocket connection", exc_info=True)
                continue
            if principal is None:
                self.context.request.scope.pop(_REFUSAL_KEY, None)  # this is no refused sign-in
                log.info("closing the WebSocket of %s: its credential no longer holds", self.context.principal.label)
                await self.websocket.close(FORBIDDEN, _fit(Message(CREDENTIALS_ENDED).text()))
                return
            if principal.role < self.context.principal.role:
                # Its subscriptions were allowed for the higher role: the client connects again.
                log.info("closing the WebSocket of %s: its role is now %s", principal.label, principal.role.name)
                await self.websocket.close(FORBIDDEN, _fit(Message(ROLE_CHANGED).text()))
                return
            self.context.principal = principal


@dataclass
class _Handshake:
    """What authenticate_request reads of a request, for the WebSocket upgrade."""

    headers: Mapping[str, str]
    cookies: Mapping[str, str]
    client: Any


def _authorization(params: Mapping[str, Any] | None) -> str | None:
    for key, value in (params or {}).items():
        if isinstance(key, str) and key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


class WebSocketSupport:
    """The WebSocket side of the GraphQL view (mixed into ``graphql_app.GraphQLApp``)."""

    graphql_transport_ws_handler_class = SocketHandler
    websocket_adapter_class = SocketAdapter

    async def socket_context(self, websocket: WebSocket) -> SocketContext:
        # Messages of our own making in the caller's language, for the whole connection.
        set_request_language(language_from_header(websocket.headers.get("accept-language")))
        # No response: nothing answers with HTTP headers (e.g. Retry-After) on a socket.
        return SocketContext(host=self.host, session=None, principal=None, request=websocket, response=None)

    async def on_ws_connect(self, context: SocketContext):
        websocket = context.request
        try:
            principal = await self.sign_in_socket(context)
        except Exception as exc:
            if is_lock_timeout(exc):
                websocket.scope[_REFUSAL_KEY] = (TRY_AGAIN_LATER, _fit(DatabaseBusy().message))
            elif is_database_unavailable(exc):
                self.host.database.outage.failed(exc, during="request")  # told once per outage
                websocket.scope[_REFUSAL_KEY] = (TRY_AGAIN_LATER, _fit(DatabaseUnavailable().message))
            else:
                raise
            raise ConnectionRejectionError() from None
        if principal is None:
            raise ConnectionRejectionError()
        context.principal = principal
        # Whatever this connection's operations record in the audit trail is done by this caller.
        set_actor(actor_of(principal, websocket))
        return UNSET

    async def sign_in_socket(self, context: SocketContext) -> Principal | None:
        """The caller of the connection: the token of its connection_init payload (or of the
        upgrade's Authorization header), else its session cookie if the upgrade came from our own
        pages. ``None`` after marking the refusal's reason (see :func:`refuse`)."""
        websocket: WebSocket = context.request
        authorization = _authorization(context.connection_params) or websocket.headers.get("authorization")
        cookie = websocket.cookies.get(sessions.SESSION_COOKIE)
        if authorization:
            handshake = _Handshake({"authorization": authorization}, {}, websocket.client)
        elif cookie:
            origin = websocket.headers.get("origin")
            if origin is None or not is_same_origin(origin, websocket.headers.get("host")):
                refuse(websocket, FORBIDDEN, COOKIE_FROM_OTHER_SITE)
                return None
            handshake = _Handshake({}, {sessions.SESSION_COOKIE: cookie}, websocket.client)
        else:
            refuse(websocket, FORBIDDEN, NO_CREDENTIALS)
            return None
        async with self.host.database.session(read_only=True) as session:
            # No CSRF token: a browser cannot send headers on an upgrade; the Origin stands in for it.
            principal = await authenticate_request(self.host, session, handshake, csrf=False)
        if principal is None:
            refuse(websocket, FORBIDDEN, BAD_CREDENTIALS)
        return principal
