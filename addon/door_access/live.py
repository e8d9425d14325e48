"""Live updates of door access: which channels a grant's change is announced on, and announcing it
(see ``addon.base.server.pubsub``; the GraphQL subscriptions are in ``api/subscriptions.py``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import broker

from .models import AccessGrant


def booking_channel(booking_id: int) -> str:
    return f"door_access.booking.{booking_id}"


def integration_channel(integration_id: int) -> str:
    return f"door_access.integration.{integration_id}"


async def announce(host, session: AsyncSession, grants: Iterable[AccessGrant]) -> None:
    """Announce that these grants changed, with the transaction that changes them: subscribers
    hear it once it commits (ids only; they load the grant themselves)."""
    publish = broker(host).publish
    for grant in grants:
        await publish([booking_channel(grant.booking_id), integration_channel(grant.integration_id)],
                      {"grant": grant.id, "booking": grant.booking_id, "integration": grant.integration_id},
                      session=session)
