"""Repair tools for staff and admins: resync a booking's access, revoke it whatever the status,
and queue the failed grants of an integration again."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, ValidationFailed, audit
from addon.booking.public import Booking, get_booking

from .grants import clear_revoke_requests, request_revoke, touch_booking
from .live import announce
from .models import AccessGrant, Desired, DoorIntegration, GrantState
from .policy import get_integration


async def grant_ids_of(session: AsyncSession, booking_id: int) -> list[int]:
    return list((await session.execute(
        select(AccessGrant.id).where(AccessGrant.booking_id == booking_id)
    )).scalars().all())


async def resync(host: Host, session: AsyncSession, booking_id) -> tuple[Booking, list[int]]:
    """Follow the booking's status again (a revoke staff asked for is forgotten) through every
    integration that holds a grant for it or applies to it; returns the booking and every grant of
    it (each is then compared with what the vendor has)."""
    booking = await get_booking(session, booking_id, lock=True)
    await clear_revoke_requests(session, booking.id)
    await announce(host, session, await touch_booking(session, booking, host.clock.now(), force=True))
    grant_ids = await grant_ids_of(session, booking.id)
    if grant_ids:  # else no integration applies: nothing to compare, nothing done
        await _record(session, "access.resync", booking, grant_ids)
    return booking, grant_ids


async def revoke(host: Host, session: AsyncSession, booking_id, actor: str) -> tuple[Booking, list[int]]:
    """Revoke the booking's access through every integration, whatever its status; who asked is
    recorded on the grant."""
    booking = await get_booking(session, booking_id, lock=True)
    integrations = (await session.execute(select(DoorIntegration).order_by(DoorIntegration.id))).scalars().all()
    now = host.clock.now()
    touched = [g for i in integrations if (g := await request_revoke(session, booking, i, now, actor))]
    if not touched:
        raise ValidationFailed.one("NOT_FOUND", "This booking has no door access to revoke.", "bookingId")
    await _record(session, "access.revoke", booking, [g.id for g in touched])
    await announce(host, session, touched)
    return booking, [g.id for g in touched]


async def retry_failed(host: Host, session: AsyncSession, integration_id) -> int:
    """Queue every FAILED grant of an integration again; returns how many."""
    integration = await get_integration(session, integration_id)
    now = host.clock.now()
    result = await session.execute(
        update(AccessGrant)
        .where(AccessGrant.integration_id == integration.id, AccessGrant.state == GrantState.FAILED)
        .values(state=case((AccessGrant.desired == Desired.ACTIVE, GrantState.PENDING), else_=GrantState.REVOKING),
                attempts=0, next_attempt_at=now, updated_at=now, intent_version=AccessGrant.intent_version + 1)
    )
    if result.rowcount:
        await audit.record(session, "access.retry_failed", "integration", integration.id,
                           {"requeued": [None, result.rowcount]})
    return result.rowcount


async def _record(session: AsyncSession, action: str, booking: Booking, grant_ids: list[int]) -> None:
    """A repair of one booking's access: which booking (its reference) and how many grants, as
    facts (no old value)."""
    await audit.record(session, action, "booking", booking.id,
                       {"reference": [None, booking.reference], "grants": [None, len(grant_ids)]})
