"""Booking events → access intents. Runs inside the booking change's transaction: a status
change and its access intent commit together or not at all. The lock vendor is called only after
commit (see ``reconcile.reconcile_soon``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.events import after_commit
from addon.base.host import Host
from addon.booking.models import Booking
from addon.booking.services import CHANGED, STATUS_CHANGED, read_field_value

from .models import AccessGrant, Desired, DoorIntegration, GrantState
from .plan import PlanAction, desired_action

# A change of these booking properties may change doors or window of an active access.
ACCESS_RELEVANT_CHANGES = {"start", "end", "object"}


async def grant_of(session: AsyncSession, booking_id: int, integration_id: int, lock: bool = False) -> AccessGrant | None:
    query = select(AccessGrant).where(AccessGrant.booking_id == booking_id, AccessGrant.integration_id == integration_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def mark_due(grant: AccessGrant, now: datetime) -> None:
    grant.intent_version += 1
    grant.next_attempt_at = now
    grant.updated_at = now


async def want_active(session: AsyncSession, booking: Booking, integration: DoorIntegration, now: datetime) -> AccessGrant:
    grant = await grant_of(session, booking.id, integration.id, lock=True)
    if grant is None:
        grant = AccessGrant(booking_id=booking.id, integration_id=integration.id, desired=Desired.ACTIVE,
                            state=GrantState.PENDING, next_attempt_at=now, created_at=now, updated_at=now)
        session.add(grant)
        await session.flush()
        return grant
    if grant.desired == Desired.ACTIVE and grant.state in (GrantState.ACTIVE, GrantState.PENDING):
        return grant  # confirmed → paid: already granted or on its way; never a second set
    grant.desired = Desired.ACTIVE
    if grant.state == GrantState.REVOKED:
        # A fresh set after a revoked one: its own external reference, no id to adopt.
        grant.generation += 1
        grant.authorization_id = None
    if grant.state in (GrantState.FAILED, GrantState.REVOKED):
        grant.state = GrantState.PENDING
        grant.attempts = 0
        grant.last_error = None
        grant.last_error_i18n = None
    mark_due(grant, now)
    await session.flush()
    return grant


async def want_revoked(session: AsyncSession, booking: Booking, integration: DoorIntegration, now: datetime,
                       actor: str | None = None) -> AccessGrant | None:
    grant = await grant_of(session, booking.id, integration.id, lock=True)
    if grant is None:
        # Access granted before this grant existed (or entered by hand): the booking field has the id.
        existing_id = None
        if integration.authorization_id_field:
            existing_id = await read_field_value(session, booking.id, integration.authorization_id_field)
        if not existing_id:
            return None
        grant = AccessGrant(booking_id=booking.id, integration_id=integration.id, desired=Desired.REVOKED,
                            state=GrantState.REVOKING, authorization_id=existing_id, next_attempt_at=now,
                            created_at=now, updated_at=now)
        session.add(grant)
    elif grant.desired == Desired.REVOKED and actor is None:
        return grant
    else:
        grant.desired = Desired.REVOKED
        if grant.state == GrantState.ACTIVE:
            grant.state = GrantState.REVOKING
        mark_due(grant, now)
    if actor is not None:
        grant.revoke_requested_by = actor
        grant.revoke_requested_at = now
    await session.flush()
    return grant


async def active_integrations(session: AsyncSession) -> list[DoorIntegration]:
    return list((await session.execute(
        select(DoorIntegration).where(DoorIntegration.active.is_(True)).order_by(DoorIntegration.id)
    )).scalars().all())


async def follow_status(session: AsyncSession, booking: Booking, status_code: str, now: datetime) -> list[AccessGrant]:
    """Record what ``status_code`` asks of every active integration; returns the grants touched."""
    touched = []
    for integration in await active_integrations(session):
        action, _reason = desired_action(integration, status_code)
        if action == PlanAction.GRANT:
            touched.append(await want_active(session, booking, integration, now))
        elif action == PlanAction.REVOKE:
            grant = await want_revoked(session, booking, integration, now)
            if grant is not None:
                touched.append(grant)
    return touched


def register_handlers(host: Host) -> None:
    from .reconcile import reconcile_soon

    async def on_status_changed(session: AsyncSession, booking: Booking, old_status, new_status: str, actor: str):
        touched = await follow_status(session, booking, new_status, host.clock.now())
        if touched:
            ids = [g.id for g in touched]
            after_commit(session, lambda: reconcile_soon(host, ids))

    async def on_changed(session: AsyncSession, booking: Booking, changes: dict, actor: str):
        if not ACCESS_RELEVANT_CHANGES & changes.keys():
            return
        grants = (await session.execute(
            select(AccessGrant).where(AccessGrant.booking_id == booking.id, AccessGrant.desired == Desired.ACTIVE)
            .with_for_update()
        )).scalars().all()
        now = host.clock.now()
        for grant in grants:
            mark_due(grant, now)  # reconcile compares doors and window; unchanged means no vendor call
        if grants:
            await session.flush()
            ids = [g.id for g in grants]
            after_commit(session, lambda: reconcile_soon(host, ids))

    host.events.subscribe(STATUS_CHANGED, on_status_changed)
    host.events.subscribe(CHANGED, on_changed)
