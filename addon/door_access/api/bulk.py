"""Bulk repair: queue a resync of every grant that matches a filter (integration, object with its
sub-objects, booking start, state); the worker works through them at its own pace."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from addon.base.public import (
    Host,
    IsStaff,
    UserError,
    ValidationFailed,
    audit,
    run_in_transaction,
)
from addon.booking.public import BookableObject, Booking, get_object

from ..models import AccessGrant, Desired, DoorIntegration, GrantState
from ..policy import get_integration
from ..worker import running_worker
from .access_types import GrantStateType

# What a resync is for when no states are named: every grant that may still need the vendor.
LIVE_STATES = (GrantState.PENDING, GrantState.ACTIVE, GrantState.FAILED, GrantState.REVOKING)


@strawberry.input(description="Which grants to resync; every filter is optional, those given all apply.")
class ResyncAccessInput:
    integration_id: Optional[strawberry.ID] = strawberry.field(default=None, description=(
        "Only this integration's grants (it must be active); default: every active integration."))
    object_id: Optional[strawberry.ID] = strawberry.field(default=None, description=(
        "Only bookings of this object and its sub-objects."))
    starts_from: Optional[datetime] = strawberry.field(default=None, description="Bookings starting at or after this.")
    starts_until: Optional[datetime] = strawberry.field(default=None, description="Bookings starting before this.")
    states: Optional[list[GrantStateType]] = strawberry.field(default=None, description=(
        "Only grants in these states; default: every state but REVOKED."))


@strawberry.type
class ResyncAccessPayload:
    queued: int = strawberry.field(description="How many grants were queued for a resync.")
    errors: list[UserError]


def _aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationFailed.one("INVALID", "A date-time needs a time-zone offset (e.g. 2026-06-12T14:00:00+02:00).",
                                   field)
    return value


async def _with_sub_objects(session: AsyncSession, object_id: int) -> set[int]:
    """The object and everything below it, at any depth."""
    children: dict[int | None, list[int]] = {}
    for ident, parent_id in (await session.execute(select(BookableObject.id, BookableObject.parent_id))).all():
        children.setdefault(parent_id, []).append(ident)
    found, todo = set(), [object_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return found


async def queue_resync(host: Host, session: AsyncSession, integration_id=None, object_id=None,
                       starts_from: datetime | None = None, starts_until: datetime | None = None,
                       states: list[GrantState] | None = None) -> int:
    """Mark every matching grant of an active integration due; returns how many. A FAILED grant
    starts afresh (PENDING, or REVOKING when revocation is wanted), as ``retryFailedAccess`` does."""
    query = (select(AccessGrant.id)
             .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
             .where(DoorIntegration.active.is_(True)))
    filters: dict = {}  # as the audit trail shows them
    if integration_id is not None:
        integration = await get_integration(session, integration_id)
        if not integration.active:
            raise ValidationFailed.one("INACTIVE", "The integration is not active.", "integrationId")
        query = query.where(AccessGrant.integration_id == integration.id)
        filters["integration_id"] = integration.id
    _aware(starts_from, "startsFrom")
    _aware(starts_until, "startsUntil")
    if starts_from is not None and starts_until is not None and starts_until <= starts_from:
        raise ValidationFailed.one("INVALID", "The end must be after the start.", "startsUntil")
    if object_id is not None or starts_from is not None or starts_until is not None:
        query = query.join(Booking, Booking.id == AccessGrant.booking_id)
    if object_id is not None:
        obj = await get_object(session, object_id)
        query = query.where(Booking.object_id.in_(await _with_sub_objects(session, obj.id)))
        filters["object_id"] = obj.id
    if starts_from is not None:
        query = query.where(Booking.start_at >= starts_from)
    if starts_until is not None:
        query = query.where(Booking.start_at < starts_until)
    query = query.where(AccessGrant.state.in_([GrantState(s) for s in states] if states else LIVE_STATES))
    filters.update(starts_from=starts_from, starts_until=starts_until,
                   states=[str(GrantState(s)) for s in states] if states else None)
    now = host.clock.now()
    failed = AccessGrant.state == GrantState.FAILED
    result = await session.execute(
        update(AccessGrant).where(AccessGrant.id.in_(query)).values(
            state=case((failed, case((AccessGrant.desired == Desired.ACTIVE, GrantState.PENDING),
                                     else_=GrantState.REVOKING)), else_=AccessGrant.state),
            attempts=case((failed, 0), else_=AccessGrant.attempts),
            # as a new intent: a reconcile under way with an older one leaves the grant due
            intent_version=AccessGrant.intent_version + 1,
            next_attempt_at=now,
            updated_at=now,
        ).execution_options(synchronize_session=False)
    )
    if result.rowcount:
        # The filters given (no old value: facts, not changes) and how many grants were queued.
        changes = audit.diff({}, {**filters, "queued": result.rowcount})
        await audit.record(session, "access.bulk_resync", "integration" if integration_id is not None else None,
                           filters.get("integration_id"), changes)
    return result.rowcount


@strawberry.type
class BulkRepairMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Queue a resync of every grant that matches the filter (e.g. after an outage at the lock vendor); the "
        "worker compares each with the vendor and repairs it at its own pace. Answers how many were queued."))
    async def resync_access(self, info: Info, input: ResyncAccessInput) -> ResyncAccessPayload:
        ctx = info.context
        count, errors = await run_in_transaction(ctx.session, lambda s: queue_resync(
            ctx.host, s, input.integration_id, input.object_id, input.starts_from, input.starts_until, input.states))
        worker = running_worker(ctx.host)
        if worker is not None and count:
            worker.wake()
        return ResyncAccessPayload(queued=count or 0, errors=errors)
