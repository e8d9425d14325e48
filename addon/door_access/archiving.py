"""Archiving an integration: it stops for good (inactive, hidden from new configuration) and is
kept with its grants and call log for history. What happens to the door access it gave is the
admin's choice, made when archiving; the worker carries it out."""

from __future__ import annotations

import enum

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, ValidationFailed, audit

from .grants import rederive
from .models import AccessGrant, DoorIntegration, GrantState
from .policy import get_integration


class LiveAccess(enum.Enum):
    """What archiving does with access the integration gives right now."""

    KEEP_UNTIL_END = "keep_until_end"  # live sets stay until their window ends; nothing new is made
    REVOKE_NOW = "revoke_now"  # every set is revoked (by the worker)


async def live_access_count(session: AsyncSession, integration: DoorIntegration, now) -> int:
    """Bookings the integration gives door access now or later (a live set whose window has not ended)."""
    return (await session.execute(
        select(func.count(AccessGrant.id)).where(
            AccessGrant.integration_id == integration.id, AccessGrant.state == GrantState.ACTIVE,
            (AccessGrant.valid_to.is_(None)) | (AccessGrant.valid_to > now))
    )).scalar_one()


async def archive_integration(host: Host, session: AsyncSession, integration_id, archived: bool,
                              live_access: LiveAccess | None) -> tuple[DoorIntegration, int]:
    """Archive (or restore) an integration; returns it and how many grants were queued for the
    worker to revoke. Archiving an integration that gives live access needs ``live_access``."""
    integration = await get_integration(session, integration_id, "id", lock=True)
    now = host.clock.now()
    if not archived:
        if integration.archived_at is not None:
            integration.archived_at = None
            integration.archived_live_access = None
            integration.updated_at = now
            await session.flush()
            await audit.record(session, "integration.restore", "integration", integration.id, {"archived": [True, False]})
        return integration, 0  # restored inactive: activating it is a separate, checked step
    if integration.archived_at is not None:
        return integration, 0
    live = await live_access_count(session, integration, now)
    if live and live_access is None:
        raise ValidationFailed.one(
            "REQUIRED", "Integration {name!r} gives {count} bookings door access: choose whether it stays until each "
            "stay ends (KEEP_UNTIL_END) or is revoked now (REVOKE_NOW).", "liveAccess", name=integration.name,
            count=live)
    was_active = integration.active
    integration.active = False
    integration.archived_at = now
    # Kept access stays as it is; access on its way (never given) stops either way. The engine
    # derives both from this choice whenever it looks (entitlement), so a booking cancelled later
    # is still revoked.
    integration.archived_live_access = (live_access or LiveAccess.KEEP_UNTIL_END).value
    integration.updated_at = now
    await session.flush()
    queued = await rederive(session, integration, now)
    await audit.record(session, "integration.archive", "integration", integration.id, {
        "archived": [False, True], "active": [was_active, False],
        "live_access": [None, live_access.name if live_access else None], "grants_revoked": [None, queued]})
    return integration, queued
