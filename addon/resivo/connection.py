"""The process's Resivo connector (one connection pool), credentials of an integration,
and the integration log that records every call."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from addon.base.crypto import secret_box
from addon.base.host import Host

from .client import CallRecord, ResivoClient, ResivoConnector, ResivoCredentials
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


class CallLogger:
    """Writes each CallRecord to ``resivo_call_log`` in its own short transaction."""

    def __init__(self, host: Host) -> None:
        self.host = host

    async def __call__(self, record: CallRecord) -> None:
        context = record.context or {}
        row = ResivoCallLog(
            integration_id=context.get("integration_id"),
            booking_id=context.get("booking_id"),
            operation=record.operation,
            method=record.method,
            path=record.path[:500],
            http_status=record.http_status,
            duration_ms=round(record.duration_ms),
            outcome=record.outcome,
            error=record.error,
        )
        async with self.host.database.session() as session:
            session.add(row)
            await session.commit()
