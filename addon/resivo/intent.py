"""Booking events → access intents. Runs inside the booking change's transaction: a status
change and its access intent commit together or not at all. Resivo is called only after
commit (see ``reconcile.reconcile_soon``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.db import utcnow
from addon.base.events import after_commit
from addon.base.host import Host
from addon.booking.models import Booking
from addon.booking.services import read_field_value

from .models import DESIRED_ACTIVE, DESIRED_REVOKED, GrantState, ResivoAccessGrant, ResivoIntegration
from .plan import GRANT, REVOKE, desired_action

# A change of these booking properties may change doors or window of an active access.
ACCESS_RELEVANT_CHANGES = {"start", "end", "object"}


async def grant_of(session: AsyncSession, booking_id: int, integration_id: int, lock: bool = False) -> ResivoAccessGrant | None:
    query = select(ResivoAccessGrant).where(ResivoAccessGrant.booking_id == booking_id,
                                            ResivoAccessGrant.integration_id == integration_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def mark_due(grant: ResivoAccessGrant) -> None:
    grant.intent_version += 1
    grant.next_attempt_at = utcnow()
    grant.updated_at = utcnow()


async def want_active(session: AsyncSession, booking: Booking, integration: ResivoIntegration) -> ResivoAccessGrant:
    grant = await grant_of(session, booking.id, integration.id, lock=True)
    if grant is None:
        grant = ResivoAccessGrant(booking_id=booking.id, integration_id=integration.id, desired=DESIRED_ACTIVE,
                                  state=GrantState.PENDING, next_attempt_at=utcnow())
        session.add(grant)
        await session.flush()
        return grant
    if grant.desired == DESIRED_ACTIVE and grant.state in (GrantState.ACTIVE, GrantState.PENDING):
        return grant  # confirmed → paid: already granted or on its way; never a second set
    grant.desired = DESIRED_ACTIVE
    if grant.state == GrantState.REVOKED:
        # A fresh set after a revoked one: its own external reference, no id to adopt.
        grant.generation += 1
        grant.authorization_id = None
    if grant.state in (GrantState.FAILED, GrantState.REVOKED):
        grant.state = GrantState.PENDING
        grant.attempts = 0
        grant.last_error = None
        grant.last_error_i18n = None
    mark_due(grant)
    await session.flush()
    return grant


async def want_revoked(session: AsyncSession, booking: Booking, integration: ResivoIntegration,
                       actor: str | None = None) -> ResivoAccessGrant | None:
    grant = await grant_of(session, booking.id, integration.id, lock=True)
    if grant is None:
        # Access granted before this grant existed (or entered by hand): the booking field has the id.
        existing_id = None
        if integration.authorization_id_field:
            existing_id = await read_field_value(session, booking.id, integration.authorization_id_field)
        if not existing_id:
            return None
        grant = ResivoAccessGrant(booking_id=booking.id, integration_id=integration.id, desired=DESIRED_REVOKED,
                                  state=GrantState.REVOKING, authorization_id=existing_id,
                                  site_id=integration.site_id, next_attempt_at=utcnow())
        session.add(grant)
    elif grant.desired == DESIRED_REVOKED and actor is None:
        return grant
    else:
        grant.desired = DESIRED_REVOKED
        if grant.state == GrantState.ACTIVE:
            grant.state = GrantState.REVOKING
        mark_due(grant)
    if actor is not None:
        grant.revoke_requested_by = actor
        grant.revoke_requested_at = utcnow()
    await session.flush()
    return grant


async def active_integrations(session: AsyncSession) -> list[ResivoIntegration]:
    return list((await session.execute(
        select(ResivoIntegration).where(ResivoIntegration.active.is_(True)).order_by(ResivoIntegration.id)
    )).scalars().all())


async def follow_status(session: AsyncSession, booking: Booking, status_code: str) -> list[ResivoAccessGrant]:
    """Record what ``status_code`` asks of every active integration; returns the grants touched."""
    touched = []
    for integration in await active_integrations(session):
        action, _reason = desired_action(integration, status_code)
        if action == GRANT:
            touched.append(await want_active(session, booking, integration))
        elif action == REVOKE:
            grant = await want_revoked(session, booking, integration)
            if grant is not None:
                touched.append(grant)
    return touched


def register_handlers(host: Host) -> None:
    from .reconcile import reconcile_soon

    async def on_status_changed(session: AsyncSession, booking: Booking, old_status, new_status: str, actor: str):
        touched = await follow_status(session, booking, new_status)
        if touched:
            ids = [g.id for g in touched]
            after_commit(session, lambda: reconcile_soon(host, ids))

    async def on_changed(session: AsyncSession, booking: Booking, changes: dict, actor: str):
        if not ACCESS_RELEVANT_CHANGES & changes.keys():
            return
        grants = (await session.execute(
            select(ResivoAccessGrant).where(ResivoAccessGrant.booking_id == booking.id,
                                            ResivoAccessGrant.desired == DESIRED_ACTIVE).with_for_update()
        )).scalars().all()
        for grant in grants:
            mark_due(grant)  # reconcile compares doors and window; unchanged means no Resivo call
        if grants:
            await session.flush()
            ids = [g.id for g in grants]
            after_commit(session, lambda: reconcile_soon(host, ids))

    host.events.subscribe("booking.status_changed", on_status_changed)
    host.events.subscribe("booking.changed", on_changed)
