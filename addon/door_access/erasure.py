"""Door access when a customer's data is erased: their live access is revoked first (the lock
vendor holds their e-mail address and phone number with each access set), then the copies kept
here — grants' languages, errors and warnings, where each set's link was sent (recipients and
language), and the call log — lose the erased values."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, ValidationFailed, after_commit, scrub_rows
from addon.booking.public import ERASE_REQUESTED, ERASING, Booking, Erasure

from .call_log import call_log
from .grants import request_revoke
from .live import announce
from .models import UNRESOLVED, AccessCallLog, AccessGrant, AccessSetRecord, Desired, DoorIntegration, GrantState, SetStatus
from .on_request.models import GuestLink


async def revoke_for_erasure(host: Host, session: AsyncSession, erasure: Erasure) -> list[int]:
    """Every grant of the customer's bookings that is not revoked yet becomes a revoke, due now."""
    if not erasure.booking_ids:
        return []
    rows = (await session.execute(
        select(AccessGrant, Booking, DoorIntegration)
        .join(Booking, Booking.id == AccessGrant.booking_id)
        .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
        .where(AccessGrant.booking_id.in_(erasure.booking_ids))
        .where((AccessGrant.state != GrantState.REVOKED) | (AccessGrant.desired != Desired.REVOKED))
        .order_by(AccessGrant.id)
    )).all()
    now = host.clock.now()
    touched = [grant for _, booking, integration in rows
               if (grant := await request_revoke(session, booking, integration, now, f"erasure by {erasure.actor}"[:100]))]
    await announce(host, session, touched)
    return [g.id for g in touched]


async def still_live(session: AsyncSession, booking_ids: tuple[int, ...]) -> int:
    """Bookings whose access set may still exist at the vendor: the journal names a set of theirs
    that is live, to revoke, or whose create was never answered."""
    if not booking_ids:
        return 0
    return len((await session.execute(
        select(AccessGrant.booking_id).join(AccessSetRecord, AccessSetRecord.grant_id == AccessGrant.id)
        .where(AccessGrant.booking_id.in_(booking_ids),
               AccessSetRecord.status.in_((*UNRESOLVED, SetStatus.CURRENT))).distinct())).all())


def register_erasure(host: Host) -> None:
    from .reconcile import reconcile_soon

    async def on_erase_requested(session: AsyncSession, erasure: Erasure) -> None:
        ids = await revoke_for_erasure(host, session, erasure)
        if ids:
            after_commit(session, lambda: reconcile_soon(host, ids))
        # What the revokes just reported to the call log is written before the erasure searches it.
        after_commit(session, lambda: call_log(host).flush())

    async def on_erasing(session: AsyncSession, erasure: Erasure) -> None:
        live = await still_live(session, erasure.booking_ids)
        if live:
            raise ValidationFailed.one(
                "ACCESS_STILL_LIVE", "The door access of {count} bookings of this customer is not revoked yet (the lock "
                "system has not confirmed it). The revoke stays queued and is retried; erase again once it is done "
                "(see the bookings' access).", "customerId", count=live)
        if erasure.booking_ids:
            scope = AccessGrant.booking_id.in_(erasure.booking_ids)
            await scrub_rows(session, AccessGrant, ("last_error", "last_error_i18n", "warnings", "revoke_requested_by"),
                             erasure.values, scope)
            for grant in (await session.execute(select(AccessGrant).where(scope))).scalars():
                grant.locale = None  # the customer's language, as sent to the vendor
            # The open links: whom they were sent to, in which language, and what the mail server said.
            for link in (await session.execute(
                    select(GuestLink).where(GuestLink.booking_id.in_(erasure.booking_ids)))).scalars():
                link.sent_to, link.locale, link.delivery_error_i18n = [], None, None
            # Where each of their links went: every set the journal knows of, revoked or not.
            await session.execute(
                update(AccessSetRecord).where(AccessSetRecord.grant_id.in_(select(AccessGrant.id).where(scope)))
                .values(recipients=None, locale=None).execution_options(synchronize_session=False))
        # A vendor's answer may quote a recipient: the whole log is searched, not only these bookings.
        await scrub_rows(session, AccessCallLog, ("error", "path"), erasure.values)

    host.events.subscribe(ERASE_REQUESTED, on_erase_requested)
    host.events.subscribe(ERASING, on_erasing)
