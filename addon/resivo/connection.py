"""The process's Resivo connector (one connection pool), credentials of an integration,
and the integration log that records every call."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from addon.base.crypto import secret_box
from addon.base.host import Host
from addon.base.i18n import Message

from .client import CallRecord, ResivoClient, ResivoConnector, ResivoCredentials
from .errors import ResivoAuthenticationError, ResivoError, ResivoPermanentError
from .models import ResivoCallLog, ResivoIntegration

log = logging.getLogger(__name__)
CONNECTOR_KEY = "resivo.connector"


def get_connector(host: Host) -> ResivoConnector:
    """The shared connector, created on first use (tests may put their own in place first)."""
    connector = host.services.get(CONNECTOR_KEY)
    if connector is None:
        settings = host.settings
        connector = ResivoConnector(
            connect_timeout=settings.resivo_connect_timeout,
            read_timeout=settings.resivo_read_timeout,
            on_call=CallLogger(host),
        )
        host.services[CONNECTOR_KEY] = connector
    return connector


@asynccontextmanager
async def connector_lifespan(host: Host):
    try:
        yield
    finally:
        connector = host.services.pop(CONNECTOR_KEY, None)
        if connector is not None:
            await connector.aclose()
            if isinstance(connector.on_call, CallLogger):
                await connector.on_call.flush()


def credentials_of(host: Host, integration: ResivoIntegration) -> ResivoCredentials:
    return ResivoCredentials(
        base_url=integration.base_url,
        api_version=host.settings.resivo_api_version,
        site_owner_id=integration.site_owner_id,
        client_id=integration.client_id,
        client_secret=secret_box(host).decrypt(integration.client_secret_encrypted),
    )


def client_for(host: Host, integration: ResivoIntegration, booking_id: int | None = None) -> ResivoClient:
    context = {"integration_id": integration.id, "booking_id": booking_id}
    return get_connector(host).client(credentials_of(host, integration), context=context)


def explain(exc: ResivoError, integration: ResivoIntegration) -> Message:
    """An error an admin can act on; the client already keeps secrets out of ``str(exc)``."""
    if isinstance(exc, ResivoAuthenticationError):
        return Message("Client id or secret rejected by Resivo: check the Client ID and Client secret on the "
                       "Authentication tab.")
    if isinstance(exc, ResivoPermanentError) and exc.status == 403:
        scope = integration.site_owner_id + (f" / site {integration.site_id}" if integration.site_id else "")
        return Message("Resivo refused access ({reason}): the credential's scope does not cover site owner {scope}.",
                       {"reason": exc.message, "scope": scope})
    return Message.verbatim(str(exc))  # the client's own sentence (timeouts, Resivo's message)


class CallLogger:
    """Queues each CallRecord and writes them to ``resivo_call_log`` from a background task.

    Writing inline would make every Resivo call wait for the database, and on SQLite a caller
    that holds the write lock would wait for itself. ``flush()`` drains the queue (tests, shutdown).
    """

    def __init__(self, host: Host, batch_size: int = 200) -> None:
        self.host = host
        self.batch_size = batch_size
        self._pending: list[ResivoCallLog] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def __call__(self, record: CallRecord) -> None:
        context = record.context or {}
        self._pending.append(ResivoCallLog(
            integration_id=context.get("integration_id"),
            booking_id=context.get("booking_id"),
            operation=record.operation,
            method=record.method,
            path=record.path[:500],
            http_status=record.http_status,
            duration_ms=round(record.duration_ms),
            outcome=record.outcome,
            error=record.error,
        ))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        async with self._lock:
            while self._pending:
                batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size:]
                try:
                    async with self.host.database.session() as session:
                        session.add_all(batch)
                        await session.commit()
                except Exception:
                    log.exception("could not write %d Resivo call log rows", len(batch))
