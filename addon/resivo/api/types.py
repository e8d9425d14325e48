"""``DoorIntegration.resivo``: the Authentication tab of a Resivo integration (admins only, as the
rest of the integration). Imported while the addon registers, before that type is built."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from ..models import ResivoCredentials


@strawberry.type(name="ResivoSettings", description="The Authentication tab of a Resivo integration.")
class ResivoSettingsType:
    site_owner_id: str = strawberry.field(description="The Customer ID from the Resivo portal.")
    client_id: str
    client_secret_set: bool = strawberry.field(description="The secret itself is write-only.")
    site_id: Optional[str]
    target_mobile_app_id: Optional[int]
    base_url: str
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ResivoCredentials) -> "ResivoSettingsType":
        return cls(site_owner_id=row.site_owner_id, client_id=row.client_id,
                   client_secret_set=bool(row.client_secret_encrypted), site_id=row.site_id,
                   target_mobile_app_id=row.target_mobile_app_id, base_url=row.base_url, updated_at=row.updated_at)


# What the console's Authentication tab reads of an integration (static/console/authentication.js).
CONSOLE_FIELDS = "resivo { siteOwnerId clientId clientSecretSet siteId targetMobileAppId baseUrl }"


@strawberry.type(name="DoorIntegrationResivoFields")
class DoorIntegrationResivoFields:
    @strawberry.field(description="Resivo's settings; null for another backend or before they are entered.")
    async def resivo(self, info: Info) -> Optional[ResivoSettingsType]:
        if self.backend != "resivo":
            return None
        row = await info.context.loader("resivo.credentials").load(self.row_id)
        return ResivoSettingsType.from_model(row) if row else None
