"""The engine's connection for an integration: its backend's, and for a backend that opens on
request the product's own open links in place of the vendor's access sets (``on_request.links``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host

from .backend import AccessModel, DoorConnection, backends
from .models import DoorIntegration
from .on_request.links import GuestLinkConnection


async def connect_for_access(host: Host, session: AsyncSession, integration: DoorIntegration,
                             booking_id: int | None) -> DoorConnection:
    """Inside ``session``'s transaction (the backend loads its credentials); its calls then run
    with no transaction open."""
    connection = await backends(host)[integration.backend].connect(host, session, integration, booking_id)
    if integration.access_model == AccessModel.OPENS_ON_REQUEST:
        return GuestLinkConnection(host, connection, integration.id, booking_id)
    return connection
