"""Salto KS HTTP client: the only code in the project that knows the Salto KS wire format.

The real Salto KS API is open to partners only, so this is a contract of our own, modelled on
Salto KS's public concepts (sites, IQ gateways, locks, entries) and recorded in
``fixtures/salto_ks/``; the sandbox (``addon/salto_ks/sandbox``) implements it. Switching to the
official contract changes this module and those samples, nothing else.

The contract
------------
Each Environment (Acceptance, Production) has an identity server ``{identity}`` and an API
``{api}``, and the installation's own OAuth client for it (settings, never GraphQL). The admin's
Salto KS account (username + password) is used with the password grant.

=================  =========================================================================
purpose            call → answer
=================  =========================================================================
token              ``POST {identity}/connect/token`` form ``grant_type=password``, ``client_id``,
                   ``client_secret``, ``username``, ``password``, ``scope`` →
                   ``{access_token, token_type, expires_in}``. A wrong account is
                   ``400 {error: "invalid_grant"}``, a wrong client ``401 {error: "invalid_client"}``.
resolve site       ``GET {api}/v1.1/sites?uid=<Site UID>`` → ``[{id, uid, name, timeZone}]`` (the
                   sites the account may see; an unknown UID answers ``[]``)
locks              ``GET {api}/v1.1/sites/{siteId}/locks`` → ``[{id, name, online, iqId}]``
IQ state           ``GET {api}/v1.1/sites/{siteId}/iqs/{iqId}`` → ``{id, name, online, activated}``
get PIN            ``GET {api}/v1.1/sites/{siteId}/iqs/{iqId}/pin`` → ``{pin, secret}``: the IQ's
                   current 4-digit PIN and its OTP secret (base32, see ``otp.py``); the IQ
                   must be online
set PIN            ``PUT {api}/v1.1/sites/{siteId}/iqs/{iqId}/pin`` ``{newPin, otp}`` → ``{id,
                   name, online, activated: true}``; ``otp`` is the TOTP of the *current* PIN
open               ``PATCH {api}/v1.1/sites/{siteId}/locks/{lockId}/locking`` ``{locked: false,
                   otp, reference}`` → ``202 {reference, acceptedAt}``; the lock then opens and an
                   entry appears. ``reference`` is our idempotency key: a repeat is answered
                   ``202`` with ``duplicate: true`` and opens nothing
entries            ``GET {api}/v1.1/sites/{siteId}/entries?since=<UTC>[&lockId=…]`` →
                   ``[{id, lockId, at, result, reference}]``, oldest first; ``result`` is
                   ``opened`` or ``failed``
=================  =========================================================================

Times are RFC 3339 in UTC with a ``Z``. API calls carry ``Authorization: Bearer <token>``; a
``401`` means the token is no longer valid. Errors answer ``{code, message}``:

- ``403 otp_rejected``: the OTP matches neither the IQ's current PIN nor a step within ±1;
- ``403 pin_changed``: the OTP matches a PIN the IQ had *before* (changed elsewhere);
- ``403 forbidden``: the account has no rights on the site;
- ``404 site_not_found`` / ``iq_not_found`` / ``lock_not_found``;
- ``409 iq_offline`` / ``lock_offline``: nothing was done;
- ``422 invalid_request``: the body is wrong (e.g. a PIN that is not 4 digits);
- ``429`` with ``Retry-After``, and ``5xx``: try again later.

The client
----------
One ``SaltoKsConnector`` per process owns the HTTP connection pool and the token cache (one
token per account, refreshed shortly before it expires, one refresh at a time whoever asks);
``connector.client(account)`` hands out cheap per-account clients sharing both. Every call has
connect and read timeouts and an overall deadline; a ``401`` refreshes the token and repeats the
call once. Failures are typed (``errors.py``). Passwords, client secrets, tokens, PINs, IQ
secrets and OTPs never reach a log line, an error or the call log (``on_call``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from addon.door_access.public import (  # the vendor kit: what every vendor's client does alike
    OnCall, TokenCache, VendorCallRecord, call_deadline, list_of, oauth_token_answer, parse_answer, report_call,
    retry_after_seconds, scrub_secrets, vendor_http_client,
)

from .errors import (
    SaltoKsAuthenticationError,
    SaltoKsClientRejected,
    SaltoKsCredentialsRejected,
    SaltoKsError,
    SaltoKsIqNotFound,
    SaltoKsIqOffline,
    SaltoKsLockNotFound,
    SaltoKsLockOffline,
    SaltoKsOtpRejected,
    SaltoKsPermanentError,
    SaltoKsPinChangedElsewhere,
    SaltoKsProtocolError,
    SaltoKsSiteUnknown,
    SaltoKsTransientError,
)
from .otp import InvalidSecret, decode_secret, is_pin

logger = logging.getLogger("addon.salto_ks.client")

API_PREFIX = "/v1.1"
TOKEN_PATH = "/connect/token"

# Operation names shared by CallRecord, the call log and the sandbox's faults and counters.
OPERATIONS = (
    "token",
    "resolve_site",
    "list_locks",
    "get_iq",
    "get_pin",
    "set_pin",
    "open_lock",
    "list_entries",
)

ENTRY_OPENED = "opened"
ENTRY_FAILED = "failed"

_MAX_MESSAGE_CHARS = 300

_T = TypeVar("_T")


# --------------------------------------------------------------------------- time stamps


def format_utc(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and whole seconds; a naive time is a programming error."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; Salto KS times need a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """An RFC 3339 time from Salto KS as an aware UTC datetime (no zone is read as UTC)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --------------------------------------------------------------------------- value objects


@dataclass(frozen=True, kw_only=True)
class SaltoKsAccount:
    """Everything a call needs: the Environment's endpoints and the installation's client for
    it, and the admin's Salto KS account. Secrets never show in ``repr``."""

    environment: str  # "Acceptance" or "Production": for messages
    identity_url: str
    api_url: str
    client_id: str
    client_secret: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    scope: str = "user_api.full_access"

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity_url", self.identity_url.rstrip("/"))
        object.__setattr__(self, "api_url", self.api_url.rstrip("/"))

    @property
    def cache_key(self) -> tuple[str, ...]:
        """Token cache key: a changed password or client secret must not reuse the old token."""
        digest = hashlib.sha256(f"{self.client_secret}\0{self.password}".encode()).hexdigest()
        return (self.identity_url, self.client_id, self.username, self.scope, digest)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.client_secret, self.password)


@dataclass(frozen=True)
class Site:
    id: str
    uid: str
    name: str
    time_zone: str | None = None


@dataclass(frozen=True)
class Lock:
    id: str
    name: str
    online: bool
    iq_id: str | None = None


@dataclass(frozen=True)
class IqState:
    id: str
    online: bool
    activated: bool
    name: str | None = None


@dataclass(frozen=True)
class IqPin:
    """The IQ's current PIN and OTP secret (base32). Neither shows in ``repr``."""

    pin: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class OpenAccepted:
    """Salto KS took the open command (202); the entry tells when the lock opened."""

    reference: str
    accepted_at: datetime | None
    duplicate: bool = False  # the reference was sent before: this one opened nothing


@dataclass(frozen=True)
class Entry:
    """Something a lock did, as Salto KS records it."""

    id: str
    lock_id: str
    at: datetime
    result: str
    reference: str | None = None

    @property
    def opened(self) -> bool:
        return self.result == ENTRY_OPENED


CallRecord = VendorCallRecord  # one HTTP exchange with Salto KS, for the call log


# --------------------------------------------------------------------------- parsing


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _answer_message(response: httpx.Response, secrets: Iterable[str | None]) -> str:
    """Salto KS's own words from an error body, else the reason phrase; scrubbed, short."""
    body = _error_body(response)
    message = None
    for key in ("message", "error_description", "error"):  # the identity server speaks OAuth
        if isinstance(body.get(key), str) and body[key]:
            message = body[key]
            break
    message = scrub_secrets(message or response.reason_phrase or f"HTTP {response.status_code}", secrets)
    return message if len(message) <= _MAX_MESSAGE_CHARS else message[:_MAX_MESSAGE_CHARS] + "…"


# Error codes of the API's error bodies → the class an admin (or the core) can act on.
_CODED: dict[str, type[SaltoKsError]] = {
    "otp_rejected": SaltoKsOtpRejected,
    "pin_changed": SaltoKsPinChangedElsewhere,
    "site_not_found": SaltoKsSiteUnknown,
    "iq_not_found": SaltoKsIqNotFound,
    "lock_not_found": SaltoKsLockNotFound,
    "iq_offline": SaltoKsIqOffline,
    "lock_offline": SaltoKsLockOffline,
}


def _http_error(operation: str, response: httpx.Response, secrets: Iterable[str | None]) -> SaltoKsError | None:
    """A non-2xx answer as a typed error; ``None`` for success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    message = _answer_message(response, secrets)
    code = _error_body(response).get("code")
    code = code if isinstance(code, str) else None
    if status == 429 or status == 408 or status >= 500:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        text = (f"Salto KS is rate limiting {operation} (429): {message}" if status == 429
                else f"Salto KS answered {status} to {operation}: {message}")
        if retry_after is not None:
            text += f"; retry after {retry_after:g} s"
        error = SaltoKsTransientError(text, operation=operation, status=status, code=code, message=message,
                                      retry_after=retry_after)
        error.unprocessed = status == 429  # refused before any work
        return error
    kind = _CODED.get(code or "", SaltoKsPermanentError)
    return kind(f"Salto KS answered {status} to {operation}: {message}", operation=operation, status=status,
                code=code, message=message)


class _TokenRefused(SaltoKsTransientError):
    """The first 401 of an API call: the client fetches a new token and repeats the call once."""


def _parse(operation: str, response: httpx.Response, build: Callable[[Any], _T]) -> _T:
    return parse_answer(operation, response, build, vendor="Salto KS", protocol_error=SaltoKsProtocolError)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
        raise ValueError(f"{key} is missing or empty")
    return str(value)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data[key]
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be true or false")
    return value


def _site(data: Mapping[str, Any]) -> Site:
    return Site(id=_text(data, "id"), uid=_text(data, "uid"), name=_text(data, "name"),
                time_zone=data.get("timeZone") or None)


def _lock(data: Mapping[str, Any]) -> Lock:
    iq_id = data.get("iqId")
    return Lock(id=_text(data, "id"), name=_text(data, "name"), online=_flag(data, "online"),
                iq_id=str(iq_id) if iq_id else None)


def _iq(data: Mapping[str, Any]) -> IqState:
    return IqState(id=_text(data, "id"), online=_flag(data, "online"), activated=_flag(data, "activated"),
                   name=data.get("name") or None)


def _pin(data: Mapping[str, Any]) -> IqPin:
    pin, secret = _text(data, "pin"), _text(data, "secret")
    if not is_pin(pin):
        raise ValueError("pin is not 4 digits")
    try:
        decode_secret(secret)
    except InvalidSecret:
        raise ValueError("secret is not base32 text") from None
    return IqPin(pin=pin, secret=secret)


def _accepted(data: Any) -> OpenAccepted:
    data = data if isinstance(data, dict) else {}
    accepted_at = data.get("acceptedAt")
    return OpenAccepted(reference=str(data.get("reference") or ""),
                        accepted_at=parse_utc(accepted_at) if accepted_at else None,
                        duplicate=data.get("duplicate") is True)


def _entry(data: Mapping[str, Any]) -> Entry:
    reference = data.get("reference")
    return Entry(id=_text(data, "id"), lock_id=_text(data, "lockId"), at=parse_utc(_text(data, "at")),
                 result=_text(data, "result"), reference=str(reference) if reference else None)


def _segment(value: str) -> str:
    return quote(str(value), safe="")


# --------------------------------------------------------------------------- connector


class SaltoKsConnector:
    """Owns the shared HTTP connection pool and the per-account token cache."""

    def __init__(self, *, connect_timeout: float = 5.0, read_timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None, on_call: OnCall | None = None,
                 token_refresh_margin: float = 30.0) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.on_call = on_call
        self._deadline = call_deadline(connect_timeout, read_timeout)
        self._http = vendor_http_client(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                        transport=transport, user_agent="ireserve-addons (salto_ks)")
        self._token_cache = TokenCache(token_refresh_margin)

    def client(self, account: SaltoKsAccount, *, context: Mapping[str, Any] | None = None) -> SaltoKsClient:
        return SaltoKsClient(self, account, context=context)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SaltoKsConnector:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- token cache

    async def access_token(self, account: SaltoKsAccount, context: Mapping[str, Any] | None = None) -> str:
        """A valid bearer token for ``account``; one refresh at a time per account."""
        return await self._token_cache.token(account.cache_key, lambda: self._request_token(account, context))

    def invalidate_token(self, account: SaltoKsAccount, token: str) -> None:
        """Forget ``token`` after Salto KS refused it, unless another caller replaced it already."""
        self._token_cache.invalidate(account.cache_key, token)

    async def _request_token(self, account: SaltoKsAccount, context: Mapping[str, Any] | None) -> tuple[str, float]:
        secrets = account.secrets

        def classify(operation: str, response: httpx.Response) -> SaltoKsError | None:
            if response.status_code in (400, 401):
                message = _answer_message(response, secrets)
                error = _error_body(response).get("error")
                if error == "invalid_client" or (response.status_code == 401 and error != "invalid_grant"):
                    return SaltoKsClientRejected(
                        f"Salto KS rejected the installation's {account.environment} client id or secret "
                        f"({response.status_code}: {message})",
                        operation=operation, status=response.status_code, code=error, message=message)
                if error == "invalid_grant":
                    return SaltoKsCredentialsRejected(
                        f"Salto KS rejected the username or password ({response.status_code}: {message})",
                        operation=operation, status=response.status_code, code=error, message=message)
                return SaltoKsAuthenticationError(
                    f"Salto KS refused the token request ({response.status_code}: {message})",
                    operation=operation, status=response.status_code, code=error, message=message)
            return _http_error(operation, response, secrets)

        return await self._exchange(
            "token", "POST", f"{account.identity_url}{TOKEN_PATH}", context=context, secrets=secrets,
            classify=classify, build=oauth_token_answer,
            data={"grant_type": "password", "client_id": account.client_id, "client_secret": account.client_secret,
                  "username": account.username, "password": account.password, "scope": account.scope},
        )

    # -- one HTTP exchange

    async def _exchange(self, operation: str, method: str, url: str, *, context: Mapping[str, Any] | None,
                        secrets: Sequence[str | None], classify: Callable[[str, httpx.Response], SaltoKsError | None],
                        build: Callable[[Any], _T] | None, **request: Any) -> _T | None:
        """Send one request, type its failure, parse its answer, and report a CallRecord."""
        target = httpx.URL(url)
        started = time.perf_counter()
        status: int | None = None
        try:
            try:
                async with asyncio.timeout(self._deadline):
                    response = await self._http.request(method, url, **request)
            except (httpx.TimeoutException, TimeoutError, httpx.TransportError) as exc:
                failure = self._transport_error(exc, target.host, operation, secrets)
                # No connection, no request: Salto KS cannot have acted on it.
                failure.unprocessed = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                raise failure from None
            status = response.status_code
            error = classify(operation, response)
            if error is not None:
                raise error
            result = _parse(operation, response, build) if build is not None else None
        except SaltoKsError as error:
            await self._report(operation, method, target.path, status, started, error, context)
            raise
        await self._report(operation, method, target.path, status, started, None, context)
        return result

    def _transport_error(self, exc: BaseException, host: str, operation: str,
                         secrets: Sequence[str | None]) -> SaltoKsTransientError:
        if isinstance(exc, httpx.ConnectTimeout):
            text = (f"Could not connect to Salto KS at {host} within {self.connect_timeout:g} s ({operation}); "
                    "check the network")
        elif isinstance(exc, httpx.PoolTimeout):
            text = f"No free connection to Salto KS within {self.connect_timeout:g} s ({operation}); too many calls at once"
        elif isinstance(exc, httpx.TimeoutException):
            text = f"Salto KS did not answer within {self.read_timeout:g} s ({operation})"
        elif isinstance(exc, TimeoutError):
            text = f"Salto KS did not answer within {self._deadline:g} s ({operation})"
        else:
            detail = scrub_secrets(str(exc) or type(exc).__name__, secrets)
            text = f"Could not reach Salto KS at {host} ({operation}): {detail}"
        return SaltoKsTransientError(text, operation=operation)

    async def _report(self, operation: str, method: str, path: str, status: int | None, started: float,
                      error: SaltoKsError | None, context: Mapping[str, Any] | None) -> None:
        await report_call(self.on_call, logger, "salto_ks", operation=operation, method=method, path=path,
                          status=status, started=started, error=error, context=context,
                          transient=SaltoKsTransientError)


# --------------------------------------------------------------------------- client


class SaltoKsClient:
    """Salto KS operations for one account; cheap to make, shares the connector's pool."""

    def __init__(self, connector: SaltoKsConnector, account: SaltoKsAccount, *,
                 context: Mapping[str, Any] | None = None) -> None:
        self._connector = connector
        self._account = account
        self._context = dict(context) if context is not None else None

    def __repr__(self) -> str:
        return f"SaltoKsClient(api_url={self._account.api_url!r}, username={self._account.username!r})"

    @property
    def account(self) -> SaltoKsAccount:
        return self._account

    # -- operations

    async def resolve_site(self, uid: str) -> Site:
        """The site with Site UID ``uid``; SaltoKsSiteUnknown when the account sees none."""
        sites = await self._call("resolve_site", "GET", "/sites", params={"uid": uid}, build=list_of(_site))
        wanted = uid.strip().casefold()
        for site in sites:
            if site.uid.casefold() == wanted:
                return site
        raise SaltoKsSiteUnknown(
            f"Salto KS knows no site with Site UID {uid!r} that this account may see",
            operation="resolve_site", status=200, code="site_not_found")

    async def list_locks(self, site_id: str) -> list[Lock]:
        return await self._call("list_locks", "GET", f"/sites/{_segment(site_id)}/locks", build=list_of(_lock))

    async def get_iq(self, site_id: str, iq_id: str) -> IqState:
        return await self._call("get_iq", "GET", f"/sites/{_segment(site_id)}/iqs/{_segment(iq_id)}", build=_iq)

    async def get_pin(self, site_id: str, iq_id: str) -> IqPin:
        """The IQ's current PIN and OTP secret (GET PIN)."""
        return await self._call("get_pin", "GET", f"/sites/{_segment(site_id)}/iqs/{_segment(iq_id)}/pin",
                                build=_pin)

    async def set_pin(self, site_id: str, iq_id: str, new_pin: str, otp: str) -> IqState:
        """Set PIN: ``otp`` is the one-time password of the IQ's *current* PIN."""
        return await self._call("set_pin", "PUT", f"/sites/{_segment(site_id)}/iqs/{_segment(iq_id)}/pin",
                                json={"newPin": new_pin, "otp": otp}, build=_iq, hide=(new_pin, otp))

    async def open_lock(self, site_id: str, lock_id: str, otp: str, reference: str) -> OpenAccepted:
        """Send the open command (202: accepted; the entry confirms the opening)."""
        return await self._call("open_lock", "PATCH", f"/sites/{_segment(site_id)}/locks/{_segment(lock_id)}/locking",
                                json={"locked": False, "otp": otp, "reference": reference}, build=_accepted,
                                hide=(otp,))

    async def list_entries(self, site_id: str, since: datetime, lock_id: str | None = None) -> list[Entry]:
        params = {"since": format_utc(since)}
        if lock_id is not None:
            params["lockId"] = lock_id
        return await self._call("list_entries", "GET", f"/sites/{_segment(site_id)}/entries", params=params,
                                build=list_of(_entry))

    # -- plumbing

    async def _call(self, operation: str, method: str, path: str, *, build: Callable[[Any], _T] | None,
                    hide: Sequence[str] = (), **request: Any) -> Any:
        """One API call with a bearer token; on a 401 a new token and one more try."""
        account = self._account
        url = f"{account.api_url}{API_PREFIX}{path}"
        for first_try in (True, False):
            token = await self._connector.access_token(account, self._context)
            secrets = (*account.secrets, token, *hide)

            def classify(name: str, response: httpx.Response, first_try: bool = first_try) -> SaltoKsError | None:
                if response.status_code != 401:
                    return _http_error(name, response, secrets)
                message = _answer_message(response, secrets)
                if first_try:
                    return _TokenRefused(f"Salto KS refused the access token for {name} (401: {message}); "
                                         "fetching a new one", operation=name, status=401, message=message)
                return SaltoKsAuthenticationError(
                    f"Salto KS refused a freshly issued access token for {name} (401: {message})",
                    operation=name, status=401, message=message)

            try:
                return await self._connector._exchange(
                    operation, method, url, context=self._context, secrets=secrets, classify=classify,
                    build=build, headers={"Authorization": f"Bearer {token}"}, **request)
            except _TokenRefused:
                self._connector.invalidate_token(account, token)
        raise AssertionError("unreachable: the second try returns or raises")
