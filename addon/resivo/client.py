"""Resivo HTTP client: the only code in the project that knows Resivo's wire format.

Paths, field names, time format and error bodies follow the contract in
``/work/shared/resivo-api.md`` and the samples in ``fixtures/resivo/``. If the official API turns
out to differ, this module and those samples are what change.

One ``ResivoConnector`` per process owns the HTTP connection pool and the token cache;
``connector.client(credentials)`` hands out cheap per-credential clients that share both.

Given an ``address_guard`` (the outbound address policy, see ``outbound.py``), the connector
checks every URL before sending and every new connection's addresses at the moment it connects,
and connects to the very address it checked.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpcore
import httpx

from addon.door_access.public import (
    Recipient,  # who gets the link: the engine's own value
)
from addon.door_access.public import (  # the vendor kit: what every vendor's client does alike
    OnCall, TokenCache, VendorCallRecord, call_deadline, list_of, oauth_token_answer, parse_answer, report_call,
    retry_after_seconds, scrub_secrets, vendor_http_client,
)

from .errors import (
    ResivoAuthenticationError,
    ResivoError,
    ResivoPermanentError,
    ResivoProtocolError,
    ResivoTransientError,
)

__all__ = [
    "AUTHORIZATION_ACTIVE",
    "AUTHORIZATION_EXPIRED",
    "AUTHORIZATION_REVOKED",
    "OPERATIONS",
    "AddressGuard",
    "Authorization",
    "CallRecord",
    "Component",
    "DestinationRefused",
    "Recipient",
    "RemoteAccessRequest",
    "ResivoClient",
    "ResivoConnector",
    "ResivoCredentials",
    "ResivoDestinationRefused",
    "ResivoUnreachable",
    "Site",
    "format_utc",
    "parse_utc",
]

logger = logging.getLogger("addon.resivo.client")

# Operation names shared by CallRecord, the integration log and the sandbox's faults/stats.
OPERATIONS = (
    "token",
    "list_sites",
    "get_site",
    "list_components",
    "create_remote_access",
    "find_by_reference",
    "get_authorization",
    "revoke",
)

AUTHORIZATION_ACTIVE = "active"
AUTHORIZATION_REVOKED = "revoked"
AUTHORIZATION_EXPIRED = "expired"

_MAX_MESSAGE_CHARS = 300


# --------------------------------------------------------------------------- time stamps


def format_utc(dt: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix and whole seconds, e.g. ``2026-06-12T12:00:00Z``.

    A naive datetime is a programming error: guessing the server's local zone would shift a
    guest's door window by hours without anyone noticing.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt.isoformat()} given; Resivo times need a time zone")
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """Parse an RFC 3339 time stamp from Resivo into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        # The contract says UTC; an answer without a zone is read as UTC, never as local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True, kw_only=True)
class ResivoCredentials:
    """One Resivo API credential. The secret never shows in ``repr``."""

    base_url: str
    api_version: str = "v8"
    site_owner_id: str
    client_id: str
    client_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def cache_key(self) -> tuple[str, str, str]:
        """Token cache key: a changed secret must not reuse the old secret's token."""
        digest = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.base_url, self.client_id, digest)


@dataclass(frozen=True)
class Site:
    id: str
    display_name: str
    default_locale: str | None = None
    time_zone: str | None = None
    site_owner_id: str | None = None


@dataclass(frozen=True)
class Component:
    id: str
    display_name: str
    online: bool = True
    type: str | None = None


@dataclass(frozen=True)
class Authorization:
    """A remote access authorization set as Resivo reports it."""

    id: str
    status: str
    link: str | None = None
    component_ids: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    external_reference: str | None = None
    display_name: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == AUTHORIZATION_ACTIVE

    @property
    def is_gone(self) -> bool:
        """Revoked or expired: nothing left to revoke."""
        return self.status in (AUTHORIZATION_REVOKED, AUTHORIZATION_EXPIRED)


@dataclass(frozen=True)
class RemoteAccessRequest:
    display_name: str
    component_ids: Sequence[str]
    valid_from: datetime
    valid_to: datetime
    recipients: Sequence[Recipient]
    locale: str
    message: str | None = None
    legic_app_id: int | None = None
    external_reference: str | None = None

    def __post_init__(self) -> None:
        # Fail at construction, before any network, on naive times.
        format_utc(self.valid_from)
        format_utc(self.valid_to)
        object.__setattr__(self, "component_ids", tuple(self.component_ids))
        object.__setattr__(self, "recipients", tuple(self.recipients))


CallRecord = VendorCallRecord  # one HTTP exchange with Resivo, for the integration log
_T = TypeVar("_T")


# --------------------------------------------------------------------------- helpers


def _answer_message(response: httpx.Response, secrets: Iterable[str | None]) -> str:
    """Resivo's ``message`` from an error body, else something readable; scrubbed, short."""
    message = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        # OAuth servers answer ``error``/``error_description`` instead of ``message``.
        for key in ("message", "error_description", "error"):
            if isinstance(body.get(key), str) and body[key]:
                message = body[key]
                break
    if message is None:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    message = scrub_secrets(message, secrets)
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + "…"
    return message


def _http_error(
    operation: str, response: httpx.Response, secrets: Iterable[str | None]
) -> ResivoError | None:
    """Map a non-2xx answer to a typed error; ``None`` for success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    message = _answer_message(response, secrets)
    if status == 429 or status == 408 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        if status == 429:
            text = f"Resivo is rate limiting {operation} (429): {message}"
        else:
            text = f"Resivo answered {status} to {operation}: {message}"
        if retry_after is not None:
            text += f"; retry after {retry_after:g} s"
        error = ResivoTransientError(
            text, operation=operation, status=status, message=message, retry_after=retry_after
        )
        error.unprocessed = status == 429  # refused before any work: nothing was made
        return error
    return ResivoPermanentError(
        f"Resivo answered {status} to {operation}: {message}",
        operation=operation,
        status=status,
        message=message,
    )


class _TokenRefused(ResivoTransientError):
    """First 401 on an API call: the client refreshes the token and repeats the call once."""


def _api_error(
    operation: str,
    response: httpx.Response,
    *,
    secrets: Sequence[str | None],
    already_done: tuple[int, ...],
    may_refresh: bool,
) -> ResivoError | None:
    """Like ``_http_error`` for bearer calls: statuses that mean "done", and the 401 retry."""
    status = response.status_code
    if status in already_done:
        return None
    if status != 401:
        return _http_error(operation, response, secrets)
    message = _answer_message(response, secrets)
    if may_refresh:
        return _TokenRefused(
            f"Resivo refused the access token for {operation} (401: {message}); fetching a new one",
            operation=operation,
            status=status,
            message=message,
        )
    return ResivoAuthenticationError(
        f"Resivo refused a freshly issued access token for {operation} (401: {message})",
        operation=operation,
        status=status,
        message=message,
    )


def _parse(operation: str, response: httpx.Response, build: Callable[[Any], _T]) -> _T:
    return parse_answer(operation, response, build, vendor="Resivo", protocol_error=ResivoProtocolError)


def _site(data: Mapping[str, Any]) -> Site:
    return Site(
        id=str(data["id"]),
        display_name=str(data["displayName"]),
        default_locale=data.get("defaultLocale"),
        time_zone=data.get("timeZone"),
        site_owner_id=data.get("siteOwnerId"),
    )


def _component(data: Mapping[str, Any]) -> Component:
    return Component(
        id=str(data["id"]),
        display_name=str(data["displayName"]),
        online=bool(data.get("online", True)),
        type=data.get("type"),
    )


def _authorization(data: Mapping[str, Any]) -> Authorization:
    restrictions = data.get("restrictions") or {}
    valid_from = restrictions.get("validFrom")
    valid_to = restrictions.get("validTo")
    return Authorization(
        id=str(data["id"]),
        status=str(data["status"]),
        link=data.get("link"),
        component_ids=tuple(str(c) for c in data.get("componentIds") or ()),
        valid_from=parse_utc(valid_from) if valid_from else None,
        valid_to=parse_utc(valid_to) if valid_to else None,
        external_reference=data.get("externalReference"),
        display_name=data.get("displayName"),
    )


def _remote_access_body(request: RemoteAccessRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayName": request.display_name,
        "componentIds": list(request.component_ids),
        "restrictions": {
            "validFrom": format_utc(request.valid_from),
            "validTo": format_utc(request.valid_to),
        },
        "recipients": [_recipient_body(r) for r in request.recipients],
        "locale": request.locale,
    }
    if request.message is not None:
        body["message"] = request.message
    if request.legic_app_id is not None:
        body["mobileApp"] = {"legicAppId": int(request.legic_app_id)}
    if request.external_reference is not None:
        body["externalReference"] = request.external_reference
    return body


def _recipient_body(recipient: Recipient) -> dict[str, str]:
    body = {}
    if recipient.email:
        body["email"] = recipient.email
    if recipient.phone_number:
        body["phoneNumber"] = recipient.phone_number
    return body


def _segment(value: str) -> str:
    return quote(str(value), safe="")


# --------------------------------------------------------------------------- outbound addresses


class DestinationRefused(Exception):
    """An address guard refuses to let the connector reach ``host`` (``reason`` says which rule)."""

    def __init__(self, host: str, reason: str):
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class AddressGuard(Protocol):
    """Decides where the connector may connect (the outbound address policy implements it)."""

    def check_url(self, url: httpx.URL) -> None:
        """Before a request: raise DestinationRefused for what the URL alone shows (scheme, names)."""

    async def addresses(self, host: str, port: int) -> tuple[list[str], bool]:
        """At a new connection: the addresses to connect to, and whether all are public; raises
        DestinationRefused for a refused one and OSError when ``host`` does not resolve."""


class ResivoDestinationRefused(ResivoPermanentError):
    """The base URL points where the outbound address policy does not let the server connect."""

    def __init__(self, text: str, *, host: str | None = None, operation: str | None = None):
        super().__init__(text, operation=operation)
        self.unprocessed = True  # never sent
        self.host = host


class ResivoUnreachable(ResivoTransientError):
    """No answer from a host that is not known to be public: one sentence whatever went wrong
    (refused, timed out, no such host), so that failures do not tell which ports are open."""

    def __init__(self, text: str, *, host: str | None = None, operation: str | None = None):
        super().__init__(text, operation=operation)
        self.host = host


class _GuardedNetwork(httpcore.AsyncNetworkBackend):
    """Opens every connection through the guard: the host is resolved and checked when the
    connection is made, and the connection goes to the very address that was checked — a name
    that resolves elsewhere a moment later (DNS rebinding) cannot slip through."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self._guard = guard
        self._inner = inner or httpcore.AnyIOBackend()
        # Whether a host's addresses were all public when last connected: only failures reaching
        # such a host get the detailed messages (see ResivoConnector._transport_error).
        self.public: dict[str, bool] = {}

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None, socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses, public = await self._guard.addresses(host, port)
        except (OSError, UnicodeError) as exc:
            self.public[host] = False
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        except TimeoutError:
            self.public[host] = False
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        self.public[host] = public
        failure: Exception | None = None
        for address in addresses:  # in the resolver's order, like a plain connection
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused(path, "only TCP connections are checked")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (TLS verified against the host name as usual) on a guarded network.
    Environment proxies do not apply: they would connect wherever they resolve the name."""

    def __init__(self, network: _GuardedNetwork):
        super().__init__()
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=network,
        )


# --------------------------------------------------------------------------- connector


class ResivoConnector:
    """Owns the shared HTTP connection pool and the per-credential token cache."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_call: OnCall | None = None,
        token_refresh_margin: float = 30.0,
        address_guard: AddressGuard | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ):
        """``address_guard`` checks every URL, and every connection the connector opens itself (a
        given ``transport`` connects on its own: then only the URL is checked); ``network_backend``
        is the sockets under the guard (tests replace it)."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.on_call = on_call
        self._guard = address_guard
        self._network: _GuardedNetwork | None = None
        if address_guard is not None and transport is None:
            self._network = _GuardedNetwork(address_guard, network_backend)
            transport = _GuardedTransport(self._network)
        self._deadline = call_deadline(connect_timeout, read_timeout)
        self._http = vendor_http_client(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                        transport=transport, user_agent="ireserve-addons (resivo)")
        self._token_cache = TokenCache(token_refresh_margin)

    def client(
        self, credentials: ResivoCredentials, *, context: Mapping[str, Any] | None = None
    ) -> ResivoClient:
        return ResivoClient(self, credentials, context=context)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ResivoConnector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- token cache

    async def access_token(
        self, credentials: ResivoCredentials, context: Mapping[str, Any] | None = None
    ) -> str:
        """A valid bearer token for ``credentials``; one refresh at a time per credential."""
        return await self._token_cache.token(credentials.cache_key,
                                             lambda: self._request_token(credentials, context))

    async def invalidate_token(self, credentials: ResivoCredentials, token: str) -> None:
        """Forget ``token`` after Resivo refused it, unless another caller already replaced it."""
        self._token_cache.invalidate(credentials.cache_key, token)

    async def _request_token(
        self, credentials: ResivoCredentials, context: Mapping[str, Any] | None
    ) -> tuple[str, float]:
        secrets = (credentials.client_secret,)

        def classify(operation: str, response: httpx.Response) -> ResivoError | None:
            if response.status_code in (400, 401):
                message = _answer_message(response, secrets)
                return ResivoAuthenticationError(
                    f"Resivo token request failed: client id or secret rejected "
                    f"({response.status_code}: {message})",
                    operation=operation,
                    status=response.status_code,
                    message=message,
                )
            return _http_error(operation, response, secrets)

        return await self._exchange(
            "token",
            "POST",
            f"{credentials.base_url}/oauth2/token",
            context=context,
            secrets=secrets,
            classify=classify,
            build=oauth_token_answer,
            data={
                "grant_type": "client_credentials",
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        )

    # -- one HTTP exchange

    async def _exchange(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        context: Mapping[str, Any] | None,
        secrets: Sequence[str | None],
        classify: Callable[[str, httpx.Response], ResivoError | None],
        build: Callable[[Any], _T] | None,
        **request: Any,
    ) -> _T | None:
        """Send one request, type its failure, parse its answer and report a CallRecord."""
        target = httpx.URL(url)
        started = time.perf_counter()
        status: int | None = None
        try:
            try:
                if self._guard is not None:
                    self._guard.check_url(target)
                async with asyncio.timeout(self._deadline):
                    response = await self._http.request(method, url, **request)
            except DestinationRefused as exc:
                raise ResivoDestinationRefused(
                    f"Resivo calls to {exc.host} are refused ({operation}): {exc.reason}",
                    host=exc.host,
                    operation=operation,
                ) from None
            except (httpx.TimeoutException, TimeoutError, httpx.TransportError) as exc:
                failure = self._transport_error(exc, target.host, operation, secrets)
                # No connection, no request: Resivo cannot have acted on it.
                failure.unprocessed = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                raise failure from None
            status = response.status_code
            error = classify(operation, response)
            if error is not None:
                raise error
            result = _parse(operation, response, build) if build is not None else None
        except ResivoError as error:
            await self._report(operation, method, target.path, status, started, error, context)
            raise
        await self._report(operation, method, target.path, status, started, None, context)
        return result

    def _transport_error(
        self, exc: BaseException, host: str, operation: str, secrets: Sequence[str | None]
    ) -> ResivoTransientError:
        if self._network is not None and not self._network.public.get(host, False):
            # Not a host known to be public: refused, timed out or no such host read the same.
            return ResivoUnreachable(
                f"Could not reach {host} ({operation}); check the base URL and the network",
                host=host,
                operation=operation,
            )
        if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
            return ResivoTransientError(self._timeout_text(exc, host, operation), operation=operation)
        detail = scrub_secrets(str(exc) or type(exc).__name__, secrets)
        return ResivoTransientError(
            f"Could not reach Resivo at {host} ({operation}): {detail}", operation=operation
        )

    def _timeout_text(self, exc: BaseException, host: str, operation: str) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return (
                f"Could not connect to Resivo at {host} within {self.connect_timeout:g} s "
                f"({operation}); check the base URL and the network"
            )
        if isinstance(exc, httpx.PoolTimeout):
            return (
                f"No free connection to Resivo within {self.connect_timeout:g} s ({operation}); "
                "too many calls at once"
            )
        if isinstance(exc, httpx.TimeoutException):
            return f"Resivo did not answer within {self.read_timeout:g} s ({operation})"
        return f"Resivo did not answer within {self._deadline:g} s ({operation})"

    async def _report(
        self,
        operation: str,
        method: str,
        path: str,
        status: int | None,
        started: float,
        error: ResivoError | None,
        context: Mapping[str, Any] | None,
    ) -> None:
        await report_call(self.on_call, logger, "resivo", operation=operation, method=method, path=path,
                          status=status, started=started, error=error, context=context,
                          transient=ResivoTransientError)


# --------------------------------------------------------------------------- client


class ResivoClient:
    """Resivo operations for one credential; cheap to create, shares the connector's pool."""

    def __init__(
        self,
        connector: ResivoConnector,
        credentials: ResivoCredentials,
        *,
        context: Mapping[str, Any] | None = None,
    ):
        self._connector = connector
        self._credentials = credentials
        self._context = dict(context) if context is not None else None

    def __repr__(self) -> str:
        return (
            f"ResivoClient(base_url={self._credentials.base_url!r}, "
            f"client_id={self._credentials.client_id!r})"
        )

    @property
    def credentials(self) -> ResivoCredentials:
        return self._credentials

    def with_context(self, context: Mapping[str, Any] | None) -> ResivoClient:
        """The same client whose CallRecords carry ``context`` instead."""
        return ResivoClient(self._connector, self._credentials, context=context)

    # -- operations

    async def list_sites(self) -> list[Site]:
        owner = _segment(self._credentials.site_owner_id)
        return await self._call(
            "list_sites", "GET", f"/site-owners/{owner}/sites", build=list_of(_site)
        )

    async def get_site(self, site_id: str) -> Site:
        return await self._call("get_site", "GET", f"/sites/{_segment(site_id)}", build=_site)

    async def list_components(self, site_id: str) -> list[Component]:
        return await self._call(
            "list_components",
            "GET",
            f"/sites/{_segment(site_id)}/components",
            params={"scope": "all"},
            build=list_of(_component),
        )

    async def create_remote_access(
        self, site_id: str, request: RemoteAccessRequest
    ) -> Authorization:
        return await self._call(
            "create_remote_access",
            "POST",
            f"/sites/{_segment(site_id)}/authorizations/remote-access",
            json=_remote_access_body(request),
            build=_authorization,
        )

    async def find_by_reference(self, site_id: str, external_reference: str) -> list[Authorization]:
        return await self._call(
            "find_by_reference",
            "GET",
            f"/sites/{_segment(site_id)}/authorizations",
            params={"externalReference": external_reference},
            build=list_of(_authorization),
        )

    async def get_authorization(self, site_id: str, authorization_id: str) -> Authorization:
        return await self._call(
            "get_authorization",
            "GET",
            f"/sites/{_segment(site_id)}/authorizations/{_segment(authorization_id)}",
            build=_authorization,
        )

    async def revoke(self, site_id: str, authorization_id: str) -> None:
        """Revoke a set. Unknown (404), conflicting (409), revoked or expired count as done."""
        await self._call(
            "revoke",
            "DELETE",
            f"/sites/{_segment(site_id)}/authorizations/{_segment(authorization_id)}/revoke",
            already_done=(404, 409),
            build=None,
        )

    # -- plumbing

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        build: Callable[[Any], _T] | None,
        already_done: tuple[int, ...] = (),
        **request: Any,
    ) -> Any:
        """One API call with a bearer token; on a 401 refresh the token and repeat once."""
        credentials = self._credentials
        url = f"{credentials.base_url}/{credentials.api_version}{path}"
        for first_try in (True, False):
            token = await self._connector.access_token(credentials, self._context)
            secrets = (credentials.client_secret, token)
            classify = functools.partial(
                _api_error, secrets=secrets, already_done=already_done, may_refresh=first_try
            )
            try:
                return await self._connector._exchange(
                    operation,
                    method,
                    url,
                    context=self._context,
                    secrets=secrets,
                    classify=classify,
                    build=build,
                    headers={"Authorization": f"Bearer {token}"},
                    **request,
                )
            except _TokenRefused:
                await self._connector.invalidate_token(credentials, token)
        raise AssertionError("unreachable: the second attempt returns or raises")
