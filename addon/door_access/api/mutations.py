"""Write side of door access: the Details and Mapping tabs, activation, and the repair tools."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import (
    IsAdmin,
    IsStaff,
    UserError,
    ValidationFailed,
    run_in_transaction,
)
from addon.booking.public import BookableObject, BookingType

from .. import mapping_edit, policy, repair
from ..archiving import LiveAccess, archive_integration
from ..reconcile import reconcile_now
from ..worker import running_worker
from .live_doors import live_doors_cached, mapping_warnings, resolved_doors
from .mapping_types import DoorMappingType
from .types import (
    ArchiveDoorIntegrationPayload,
    DoorIntegrationPayload,
    DoorIntegrationType,
    SetDoorIntegrationActivePayload,
    SetDoorMappingPayload,
)

LiveAccessChoice = strawberry.enum(LiveAccess, name="LiveAccessChoice", description=(
    "What archiving an integration does with the door access it gives now."))


@strawberry.input
class ArchiveDoorIntegrationInput:
    id: strawberry.ID
    archived: bool = strawberry.field(default=True, description="False restores it (inactive).")
    live_access: Optional[LiveAccessChoice] = strawberry.field(default=None, description=(
        "Required when the integration gives live access: KEEP_UNTIL_END leaves each live set until its window "
        "ends, REVOKE_NOW has the worker revoke them all."))


@strawberry.input(description="A new integration: its backend (see doorBackends) and the Details tab.")
class CreateDoorIntegrationInput:
    backend: str = strawberry.field(description="The lock vendor: a name from doorBackends.")
    name: Optional[str] = strawberry.field(default=None, description="Default: the backend's name.")
    trigger_statuses: list[str] = strawberry.field(default_factory=list)
    revoke_statuses: list[str] = strawberry.field(default_factory=list)
    time_before_minutes: int = 0
    authorization_id_field: Optional[str] = None
    default_language: str = "en"
    open_action_field: Optional[str] = None
    checkin_status: Optional[str] = None


@strawberry.input(description="Only the fields given change; null clears an optional field.")
class UpdateDoorIntegrationInput:
    id: strawberry.ID
    name: Optional[str] = strawberry.UNSET
    trigger_statuses: Optional[list[str]] = strawberry.UNSET
    revoke_statuses: Optional[list[str]] = strawberry.UNSET
    time_before_minutes: Optional[int] = strawberry.UNSET
    authorization_id_field: Optional[str] = strawberry.UNSET
    default_language: Optional[str] = strawberry.UNSET
    open_action_field: Optional[str] = strawberry.UNSET
    checkin_status: Optional[str] = strawberry.UNSET


@strawberry.input
class SetDoorIntegrationActiveInput:
    integration_id: strawberry.ID
    active: bool


@strawberry.input
class SetDoorMappingInput:
    integration_id: strawberry.ID
    object_id: strawberry.ID
    door_names: list[str] = strawberry.field(description="Door names; an empty list removes the mapping.")


@strawberry.input
class BookingAccessInput:
    booking_id: strawberry.ID


@strawberry.input(description="Send the guest a new door link.")
class ReissueBookingAccessInput:
    booking_id: strawberry.ID
    integration_id: Optional[strawberry.ID] = strawberry.field(default=None, description=(
        "The integration whose link is sent again; may be left out when the booking has access through one "
        "integration only."))


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


async def _record_then_reconcile(ctx, work) -> BookingAccessPayload:
    """Commit the access intent ``work`` records, then reconcile the grants it names, waiting for
    them before answering. ``work`` returns the booking and the grant ids, read inside its own
    transaction."""
    done, errors = await run_in_transaction(ctx.session, work)
    if errors:
        return BookingAccessPayload(booking=None, errors=errors)
    booking, grant_ids = done
    await reconcile_now(ctx.host, grant_ids)
    ctx.session.expunge_all()
    return BookingAccessPayload(booking=BookingType.from_model(booking), errors=[])


def _wake_worker(host, queued: int | None) -> None:
    """Work was queued for the worker (not reconciled in the request): start on it now."""
    worker = running_worker(host)
    if worker is not None and queued:
        worker.wake()


@strawberry.type
class DoorAccessMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Add an integration with a lock vendor; its credentials are set with the backend's own mutation."))
    async def create_door_integration(self, info: Info, input: CreateDoorIntegrationInput) -> DoorIntegrationPayload:
        ctx = info.context
        changes = policy.PolicyChanges.from_input(input)
        row, errors = await run_in_transaction(
            ctx.session, lambda s: policy.create_integration(ctx.host, s, input.backend, changes))
        return DoorIntegrationPayload(integration=row and DoorIntegrationType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="The Details tab.")
    async def update_door_integration(self, info: Info, input: UpdateDoorIntegrationInput) -> DoorIntegrationPayload:
        ctx = info.context
        changes = policy.PolicyChanges.from_input(input)
        row, errors = await run_in_transaction(
            ctx.session, lambda s: policy.update_integration(ctx.host, s, input.id, changes))
        return DoorIntegrationPayload(integration=row and DoorIntegrationType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Activation checks the whole configuration first; deactivation is the rollback switch."))
    async def set_door_integration_active(self, info: Info, input: SetDoorIntegrationActiveInput
                                          ) -> SetDoorIntegrationActivePayload:
        ctx = info.context
        done, errors = await run_in_transaction(
            ctx.session, lambda s: policy.set_active(ctx.host, s, input.integration_id, input.active))
        if errors:
            return SetDoorIntegrationActivePayload(integration=None, grants_queued=0, errors=errors)
        integration, queued = done
        _wake_worker(ctx.host, queued)
        return SetDoorIntegrationActivePayload(integration=DoorIntegrationType.from_model(integration),
                                               grants_queued=queued, errors=[])

    @strawberry.mutation(permission_classes=[IsAdmin], description="Map one object to one or more doors, by name.")
    async def set_door_mapping(self, info: Info, input: SetDoorMappingInput) -> SetDoorMappingPayload:
        ctx = info.context
        try:
            integration = await policy.get_integration(ctx.session, input.integration_id)
        except ValidationFailed as exc:
            return SetDoorMappingPayload(mapping=None, warnings=[], affected_bookings=0, errors=exc.user_errors())
        live = None
        if input.door_names:  # removing a mapping needs no door list
            live = await live_doors_cached(ctx, integration)
        live_names = [d.name for d in live.doors] if live and live.doors is not None else ([] if live is None else None)

        async def work(session):
            current = await policy.get_integration(session, input.integration_id, lock=True)
            return await mapping_edit.set_door_mapping(session, current, input.object_id, input.door_names, live_names,
                                                  live.reason if live else None, ctx.host.clock.now())

        result, errors = await run_in_transaction(ctx.session, work)
        if errors:
            return SetDoorMappingPayload(mapping=None, warnings=[], affected_bookings=0, errors=errors)
        _wake_worker(ctx.host, result.affected_bookings)
        if result.mapping is None:
            return SetDoorMappingPayload(mapping=None, warnings=[], affected_bookings=result.affected_bookings,
                                         errors=[])
        obj = await ctx.session.get(BookableObject, result.mapping.object_id)
        names = list(result.mapping.door_names)
        # Stored, but worth a look: an offline or ambiguous door, doors in several places, or the
        # vendor unreachable (then the names were stored unchecked).
        warnings = [w.text() for w in result.warnings] if live.doors is None else mapping_warnings(names, live)
        found = DoorMappingType.build(result.mapping, obj, resolved_doors(names, live.doors), warnings)
        return SetDoorMappingPayload(mapping=found, warnings=warnings, affected_bookings=result.affected_bookings,
                                     errors=[])

    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Reconcile the booking's door access now: what its status asks for, against the lock vendor."))
    async def resync_booking_access(self, info: Info, input: BookingAccessInput) -> BookingAccessPayload:
        ctx = info.context
        return await _record_then_reconcile(ctx, lambda s: repair.resync(ctx.host, s, input.booking_id))

    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Revoke the booking's door access whatever its status; who asked is recorded on the grant."))
    async def revoke_booking_access(self, info: Info, input: BookingAccessInput) -> BookingAccessPayload:
        ctx = info.context
        return await _record_then_reconcile(ctx, lambda s: repair.revoke(ctx.host, s, input.booking_id, ctx.actor))

    @strawberry.mutation(permission_classes=[IsStaff], description=(
        "Send the guest a new door link (they lost it, or it went to an old address): a new access set is made "
        "— the lock vendor sends its link to the guest's e-mail address and phone number as they are now — and "
        "then the old set is revoked. Only for ACTIVE access of a booking entitled to it now; audited."))
    async def reissue_booking_access(self, info: Info, input: ReissueBookingAccessInput) -> BookingAccessPayload:
        ctx = info.context
        return await _record_then_reconcile(
            ctx, lambda s: repair.reissue(ctx.host, s, input.booking_id, input.integration_id))

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Queue every FAILED grant of an integration again (after fixing its configuration)."))
    async def retry_failed_access(self, info: Info, input: RetryFailedAccessInput) -> RetryFailedAccessPayload:
        ctx = info.context
        count, errors = await run_in_transaction(ctx.session, lambda s: repair.retry_failed(ctx.host, s, input.integration_id))
        _wake_worker(ctx.host, count)
        return RetryFailedAccessPayload(requeued=count or 0, errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Archive (or restore) an integration: it is deactivated, hidden from doorIntegrations (unless "
        "includeArchived) and cannot be activated; its grants and call log stay. Access on its way stops; "
        "live access stays until it ends or is revoked now, as liveAccess says (the worker does it)."))
    async def archive_door_integration(self, info: Info, input: ArchiveDoorIntegrationInput
                                       ) -> ArchiveDoorIntegrationPayload:
        ctx = info.context
        done, errors = await run_in_transaction(ctx.session, lambda s: archive_integration(
            ctx.host, s, input.id, input.archived, input.live_access))
        if errors:
            return ArchiveDoorIntegrationPayload(integration=None, grants_revoked=0, errors=errors)
        integration, queued = done
        _wake_worker(ctx.host, queued)
        return ArchiveDoorIntegrationPayload(integration=DoorIntegrationType.from_model(integration),
                                             grants_revoked=queued, errors=[])
