"""Admin GraphQL operations of the integration: Authentication, Details, Mapping, activation,
connection test and the access preview."""

from __future__ import annotations

from typing import Optional
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from addon.base.errors import CodedError
from addon.base.mutations import run_in_transaction
from addon.base.permissions import IsAdmin
from addon.booking.api.types import BookableObjectType
from addon.booking.models import BookableObject
from addon.booking.services import get_booking
from addon.base.errors import ValidationFailed

from .. import config
from addon.base.db import id_in_range, release

from ..connection_test import test_connection
from ..models import ResivoIntegration
from ..plan import AccessPlan, plan_access, resolve_doors
from .resolvers import live_doors_cached, mapping_warnings, resolved_doors
from .types import (
    AccessPreviewType,
    AccessRecipientType,
    ConnectionTestPayload,
    DoorMappingType,
    LocalTimeType,
    ResivoComponentType,
    ResivoIntegrationPayload,
    ResivoIntegrationType,
    ResivoSiteType,
    SetDoorMappingPayload,
)


@strawberry.input(description=(
    "siteOwnerId, clientId and clientSecret are required; they are nullable in the schema on purpose, so "
    "that a missing one comes back in errors (field + code) and a schema error never echoes the input, "
    "secret included."))
class CreateResivoIntegrationInput:
    site_owner_id: Optional[str] = strawberry.field(default=None, description="Required: the Customer ID from the Resivo portal.")
    client_id: Optional[str] = strawberry.field(default=None, description="Required: the OAuth client id of the credential.")
    client_secret: Optional[str] = strawberry.field(default=None, description="Required and write-only; stored encrypted.")
    name: Optional[str] = "Resivo"
    site_id: Optional[str] = None
    target_mobile_app_id: Optional[int] = strawberry.field(default=None, description="Numeric Legic app id.")
    base_url: Optional[str] = strawberry.field(default=None, description="Default: the production Resivo API.")
    trigger_statuses: list[str] = strawberry.field(default_factory=list)
    revoke_statuses: list[str] = strawberry.field(default_factory=list)
    time_before_minutes: int = 0
    authorization_id_field: Optional[str] = None
    default_language: str = "en"


@strawberry.input(description="Only the fields given change; null clears an optional field.")
class UpdateResivoIntegrationInput:
    id: strawberry.ID
    name: Optional[str] = strawberry.UNSET
    site_owner_id: Optional[str] = strawberry.UNSET
    client_id: Optional[str] = strawberry.UNSET
    client_secret: Optional[str] = strawberry.UNSET
    site_id: Optional[str] = strawberry.UNSET
    target_mobile_app_id: Optional[int] = strawberry.UNSET
    base_url: Optional[str] = strawberry.UNSET
    trigger_statuses: Optional[list[str]] = strawberry.UNSET
    revoke_statuses: Optional[list[str]] = strawberry.UNSET
    time_before_minutes: Optional[int] = strawberry.UNSET
    authorization_id_field: Optional[str] = strawberry.UNSET
    default_language: Optional[str] = strawberry.UNSET


@strawberry.input
class SetDoorMappingInput:
    integration_id: strawberry.ID
    object_id: strawberry.ID
    component_names: list[str] = strawberry.field(description="Door display names; an empty list removes the mapping.")


@strawberry.input
class SetResivoIntegrationActiveInput:
    integration_id: strawberry.ID
    active: bool


def _changes(data) -> config.IntegrationChanges:
    changes = config.IntegrationChanges()
    for name in changes.__dataclass_fields__:
        value = getattr(data, name, strawberry.UNSET)
        if value is not strawberry.UNSET:
            setattr(changes, name, value)
    return changes


async def _integration_or_error(info: Info, integration_id) -> ResivoIntegration:
    try:
        return await config.get_integration(info.context.session, integration_id)
    except ValidationFailed as exc:
        raise CodedError.from_problem(exc.problems[0]) from None


def _preview(plan: AccessPlan, doors_known) -> AccessPreviewType:
    zone = ZoneInfo(plan.time_zone)

    def local(moment):
        return LocalTimeType(utc=moment, local=moment.astimezone(zone), time_zone=plan.time_zone)

    return AccessPreviewType(
        integration=ResivoIntegrationType.from_model(plan.integration),
        action=plan.action,
        reason=plan.reason.text(),
        booked_object=BookableObjectType.from_model(plan.booked_object),
        mapped_object=BookableObjectType.from_model(plan.mapped_object) if plan.mapped_object else None,
        component_names=plan.component_names,
        doors=resolved_doors(plan.component_names, doors_known),
        site_id=plan.site_id,
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
class ResivoConfigQuery:
    @strawberry.field(permission_classes=[IsAdmin])
    async def resivo_integrations(self, info: Info) -> list[ResivoIntegrationType]:
        rows = (await info.context.session.execute(select(ResivoIntegration).order_by(ResivoIntegration.id))).scalars()
        return [ResivoIntegrationType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsAdmin])
    async def resivo_integration(self, info: Info, id: strawberry.ID) -> Optional[ResivoIntegrationType]:
        try:
            ident = int(str(id))
        except ValueError:
            raise CodedError("Invalid integration id {id!r}.", "BAD_USER_INPUT", id=id) from None
        row = await info.context.session.get(ResivoIntegration, ident) if id_in_range(ident) else None
        return ResivoIntegrationType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsAdmin], description="Fetch a token, the sites and the doors; changes nothing.")
    async def test_resivo_connection(self, info: Info, integration_id: strawberry.ID) -> ConnectionTestPayload:
        integration = await _integration_or_error(info, integration_id)
        await release(info.context.session)
        report = await test_connection(info.context.host, integration)
        return ConnectionTestPayload(
            ok=report.ok, message=report.message.text(), duration_ms=report.duration_ms,
            sites=[ResivoSiteType(id=s.id, name=s.display_name, default_locale=s.default_locale, time_zone=s.time_zone)
                   for s in report.sites],
            components=[ResivoComponentType.from_door(d) for d in report.doors],
        )

    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The live door list for the mapping dropdown. Errors: RESIVO_UNAVAILABLE (timeout, 429, 5xx: try "
        "again) or RESIVO_REFUSED (credentials, scope or site: fix the Authentication tab)."))
    async def resivo_components(self, info: Info, integration_id: strawberry.ID) -> list[ResivoComponentType]:
        integration = await _integration_or_error(info, integration_id)
        live = await live_doors_cached(info, integration)
        if live.doors is None:
            # UNAVAILABLE may pass by itself (try again); REFUSED needs the configuration fixed.
            raise CodedError("The door list could not be fetched: {error}",
                             "RESIVO_UNAVAILABLE" if live.transient else "RESIVO_REFUSED", error=live.reason)
        return [ResivoComponentType.from_door(d) for d in live.doors]

    @strawberry.field(permission_classes=[IsAdmin], description="Main objects each followed by its sub-objects.")
    async def mappable_objects(self, info: Info) -> list[BookableObjectType]:
        rows = (await info.context.session.execute(select(BookableObject).order_by(BookableObject.name))).scalars().all()
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
        integrations = (
            await session.execute(select(ResivoIntegration).where(ResivoIntegration.active.is_(True)).order_by(ResivoIntegration.id))
        ).scalars().all()
        plans = [await plan_access(info.context.host, session, integration, booking) for integration in integrations]
        previews = []
        for plan in plans:
            doors, unreachable = (None, None)
            if plan.mapped_object is not None:  # only then is the door list needed
                doors, unreachable, _ = await live_doors_cached(info, plan.integration)
            previews.append(_preview(resolve_doors(plan, doors, unreachable), doors))
        return previews


@strawberry.type
class ResivoConfigMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_resivo_integration(self, info: Info, input: CreateResivoIntegrationInput) -> ResivoIntegrationPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: config.create_integration(ctx.host, s, _changes(input)))
        return ResivoIntegrationPayload(integration=row and ResivoIntegrationType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_resivo_integration(self, info: Info, input: UpdateResivoIntegrationInput) -> ResivoIntegrationPayload:
        ctx = info.context
        row, errors = await run_in_transaction(
            ctx.session, lambda s: config.update_integration(ctx.host, s, input.id, _changes(input)))
        return ResivoIntegrationPayload(integration=row and ResivoIntegrationType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Activation checks the configuration first.")
    async def set_resivo_integration_active(self, info: Info, input: SetResivoIntegrationActiveInput) -> ResivoIntegrationPayload:
        ctx = info.context
        row, errors = await run_in_transaction(
            ctx.session, lambda s: config.set_active(ctx.host, s, input.integration_id, input.active))
        return ResivoIntegrationPayload(integration=row and ResivoIntegrationType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Map one object to one or more doors, by name.")
    async def set_door_mapping(self, info: Info, input: SetDoorMappingInput) -> SetDoorMappingPayload:
        ctx = info.context
        integration = None
        try:
            integration = await config.get_integration(ctx.session, input.integration_id)
        except ValidationFailed as exc:
            return SetDoorMappingPayload(mapping=None, warnings=[], errors=exc.user_errors())
        live, unreachable = [], None
        if input.component_names:  # removing a mapping needs no door list
            live, unreachable, _ = await live_doors_cached(info, integration)
        live_names = [d.name for d in live] if live is not None else None

        async def work(session):
            current = await config.get_integration(session, input.integration_id, lock=True)
            return await config.set_door_mapping(session, current, input.object_id, input.component_names,
                                                 live_names, unreachable)

        result, errors = await run_in_transaction(ctx.session, work)
        if errors:
            return SetDoorMappingPayload(mapping=None, warnings=[], errors=errors)
        mapping = None
        if result.mapping is not None:
            obj = await ctx.session.get(BookableObject, result.mapping.object_id)
            names = list(result.mapping.component_names)
            # Stored, but worth a look: an offline or ambiguous door, doors on several sites, or
            # Resivo unreachable (then the names were stored unchecked).
            warnings = [w.text() for w in result.warnings] if live is None else mapping_warnings(integration, names, live, None)
            mapping = DoorMappingType(object=BookableObjectType.from_model(obj), component_names=names,
                                      doors=resolved_doors(names, live), warnings=warnings)
        return SetDoorMappingPayload(mapping=mapping, warnings=mapping.warnings if mapping else [], errors=[])
