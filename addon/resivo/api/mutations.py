"""The Authentication tab over GraphQL."""

from __future__ import annotations

from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import IsAdmin, run_in_transaction
from addon.door_access.public import DoorIntegrationPayload, DoorIntegrationType

from ..credentials import CredentialChanges, set_credentials


@strawberry.input(description=(
    "The Authentication tab. The first time, siteOwnerId, clientId and clientSecret are required; later only "
    "the fields given change (null clears an optional one). They are nullable in the schema on purpose: a "
    "missing one comes back in errors (field + code), and a schema error never echoes the input, secret included."))
class SetResivoCredentialsInput:
    integration_id: strawberry.ID
    site_owner_id: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "The Customer ID from the Resivo portal."))
    client_id: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "The OAuth client id of the credential."))
    client_secret: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "Write-only; stored encrypted."))
    site_id: Optional[str] = strawberry.UNSET
    target_mobile_app_id: Optional[int] = strawberry.field(default=strawberry.UNSET, description=(
        "Numeric Legic app id, for mobile credentials in the resivo app."))
    base_url: Optional[str] = strawberry.field(default=strawberry.UNSET, description=(
        "Default: the production Resivo API."))


@strawberry.type
class ResivoMutation:
    @strawberry.mutation(permission_classes=[IsAdmin], description="Save the Authentication tab of a Resivo integration.")
    async def set_resivo_credentials(self, info: Info, input: SetResivoCredentialsInput) -> DoorIntegrationPayload:
        ctx = info.context
        row, errors = await run_in_transaction(
            ctx.session, lambda s: set_credentials(ctx.host, s, input.integration_id, CredentialChanges.from_input(input)))
        return DoorIntegrationPayload(integration=row and DoorIntegrationType.from_model(row), errors=errors)
