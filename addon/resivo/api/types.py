"""GraphQL types of the Resivo integration (admin view)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry

from addon.base.errors import UserError
from addon.booking.api.types import BookableObjectType

from ..directory import Door
from ..models import ResivoIntegration


@strawberry.type(name="ResivoSite")
class ResivoSiteType:
    id: str
    name: str
    default_locale: Optional[str]
    time_zone: Optional[str]


@strawberry.type(name="ResivoComponent", description="A Resivo component (door) as listed live.")
class ResivoComponentType:
    id: str
    name: str = strawberry.field(description="Display name to map by (qualified by site where names clash).")
    online: bool
    site: ResivoSiteType

    @classmethod
    def from_door(cls, door: Door) -> "ResivoComponentType":
        return cls(id=door.id, name=door.name, online=door.online,
                   site=ResivoSiteType(id=door.site_id, name=door.site_name, default_locale=None, time_zone=None))


@strawberry.type(name="ResolvedDoor")
class ResolvedDoorType:
    name: str
    id: Optional[str] = strawberry.field(description="Live component id; null when the name does not resolve.")
    online: Optional[bool]


@strawberry.type(name="DoorMapping")
class DoorMappingType:
    object: BookableObjectType
    component_names: list[str]
    doors: list[ResolvedDoorType]
    warnings: list[str]


@strawberry.type(name="ResivoIntegration")
class ResivoIntegrationType:
    id: strawberry.ID
    name: str
    active: bool
    site_owner_id: str
    client_id: str
    client_secret_set: bool = strawberry.field(description="The secret itself is write-only.")
    site_id: Optional[str]
    target_mobile_app_id: Optional[int]
    base_url: str
    trigger_statuses: list[str]
    revoke_statuses: list[str]
    time_before_minutes: int
    authorization_id_field: Optional[str]
    default_language: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ResivoIntegration) -> "ResivoIntegrationType":
        return cls(
            id=strawberry.ID(str(row.id)), name=row.name, active=row.active, site_owner_id=row.site_owner_id,
            client_id=row.client_id, client_secret_set=bool(row.client_secret_encrypted), site_id=row.site_id,
            target_mobile_app_id=row.target_mobile_app_id, base_url=row.base_url,
            trigger_statuses=list(row.trigger_statuses or []), revoke_statuses=list(row.revoke_statuses or []),
            time_before_minutes=row.time_before_minutes, authorization_id_field=row.authorization_id_field,
            default_language=row.default_language, created_at=row.created_at, updated_at=row.updated_at,
        )

    @strawberry.field(description="Object → doors, resolved against the live door list.")
    async def door_mappings(self, info: strawberry.Info) -> list[DoorMappingType]:
        from .resolvers import door_mappings

        return await door_mappings(info, int(self.id))


@strawberry.type
class ResivoIntegrationPayload:
    integration: Optional[ResivoIntegrationType]
    errors: list[UserError]


@strawberry.type
class ConnectionTestPayload:
    ok: bool
    message: str
    duration_ms: int
    sites: list[ResivoSiteType]
    components: list[ResivoComponentType]


@strawberry.type
class SetDoorMappingPayload:
    mapping: Optional[DoorMappingType]
    warnings: list[str]
    errors: list[UserError]


@strawberry.type(name="LocalTime", description="A moment in UTC and as wall time of the object's time zone.")
class LocalTimeType:
    utc: datetime
    local: datetime
    time_zone: str


@strawberry.type(name="AccessRecipient")
class AccessRecipientType:
    email: Optional[str]
    phone_number: Optional[str]


@strawberry.type(name="AccessPreview", description="What a trigger would do now for one integration (dry run).")
class AccessPreviewType:
    integration: ResivoIntegrationType
    action: str = strawberry.field(description="GRANT, REVOKE or NONE.")
    reason: str
    booked_object: BookableObjectType
    mapped_object: Optional[BookableObjectType] = strawberry.field(
        description="Whose mapping applies: the booked object's own, else its parent's.")
    component_names: list[str]
    doors: list[ResolvedDoorType]
    site_id: Optional[str]
    valid_from: LocalTimeType
    valid_to: LocalTimeType
    locale: str
    locale_reason: str
    recipients: list[AccessRecipientType]
    display_name: str
    message: str = strawberry.field(description="The text the guest would receive with the door link.")
    problems: list[str] = strawberry.field(description="What would stop the grant.")
    warnings: list[str]
