"""Door access repair operations for staff and admins, and the integration log."""

from __future__ import annotations

import base64
import binascii
from typing import Optional

import strawberry
from sqlalchemy import case, select, update
from strawberry.types import Info

from addon.base.db import id_in_range, utcnow
from addon.base.errors import CodedError, UserError, ValidationFailed
from addon.base.mutations import run_in_transaction
from addon.base.permissions import IsAdmin, IsStaff
from addon.booking.api.types import BookingType
from addon.booking.models import BookingStatus
from addon.booking.services import get_booking

from .. import config
from ..intent import follow_status, want_revoked
from ..models import DESIRED_ACTIVE, GrantState, ResivoAccessGrant, ResivoCallLog
from ..reconcile import reconcile_now
from .access_types import IntegrationLogConnection, IntegrationLogEdge, IntegrationLogEntryType, IntegrationLogPageInfo


@strawberry.input
class BookingAccessInput:
    booking_id: strawberry.ID


@strawberry.input
class RetryFailedAccessInput:
    integration_id: strawberry.ID


@strawberry.type
class BookingAccessPayload:
    booking: Optional[BookingType]
    errors: list[UserError]


@strawberry.type
class RetryFailedAccessPayload:
    requeued: int = strawberry.field(description="How many failed grants were queued again.")
    errors: list[UserError]


async def _grant_ids(session, booking_id: int) -> list[int]:
    return list((await session.execute(
        select(ResivoAccessGrant.id).where(ResivoAccessGrant.booking_id == booking_id)
    )).scalars().all())


async def _record_then_reconcile(ctx, work) -> BookingAccessPayload:
    """Commit the access intent ``work`` records, then reconcile the grants it names.

    ``work`` returns the booking and the grant ids read inside its transaction: reading them
    afterwards would open a new transaction on the request's session, which on SQLite holds
    the write lock that the reconcile needs."""
    done, errors = await run_in_transaction(ctx.session, work)
    if errors:
        return BookingAccessPayload(booking=None, errors=errors)
    booking, grant_ids = done
    await reconcile_now(ctx.host, grant_ids)
    ctx.session.expunge_all()
    return BookingAccessPayload(booking=BookingType.from_model(booking), errors=[])


@strawberry.type
class ResivoAccessMutation:
    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Reconcile the booking's door access now: what its status asks for, against Resivo."))
    async def resync_booking_access(self, info: Info, input: BookingAccessInput) -> BookingAccessPayload:
        ctx = info.context

        async def work(session):
            booking = await get_booking(session, input.booking_id, lock=True)
            status = await session.get(BookingStatus, booking.status_id)
            await follow_status(session, booking, status.code)
            return booking, await _grant_ids(session, booking.id)

        return await _record_then_reconcile(ctx, work)

    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Revoke the booking's door access whatever its status; who asked is recorded on the grant."))
    async def revoke_booking_access(self, info: Info, input: BookingAccessInput) -> BookingAccessPayload:
        ctx = info.context

        async def work(session):
            booking = await get_booking(session, input.booking_id, lock=True)
            integrations = (await session.execute(select(config.ResivoIntegration))).scalars().all()
            touched = [g for i in integrations if (g := await want_revoked(session, booking, i, actor=ctx.actor))]
            if not touched:
                raise ValidationFailed.one("NOT_FOUND", "This booking has no door access to revoke.", "bookingId")
            return booking, [g.id for g in touched]

        return await _record_then_reconcile(ctx, work)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Queue every FAILED grant of an integration again (after fixing its configuration)."))
    async def retry_failed_access(self, info: Info, input: RetryFailedAccessInput) -> RetryFailedAccessPayload:
        ctx = info.context

        async def work(session):
            integration = await config.get_integration(session, input.integration_id)
            now = utcnow()
            result = await session.execute(
                update(ResivoAccessGrant)
                .where(ResivoAccessGrant.integration_id == integration.id, ResivoAccessGrant.state == GrantState.FAILED)
                .values(state=case((ResivoAccessGrant.desired == DESIRED_ACTIVE, GrantState.PENDING),
                                   else_=GrantState.REVOKING),
                        attempts=0, next_attempt_at=now, updated_at=now,
                        intent_version=ResivoAccessGrant.intent_version + 1)
            )
            return result.rowcount

        count, errors = await run_in_transaction(ctx.session, work)
        worker = ctx.host.services.get("resivo.worker")
        if worker is not None and count:
            worker.wake()
        return RetryFailedAccessPayload(requeued=count or 0, errors=errors)


def _decode(cursor: str) -> int:
    try:
        ident = int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("log:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        ident = 0
    if not id_in_range(ident):  # also keeps numbers PostgreSQL cannot compare out of the query
        raise CodedError("Invalid cursor {cursor!r}.", "BAD_USER_INPUT", cursor=cursor)
    return ident


def _encode(ident: int) -> str:
    return base64.urlsafe_b64encode(f"log:{ident}".encode()).decode()


@strawberry.type
class ResivoAccessQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="Calls made to Resivo, newest first.")
    async def integration_log(self, info: Info, integration_id: strawberry.ID, booking_id: Optional[strawberry.ID] = None,
                              first: int = 50, after: Optional[str] = None) -> IntegrationLogConnection:
        limit = info.context.host.settings.max_page_size
        if not 1 <= first <= limit:
            raise CodedError("first must be between 1 and {limit}.", "BAD_USER_INPUT", limit=limit)
        try:
            ids = [int(integration_id)] + ([int(booking_id)] if booking_id is not None else [])
        except ValueError:
            raise CodedError("Invalid id.", "BAD_USER_INPUT") from None
        if not all(id_in_range(i) for i in ids):
            # No row has such an id (and PostgreSQL refuses to compare it): an empty page.
            return IntegrationLogConnection(edges=[], page_info=IntegrationLogPageInfo(has_next_page=False, end_cursor=None))
        query = select(ResivoCallLog).where(ResivoCallLog.integration_id == ids[0])
        if booking_id is not None:
            query = query.where(ResivoCallLog.booking_id == ids[1])
        if after:
            query = query.where(ResivoCallLog.id < _decode(after))
        rows = (await info.context.session.execute(query.order_by(ResivoCallLog.id.desc()).limit(first + 1))).scalars().all()
        edges = [IntegrationLogEdge(cursor=_encode(r.id), node=IntegrationLogEntryType.from_model(r)) for r in rows[:first]]
        return IntegrationLogConnection(edges=edges, page_info=IntegrationLogPageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None))
