"""Repair tools for staff and admins: resync a booking's access, revoke it whatever the status,
send the guest a new link, and queue the failed grants of an integration again."""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import N_, Host, ValidationFailed, audit
from addon.booking.public import Booking, get_booking

from .grants import clear_revoke_requests, entitled_now, request_new_set, request_revoke, touch_booking
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
    await announce(host, session, (await touch_booking(session, booking, host.clock.now(), force=True)).grants)
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


NOT_ACTIVE = N_("Only active door access can get a new link: this access is not active (yet). Resync it first.")


async def reissue(host: Host, session: AsyncSession, booking_id, integration_id=None) -> tuple[Booking, list[int]]:
    """Send the guest a new door link: through ``integration_id`` (may be left out when the booking
    has access through one integration only) a new access set is made and the old one revoked.
    Only for ACTIVE access of a booking entitled to it now; anything else is refused, saying why."""
    booking = await get_booking(session, booking_id, lock=True)
    grants = (await session.execute(
        select(AccessGrant).where(AccessGrant.booking_id == booking.id).order_by(AccessGrant.integration_id)
        .with_for_update())).scalars().all()
    if integration_id is not None:
        integration = await get_integration(session, integration_id)
        grants = [g for g in grants if g.integration_id == integration.id]
    if not grants:
        raise ValidationFailed.one("NOT_FOUND", "This booking has no door access to send a new link for.", "bookingId")
    if len(grants) > 1:
        raise ValidationFailed.one("REQUIRED", "This booking has door access through several integrations; say "
                                   "which one sends the new link.", "integrationId")
    [grant] = grants
    integration = await session.get(DoorIntegration, grant.integration_id)
    now = host.clock.now()
    if grant.state != GrantState.ACTIVE or grant.desired != Desired.ACTIVE:
        raise ValidationFailed.one("NOT_ACTIVE", NOT_ACTIVE, "bookingId")
    if not await entitled_now(session, integration, booking, grant, now):
        raise ValidationFailed.one("NOT_ENTITLED", "The booking is not entitled to door access through {name!r} now "
                                   "(its status, the mapping, or the integration is not active), so no new link is "
                                   "sent.", "bookingId", name=integration.name)
    replaced = await request_new_set(session, grant, now)
    if replaced is None:
        raise ValidationFailed.one("NOT_ACTIVE", NOT_ACTIVE, "bookingId")
    await audit.record(session, "access.reissue", "booking", booking.id,
                       {"reference": [None, booking.reference], "integration": [None, integration.name]})
    await announce(host, session, [grant])
    return booking, [grant.id]


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
