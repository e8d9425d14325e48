"""The process's Resivo connector (one connection pool and token cache), the client of one
integration, what Resivo's errors mean for an admin, and the bridge to the integration log."""

from __future__ import annotations

from prometheus_client import Counter

from addon.base.public import Host, Message, secret_box
from addon.door_access.public import CallEntry, call_log

from .client import (
    CallRecord,
    ResivoClient,
    ResivoConnector,
    ResivoDestinationRefused,
    ResivoUnreachable,
)
from .client import (
    ResivoCredentials as WireCredentials,
)
from .errors import ResivoAuthenticationError, ResivoError, ResivoPermanentError
from .models import ResivoCredentials
from .outbound import outbound_policy
from .settings import resivo_settings

TOKEN_OPERATION = "token"
TOKEN_REFRESHES = Counter("ireserve_resivo_token_refreshes_total", "Access tokens fetched from Resivo, by outcome",
                          ["outcome"])


class CallLogBridge:
    """Hands every CallRecord of the client to the door-access integration log."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def __call__(self, record: CallRecord) -> None:
        context = record.context or {}
        if record.operation == TOKEN_OPERATION:
            TOKEN_REFRESHES.labels(outcome=record.outcome).inc()
        call_log(self.host).record(CallEntry(
            integration_id=context.get("integration_id"), booking_id=context.get("booking_id"),
            operation=record.operation, method=record.method, path=record.path, http_status=record.http_status,
            duration_ms=record.duration_ms, outcome=record.outcome, error=record.error,
        ))


def get_connector(host: Host) -> ResivoConnector:
    """The shared connector, created on first use (tests may put their own in place first); it
    connects only where the outbound address policy allows."""

    def create() -> ResivoConnector:
        settings = resivo_settings(host)
        return ResivoConnector(connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
                               on_call=CallLogBridge(host), address_guard=outbound_policy(host))

    return host.service(ResivoConnector, create)


async def close_connector(host: Host) -> None:
    connector = host.discard(ResivoConnector)
    if connector is not None:
        await connector.aclose()


def wire_credentials(host: Host, credentials: ResivoCredentials) -> WireCredentials:
    return WireCredentials(
        base_url=credentials.base_url,
        api_version=resivo_settings(host).api_version,
        site_owner_id=credentials.site_owner_id,
        client_id=credentials.client_id,
        client_secret=secret_box(host).decrypt(credentials.client_secret_encrypted),
    )


def client_for(host: Host, credentials: ResivoCredentials, booking_id: int | None = None) -> ResivoClient:
    context = {"integration_id": credentials.integration_id, "booking_id": booking_id}
    return get_connector(host).client(wire_credentials(host, credentials), context=context)


def explain(exc: ResivoError, credentials: ResivoCredentials) -> Message:
    """An error an admin can act on; the client already keeps secrets out of ``str(exc)``."""
    if isinstance(exc, ResivoDestinationRefused):
        return Message("The Base URL is not allowed: Resivo is reached over https at a public address. Loopback and "
                       "private addresses (and plain http) need RESIVO_ALLOW_PRIVATE_BASE_URL=true; link-local and "
                       "cloud-metadata addresses are never allowed.")
    if isinstance(exc, ResivoUnreachable):
        # The same sentence whatever failed: an admin must not learn which internal ports are open.
        return Message("Could not reach {host}: check the Base URL and the network.", {"host": exc.host})
    if isinstance(exc, ResivoAuthenticationError):
        return Message("Client id or secret rejected by Resivo: check the Client ID and Client secret on the "
                       "Authentication tab.")
    if isinstance(exc, ResivoPermanentError) and exc.status == 403:
        scope = credentials.site_owner_id + (f" / site {credentials.site_id}" if credentials.site_id else "")
        return Message("Resivo refused access ({reason}): the credential's scope does not cover site owner {scope}.",
                       {"reason": exc.message, "scope": scope})
    return Message.verbatim(str(exc))  # the client's own sentence (timeouts, Resivo's message)
