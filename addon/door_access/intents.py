"""Booking events → access intents. Runs inside the booking change's transaction: a status
change and its access intent commit together or not at all. The lock vendor is called only after
commit (see ``reconcile.reconcile_soon``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, after_commit
from addon.booking.public import (
    CHANGED,
    STATUS_CHANGED,
    BookableObject,
    Booking,
    BookingStatus,
    read_field_value,
)

from .mapping import mapping_for_object, objects_mapped_by
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
    """Record what ``status_code`` asks of every active integration that applies to the booking's
    object (it maps the object or a parent); returns the grants touched."""
    touched = []
    for integration in await active_integrations(session):
        action, _reason = desired_action(integration, status_code)
        if action == PlanAction.GRANT:
            mapping, _ = await mapping_for_object(session, integration.id,
                                                  await session.get(BookableObject, booking.object_id))
            if mapping is not None:
                touched.append(await want_active(session, booking, integration, now))
        elif action == PlanAction.REVOKE:
            grant = await want_revoked(session, booking, integration, now)
            if grant is not None:
                touched.append(grant)
    return touched


async def bookings_to_grant(session: AsyncSession, integration: DoorIntegration, now: datetime,
                            object_ids: set[int] | None = None) -> list[tuple[Booking, AccessGrant | None]]:
    """Bookings the integration applies to (``object_ids``: only on those objects) that are at one
    of its trigger statuses, have not ended, and have no access granted or on its way — each with
    its grant if it has one (failed or revoked)."""
    mapped = await objects_mapped_by(session, integration.id)
    if object_ids is not None:
        mapped &= object_ids
    if not mapped or not integration.trigger_statuses:
        return []
    rows = (await session.execute(
        select(Booking, AccessGrant).join(BookingStatus, BookingStatus.id == Booking.status_id)
        .outerjoin(AccessGrant, (AccessGrant.booking_id == Booking.id) & (AccessGrant.integration_id == integration.id))
        .where(BookingStatus.code.in_(integration.trigger_statuses), Booking.end_at > now,
               Booking.object_id.in_(mapped))
        .order_by(Booking.start_at, Booking.id)
    )).all()
    live = (GrantState.ACTIVE, GrantState.PENDING)
    return [(booking, grant) for booking, grant in rows
            if grant is None or grant.desired != Desired.ACTIVE or grant.state not in live]


async def backfill(session: AsyncSession, integration: DoorIntegration, now: datetime,
                   object_ids: set[int] | None = None) -> int:
    """Queue a grant for every booking :func:`bookings_to_grant` names; returns how many. The
    worker sends them at its own pace."""
    waiting = await bookings_to_grant(session, integration, now, object_ids)
    for booking, grant in waiting:
        if grant is None:
            session.add(AccessGrant(booking_id=booking.id, integration_id=integration.id, desired=Desired.ACTIVE,
                                    state=GrantState.PENDING, next_attempt_at=now, created_at=now, updated_at=now))
        else:
            await want_active(session, booking, integration, now)
    await session.flush()
    return len(waiting)


def register_handlers(host: Host) -> None:
    from .live import announce
    from .reconcile import reconcile_soon

    async def on_status_changed(session: AsyncSession, booking: Booking, old_status, new_status: str, actor: str):
        touched = await follow_status(session, booking, new_status, host.clock.now())
        if touched:
            await announce(host, session, touched)  # with the booking's change: heard once it commits
            ids = [g.id for g in touched]
            # The integrations were just read (follow_status): their backends cost no statement.
            names = {g.id: (await session.get(DoorIntegration, g.integration_id)).backend for g in touched}
            after_commit(session, lambda: reconcile_soon(host, ids, names))

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
            await announce(host, session, grants)
            ids = [g.id for g in grants]
            after_commit(session, lambda: reconcile_soon(host, ids))

    host.events.subscribe(STATUS_CHANGED, on_status_changed)
    host.events.subscribe(CHANGED, on_changed)
