"""Read side of door access: integrations, live doors, the connection test, the mappable objects,
the access preview and the integration log."""

from __future__ import annotations

from typing import Annotated, Optional
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from addon.base.public import (
    CodedError,
    IsAdmin,
    Ordering,
    ValidationFailed,
    empty_page,
    id_argument,
    int_key,
    keyset_page,
    page_request,
)
from addon.booking.public import BookableObject, BookableObjectType, get_booking

from .. import mapping_edit, policy
from ..backend import access_model_of, backends
from ..models import AccessCallLog, DoorIntegration
from ..plan import AccessPlan, plan_access, resolve_doors
from ..policy import get_integration
from .access_types import AccessRecipientType
from .live_doors import connect, live_doors_cached, resolved_doors
from .types import (
    AccessAction,
    AccessPreviewType,
    ActivationPreview,
    DoorBackendType,
    DoorConnectionTest,
    DoorIntegrationType,
    DoorLocationType,
    DoorMappingChangePreview,
    DoorType,
    IntegrationLogConnection,
    IntegrationLogEntryType,
    LocalTimeType,
)

# Newest first: ids grow with every call recorded.
LOG_NEWEST_FIRST = Ordering("log", (int_key(AccessCallLog.id),), descending=True)


async def integration_or_error(info: Info, integration_id) -> DoorIntegration:
    """For queries: an unknown integration is a coded error, not a null."""
    try:
        return await get_integration(info.context.session, integration_id)
    except ValidationFailed as exc:
        raise CodedError.from_problem(exc.problems[0]) from None


def _preview(plan: AccessPlan, doors_known) -> AccessPreviewType:
    zone = ZoneInfo(plan.time_zone)

    def local(moment):
        if moment is None:  # dates out of range: the problems say so
            return None
        return LocalTimeType(utc=moment, local=moment.astimezone(zone), time_zone=plan.time_zone)

    return AccessPreviewType(
        integration=DoorIntegrationType.from_model(plan.integration),
        action=AccessAction(plan.action),
        reason=plan.reason.text(),
        booked_object=BookableObjectType.from_model(plan.booked_object),
        mapped_object=BookableObjectType.from_model(plan.mapped_object) if plan.mapped_object else None,
        door_names=plan.door_names,
        doors=resolved_doors(plan.door_names, doors_known),
        location_id=plan.location_id,
        valid_from=local(plan.valid_from),
        valid_to=local(plan.valid_to),
        locale=plan.language.language,
        locale_reason=plan.language.reason.text(),
        recipients=[AccessRecipientType(email=r.email, phone_number=r.phone_number) for r in plan.recipients],
        display_name=plan.display_name,
        message=plan.message,
        problems=[p.text() for p in plan.problems],
        warnings=[w.text() for w in plan.warnings],
    )


@strawberry.type
class DoorAccessQuery:
    @strawberry.field(permission_classes=[IsAdmin], description="The lock vendors this installation can talk to.")
    def door_backends(self, info: Info) -> list[DoorBackendType]:
        return [DoorBackendType(name=b.name, label=b.label, access_model=access_model_of(b))
                for b in backends(info.context.host).all()]

    @strawberry.field(permission_classes=[IsAdmin])
    async def door_integrations(self, info: Info, include_archived: Annotated[bool, strawberry.argument(
            description="Also the archived ones.")] = False) -> list[DoorIntegrationType]:
        query = select(DoorIntegration).order_by(DoorIntegration.id)
        if not include_archived:
            query = query.where(DoorIntegration.archived_at.is_(None))
        rows = (await info.context.session.execute(query)).scalars()
        return [DoorIntegrationType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsAdmin])
    async def door_integration(self, info: Info, id: strawberry.ID) -> Optional[DoorIntegrationType]:
        ident = id_argument(id, "DoorIntegration")
        row = await info.context.session.get(DoorIntegration, ident) if ident else None
        return DoorIntegrationType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Fetch a token, the locations and the doors from the lock vendor; changes nothing."))
    async def test_door_connection(self, info: Info, integration_id: strawberry.ID) -> DoorConnectionTest:
        integration = await integration_or_error(info, integration_id)
        report = await (await connect(info.context, integration)).test_connection()
        return DoorConnectionTest(
            ok=report.ok, message=report.message.text(), duration_ms=report.duration_ms,
            locations=[DoorLocationType.from_location(loc) for loc in report.locations],
            doors=[DoorType.from_door(d) for d in report.doors],
        )

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The live door list for the mapping. Errors: BACKEND_UNAVAILABLE (timeout, 429, 5xx: try again) or "
        "BACKEND_REFUSED (credentials, scope or site: fix the backend's settings)."))
    async def doors(self, info: Info, integration_id: strawberry.ID) -> list[DoorType]:
        integration = await integration_or_error(info, integration_id)
        live = await live_doors_cached(info.context, integration)
        if live.doors is None:
            raise CodedError("The door list could not be fetched: {error}",
                             "BACKEND_UNAVAILABLE" if live.transient else "BACKEND_REFUSED", error=live.reason)
        return [DoorType.from_door(d) for d in live.doors]

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "What activating the integration would do now: what stops it, and how many bookings already at a "
        "trigger status would be granted access. Changes nothing."))
    async def activation_preview(self, info: Info, integration_id: strawberry.ID) -> ActivationPreview:
        try:
            problems, count = await policy.activation_preview(info.context.host, info.context.session, integration_id)
        except ValidationFailed as exc:
            raise CodedError.from_problem(exc.problems[0]) from None
        return ActivationPreview(can_activate=not problems, problems=[p.as_user_error() for p in problems],
                                 bookings_to_grant=count)

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "What setDoorMapping with these door names would change for the object: the doors added and removed, "
        "and how many bookings' access would follow. Changes nothing."))
    async def door_mapping_change_preview(self, info: Info, integration_id: strawberry.ID, object_id: strawberry.ID,
                                          door_names: list[str]) -> DoorMappingChangePreview:
        integration = await integration_or_error(info, integration_id)
        try:
            change = await mapping_edit.preview_door_mapping(info.context.session, integration, object_id, door_names,
                                                             info.context.host.clock.now())
        except ValidationFailed as exc:
            raise CodedError.from_problem(exc.problems[0]) from None
        return DoorMappingChangePreview(added=change.added, removed=change.removed,
                                        affected_bookings=change.affected_bookings)

    @strawberry.field(permission_classes=[IsAdmin], description="Main objects each followed by its sub-objects.")
    async def mappable_objects(self, info: Info) -> list[BookableObjectType]:
        rows = (await info.context.session.execute(
            select(BookableObject).where(BookableObject.archived_at.is_(None)).order_by(BookableObject.name))).scalars().all()
        children: dict[int | None, list[BookableObject]] = {}
        for row in rows:
            children.setdefault(row.parent_id, []).append(row)
        ordered: list[BookableObject] = []

        def walk(parent_id):
            for row in children.get(parent_id, []):
                ordered.append(row)
                walk(row.id)

        walk(None)
        return [BookableObjectType.from_model(r) for r in ordered]

    @strawberry.field(permission_classes=[IsAdmin], description="Dry run: what a trigger would do now, per active integration.")
    async def preview_booking_access(self, info: Info, booking_id: strawberry.ID) -> list[AccessPreviewType]:
        session = info.context.session
        try:
            booking = await get_booking(session, booking_id)
        except ValidationFailed as exc:
            raise CodedError.from_problem(exc.problems[0]) from None
        integrations = (await session.execute(
            select(DoorIntegration).where(DoorIntegration.active.is_(True)).order_by(DoorIntegration.id)
        )).scalars().all()
        now = info.context.host.clock.now()
        plans = [await plan_access(session, integration, booking, now) for integration in integrations]
        previews = []
        for plan in plans:
            live = None
            if plan.mapped_object is not None:  # only then is the door list needed
                live = await live_doors_cached(info.context, plan.integration)
                resolve_doors(plan, live.doors, live.where, live.reason)
            previews.append(_preview(plan, live.doors if live else None))
        return previews

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "Calls made to the lock vendor, newest first. Page with first/after or last/before (default: the first 50)."))
    async def integration_log(self, info: Info, integration_id: strawberry.ID, booking_id: Optional[strawberry.ID] = None,
                              first: Optional[int] = None, after: Optional[str] = None, last: Optional[int] = None,
                              before: Optional[str] = None) -> IntegrationLogConnection:
        ctx = info.context
        request = page_request(first, after, last, before, ctx.host.settings.max_page_size)
        integration = id_argument(integration_id, "DoorIntegration")
        booking = id_argument(booking_id, "Booking") if booking_id is not None else None
        if integration is None or (booking_id is not None and booking is None):
            return empty_page(IntegrationLogConnection)  # no row has such an id
        query = select(AccessCallLog).where(AccessCallLog.integration_id == integration)
        if booking is not None:
            query = query.where(AccessCallLog.booking_id == booking)
        return await keyset_page(ctx.session, query, LOG_NEWEST_FIRST, request, IntegrationLogConnection,
                                 IntegrationLogEntryType.from_model)
