"""The Authentication tab (Environment, Site UID, Username, Password; Resolve site ID) and the IQ
OTP setup (GET PIN, Set PIN) over GraphQL. "Test / request access" is the core's
``testDoorConnection``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Optional, TypeVar

import strawberry
from strawberry.types import Info

from addon.base.public import IsAdmin, UserError, ValidationFailed, run_in_transaction
from addon.door_access.public import DoorIntegration, DoorIntegrationPayload, DoorIntegrationType

from .. import iq_setup, site_resolution
from ..credentials import CredentialChanges, set_credentials
from .types import SaltoKsEnvironment

T = TypeVar("T")


@strawberry.input(description=(
    "The Authentication tab. The first time, environment, siteUid, username and password are required; later only "
    "the fields given change. They are nullable in the schema on purpose: a missing one comes back in errors "
    "(field + code), and a schema error never echoes the input, password included. Changing the Environment or "
    "the Site UID clears the Site ID and the IQ's activation."))
class SetSaltoKsCredentialsInput:
    integration_id: strawberry.ID
    environment: Optional[SaltoKsEnvironment] = strawberry.field(default=strawberry.UNSET, description=(
        "Environment: Acceptance (testing) or Production (live)."))
    site_uid: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "Site UID: the human-readable site code, e.g. NL6254340082."))
    username: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "Username: the Salto KS account's username (a service account with administrative rights on the site)."))
    password: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "Password: write-only; stored encrypted."))


@strawberry.input(description="Resolve site ID: look the Site ID up from the stored Site UID.")
class ResolveSaltoKsSiteIdInput:
    integration_id: strawberry.ID


@strawberry.input(description="GET PIN: fetch the IQ's current pin (IQ OTP setup, steps 1 and 2).")
class GetSaltoKsPinInput:
    integration_id: strawberry.ID
    iq_id: Optional[str] = strawberry.field(default=None, description=(
        "IQ id: the IQ gateway's UUID. Required the first time; default: the stored one."))


@strawberry.input(description="Set PIN: set a new pin on the IQ, signed with the one-time password of the current "
                              "pin (IQ OTP setup, steps 3 and 4). GET PIN first.")
class SetSaltoKsPinInput:
    integration_id: strawberry.ID
    new_pin: Optional[str] = strawberry.field(default=None, description="New pin: exactly 4 digits.")


@strawberry.type(description="Result of GET PIN.")
class GetSaltoKsPinPayload:
    integration: Optional[DoorIntegrationType]
    current_pin: Optional[str] = strawberry.field(description=(
        "Current pin: the IQ's pin now, shown this once (it is never answered anywhere else)."))
    message: Optional[str] = strawberry.field(description="What to do next, in the caller's language.")
    errors: list[UserError]


@strawberry.type(description="Result of Set PIN: on success the integration's saltoKs.iqStatus reads "
                             "\"IQ is activated\".")
class SetSaltoKsPinPayload:
    integration: Optional[DoorIntegrationType]
    message: Optional[str] = strawberry.field(description="\"IQ is activated\" on success, in the caller's language.")
    errors: list[UserError]


async def _refused(work: Callable[[], Awaitable[T]]) -> tuple[T | None, list[UserError]]:
    """Run the part that reads and asks Salto KS; a refusal becomes user errors."""
    try:
        return await work(), []
    except ValidationFailed as exc:
        return None, exc.user_errors()


def _answer(info: Info, row: DoorIntegration | None) -> DoorIntegrationType | None:
    """The integration as the mutation left it: the request's cached settings row is dropped, so
    that a later field (or mutation) of the same request reads it afresh."""
    if row is None:
        return None
    info.context.loader("salto_ks.credentials").clear_all()
    return DoorIntegrationType.from_model(row)


def _changes(input: SetSaltoKsCredentialsInput) -> CredentialChanges:
    changes = CredentialChanges.from_input(input)
    if isinstance(changes.environment, SaltoKsEnvironment):
        changes.environment = changes.environment.value
    return changes


@strawberry.type
class SaltoKsMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Save the Authentication tab of a Salto KS integration (Environment, Site UID, Username, Password)."))
    async def set_salto_ks_credentials(self, info: Info, input: SetSaltoKsCredentialsInput) -> DoorIntegrationPayload:
        ctx = info.context
        row, errors = await run_in_transaction(
            ctx.session, lambda s: set_credentials(ctx.host, s, input.integration_id, _changes(input)))
        return DoorIntegrationPayload(integration=_answer(info, row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Resolve site ID: look the site up by its Site UID and store its Site ID. Errors: SITE_UNKNOWN, "
        "CREDENTIALS_REJECTED, NOT_CONFIGURED (the Environment), BACKEND_UNAVAILABLE (try again), BACKEND_REFUSED."))
    async def resolve_salto_ks_site_id(self, info: Info, input: ResolveSaltoKsSiteIdInput) -> DoorIntegrationPayload:
        ctx = info.context
        found, errors = await _refused(lambda: site_resolution.find_site(ctx.host, ctx.session, input.integration_id))
        if errors:
            return DoorIntegrationPayload(integration=None, errors=errors)
        row, errors = await run_in_transaction(ctx.session, lambda s: site_resolution.store_site(ctx.host, s, *found))
        return DoorIntegrationPayload(integration=_answer(info, row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "GET PIN: fetch the IQ's current pin (shown once, as currentPin) and keep it with the IQ's secret, encrypted, "
        "to sign Set PIN. Errors: IQ_OFFLINE, NOT_FOUND (IQ id), REQUIRED (Resolve site ID first), "
        "BACKEND_UNAVAILABLE, BACKEND_REFUSED."))
    async def get_salto_ks_pin(self, info: Info, input: GetSaltoKsPinInput) -> GetSaltoKsPinPayload:
        ctx = info.context
        fetched, errors = await _refused(
            lambda: iq_setup.fetch_pin(ctx.host, ctx.session, input.integration_id, input.iq_id))
        if errors:
            return GetSaltoKsPinPayload(integration=None, current_pin=None, message=None, errors=errors)
        stored, errors = await run_in_transaction(ctx.session, lambda s: iq_setup.store_pin(ctx.host, s, fetched))
        if errors:
            return GetSaltoKsPinPayload(integration=None, current_pin=None, message=None, errors=errors)
        integration, notice = stored  # written by this transaction alone: as loaded is as stored
        return GetSaltoKsPinPayload(integration=_answer(info, integration),
                                    current_pin=fetched.pin.pin, message=notice.text(), errors=[])

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Set PIN: set the new pin on the IQ, signed with the one-time password of the current pin from GET PIN; on "
        "success the IQ is activated. Errors: INVALID (newPin: 4 digits), REQUIRED (GET PIN first), IQ_OFFLINE, "
        "OTP_REJECTED (check the server clock), PIN_CHANGED_ELSEWHERE (GET PIN again), BACKEND_UNAVAILABLE, "
        "BACKEND_REFUSED."))
    async def set_salto_ks_pin(self, info: Info, input: SetSaltoKsPinInput) -> SetSaltoKsPinPayload:
        ctx = info.context
        activation, errors = await _refused(
            lambda: iq_setup.set_pin(ctx.host, ctx.session, input.integration_id, input.new_pin))
        if errors:
            return SetSaltoKsPinPayload(integration=None, message=None, errors=errors)
        if activation.problem is not None:
            if activation.lost:
                # A fact learned from the IQ, recorded even though Set PIN failed.
                await run_in_transaction(ctx.session, lambda s: iq_setup.withdraw_activation(ctx.host, s, activation))
                ctx.loader("salto_ks.credentials").clear_all()
            return SetSaltoKsPinPayload(integration=None, message=None, errors=[activation.problem.as_user_error()])
        row, errors = await run_in_transaction(ctx.session,
                                               lambda s: iq_setup.store_activation(ctx.host, s, activation))
        return SetSaltoKsPinPayload(integration=_answer(info, row),
                                    message=iq_setup.IQ_ACTIVATED.text() if row else None, errors=errors)
