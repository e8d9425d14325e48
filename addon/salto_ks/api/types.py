"""``DoorIntegration.saltoKs``: the Authentication tab and the IQ OTP setup of a Salto KS
integration (admins only, as the rest of the integration). Imported while the addon registers,
before that type is built."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info


from ..iq_setup import iq_status
from ..models import SaltoKsCredentials
from ..settings import ACCEPTANCE, PRODUCTION, environment_settings

# What the admin console's part (static/console/) reads of an integration: its two tabs.
CONSOLE_FIELDS = ("saltoKs { environment environmentConfigured siteUid siteId siteName siteTimeZone username "
                  "passwordSet iqId iqActivated iqStatus currentPinFetchedAt }")

@strawberry.enum(name="SaltoKsEnvironment", description=(
    "Acceptance (testing) or Production (live); each has its own account, site and IQ."))
class SaltoKsEnvironment(enum.Enum):
    ACCEPTANCE = ACCEPTANCE
    PRODUCTION = PRODUCTION


@strawberry.type(name="SaltoKsSettings", description="The Authentication tab and the IQ OTP setup of a Salto KS "
                                                      "integration.")
class SaltoKsSettingsType:
    environment: SaltoKsEnvironment = strawberry.field(description="Environment: Acceptance or Production.")
    environment_configured: bool = strawberry.field(description=(
        "Whether this installation has the Environment's settings (its identity and API URLs and the "
        "installation's client id and secret): the operator's part, never entered here."))
    site_uid: str = strawberry.field(description="Site UID: the human-readable site code, e.g. NL6254340082.")
    site_id: Optional[str] = strawberry.field(description=(
        "Site ID: the internal site id. Read-only: filled by Resolve site ID (resolveSaltoKsSiteId) from the "
        "Site UID."))
    site_name: Optional[str] = strawberry.field(description="The site's name, as Resolve site ID found it.")
    site_time_zone: Optional[str] = strawberry.field(description="The site's time zone, as Resolve site ID found it.")
    site_resolved_at: Optional[datetime]
    username: str = strawberry.field(description="Username: the Salto KS account's username.")
    password_set: bool = strawberry.field(description="Password: write-only; only whether one is stored.")
    iq_id: Optional[str] = strawberry.field(description="IQ id: the IQ gateway's UUID (IQ OTP setup, step 1).")
    iq_activated: bool = strawberry.field(description=(
        "Whether Set PIN succeeded: \"IQ is activated\", the system can sign open commands."))
    iq_activated_at: Optional[datetime]
    iq_status: str = strawberry.field(description="\"IQ is activated\" or \"IQ is not activated\", in the "
                                                  "caller's language.")
    current_pin_fetched_at: Optional[datetime] = strawberry.field(description=(
        "When GET PIN last fetched the current pin (which is never answered here)."))
    updated_at: datetime

    @classmethod
    def from_model(cls, row: SaltoKsCredentials, configured: bool) -> "SaltoKsSettingsType":
        return cls(environment=SaltoKsEnvironment(row.environment), environment_configured=configured,
                   site_uid=row.site_uid, site_id=row.site_id, site_name=row.site_name,
                   site_time_zone=row.site_time_zone, site_resolved_at=row.site_resolved_at, username=row.username,
                   password_set=bool(row.password_encrypted), iq_id=row.iq_id,
                   iq_activated=row.iq_activated_at is not None, iq_activated_at=row.iq_activated_at,
                   iq_status=iq_status(row).text(), current_pin_fetched_at=row.iq_pin_fetched_at,
                   updated_at=row.updated_at)


@strawberry.type(name="DoorIntegrationSaltoKsFields")
class DoorIntegrationSaltoKsFields:
    @strawberry.field(description="Salto KS's settings; null for another backend or before they are entered.")
    async def salto_ks(self, info: Info) -> Optional[SaltoKsSettingsType]:
        if self.backend != "salto_ks":
            return None
        row = await info.context.loader("salto_ks.credentials").load(self.row_id)
        if row is None:
            return None
        configured = environment_settings(info.context.host, row.environment) is not None
        return SaltoKsSettingsType.from_model(row, configured)
