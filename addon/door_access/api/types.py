"""GraphQL types of door access. Backend addons add their own fields to ``DoorIntegration`` (see
``addon.base.public.extend_type``)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import Node, UserError, connection_type, global_id, payload
from addon.booking.public import BookableObjectType

from ..backend import AccessModel, Door, Location
from ..models import AccessCallLog, DoorIntegration
from ..plan import PlanAction
from .access_types import AccessModelType, AccessRecipientType
from .live_doors import door_mappings
from .mapping_types import DoorMappingType, ResolvedDoorType


@strawberry.type(name="DoorLocation", description="Where doors live at the lock vendor (a site, a property).")
class DoorLocationType:
    id: str
    name: str
    time_zone: Optional[str]

    @classmethod
    def from_location(cls, location: Location) -> "DoorLocationType":
        return cls(id=location.id, name=location.name, time_zone=location.time_zone)


@strawberry.type(name="Door", description="A door as the lock vendor lists it now.")
class DoorType:
    id: str
    name: str = strawberry.field(description="The name to map by (unique across the integration's doors).")
    online: bool = strawberry.field(description="Only online doors can be opened remotely.")
    location: DoorLocationType

    @classmethod
    def from_door(cls, door: Door) -> "DoorType":
        return cls(id=door.id, name=door.name, online=door.online,
                   location=DoorLocationType(id=door.location_id, name=door.location_name,
                                            time_zone=door.location_time_zone))


@strawberry.type(name="DoorBackend", description="A lock vendor this installation can talk to.")
class DoorBackendType:
    name: str = strawberry.field(description="What an integration's backend field holds.")
    label: str
    access_model: AccessModelType = strawberry.field(description=(
        "How a guest gets in: the vendor issues a credential for a window, or the lock opens on request."))


@strawberry.type(name="DoorIntegration", description=(
    "An integration with one lock vendor (its backend): when bookings get door access and which doors. "
    "The backend's own settings (credentials) are in the field named after it."))
class DoorIntegrationType(Node):
    row_id: strawberry.Private[int]
    name: str
    backend: str
    access_model: AccessModelType = strawberry.field(description=(
        "How a guest gets in (the backend's model); it decides which Details fields apply."))
    active: bool
    trigger_statuses: list[str]
    revoke_statuses: list[str]
    time_before_minutes: int
    authorization_id_field: Optional[str] = strawberry.field(description=(
        "Booking field for authorisation id: where the vendor's id of the access set is kept (a vendor that "
        "issues a credential)."))
    default_language: str
    open_action_field: Optional[str] = strawberry.field(description=(
        "Open-action field: the booking field the time of the first opening is written to (a lock that opens on "
        "request)."))
    checkin_status: Optional[str] = strawberry.field(description=(
        "Check-in status: the status the first opening moves the booking to (a lock that opens on request; null: "
        "the status stays)."))
    created_at: datetime
    updated_at: datetime
    archived_at: Optional[datetime] = strawberry.field(description=(
        "When it was archived (inactive for good, kept for history); null while in use."))

    @classmethod
    def from_model(cls, row: DoorIntegration) -> "DoorIntegrationType":
        return cls(
            id=global_id("DoorIntegration", row.id), row_id=row.id, name=row.name, backend=row.backend,
            access_model=AccessModel(row.access_model), active=row.active,
            trigger_statuses=list(row.trigger_statuses or []), revoke_statuses=list(row.revoke_statuses or []),
            time_before_minutes=row.time_before_minutes, authorization_id_field=row.authorization_id_field,
            default_language=row.default_language, open_action_field=row.open_action_field,
            checkin_status=row.checkin_status, created_at=row.created_at, updated_at=row.updated_at,
            archived_at=row.archived_at,
        )

    @strawberry.field(description="True when archived: it cannot be activated or chosen until restored.")
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field(description="Object → doors, resolved against the live door list.")
    async def door_mappings(self, info: Info) -> list[DoorMappingType]:
        return await door_mappings(info.context, self.row_id)


DoorIntegrationPayload = payload("DoorIntegrationPayload", "integration", DoorIntegrationType,
                                 "Result of a change to an integration.")


@strawberry.type
class DoorConnectionTest:
    ok: bool
    message: str
    duration_ms: int
    locations: list[DoorLocationType]
    doors: list[DoorType]


@strawberry.type
class SetDoorMappingPayload:
    mapping: Optional[DoorMappingType]
    warnings: list[str]
    affected_bookings: int = strawberry.field(description=(
        "Bookings whose door access now follows the change (the worker replaces their sets)."))
    errors: list[UserError]


@strawberry.type(description="What saving a door mapping would change; nothing is changed.")
class DoorMappingChangePreview:
    added: list[str] = strawberry.field(description="Door names the object's own mapping would gain.")
    removed: list[str] = strawberry.field(description="Door names it would lose.")
    affected_bookings: int = strawberry.field(description=(
        "Bookings whose door access would follow the change (as setDoorMapping's affectedBookings)."))


@strawberry.type
class ArchiveDoorIntegrationPayload:
    integration: Optional[DoorIntegrationType]
    grants_revoked: int = strawberry.field(description="Grants queued for the worker to revoke.")
    errors: list[UserError]


@strawberry.type
class SetDoorIntegrationActivePayload:
    integration: Optional[DoorIntegrationType]
    grants_queued: int = strawberry.field(description=(
        "Activation: bookings already at a trigger status that are being granted access (by the worker)."))
    errors: list[UserError]


@strawberry.type(description="What activating an integration would do now; nothing is changed.")
class ActivationPreview:
    can_activate: bool
    problems: list[UserError] = strawberry.field(description="What stops the activation.")
    bookings_to_grant: int = strawberry.field(description=(
        "Bookings at a trigger status, not ended, on mapped objects, without access yet."))


@strawberry.type(name="LocalTime", description="A moment in UTC and as wall time of the object's time zone.")
class LocalTimeType:
    utc: datetime
    local: datetime
    time_zone: str


@strawberry.enum(name="AccessAction", description="What a trigger would do: give access, take it away, or nothing.")
class AccessAction(enum.Enum):
    GRANT = PlanAction.GRANT
    REVOKE = PlanAction.REVOKE
    NONE = PlanAction.NONE


@strawberry.type(name="AccessPreview", description="What a trigger would do now for one integration (dry run).")
class AccessPreviewType:
    integration: DoorIntegrationType
    action: AccessAction
    reason: str
    booked_object: BookableObjectType
    mapped_object: Optional[BookableObjectType] = strawberry.field(
        description="Whose mapping applies: the booked object's own, else its parent's.")
    door_names: list[str]
    doors: list[ResolvedDoorType]
    location_id: Optional[str]
    valid_from: Optional[LocalTimeType] = strawberry.field(description="Null when the booking's dates are out of range.")
    valid_to: Optional[LocalTimeType]
    locale: str
    locale_reason: str
    recipients: list[AccessRecipientType]
    display_name: str
    message: str = strawberry.field(description="The text the guest would receive with the door link.")
    problems: list[str] = strawberry.field(description="What would stop the grant.")
    warnings: list[str]


# -- the integration log -------------------------------------------------------------------------

@strawberry.enum(name="CallOutcome", description=(
    "OK: the vendor did it; TRANSIENT: a failure that may pass (timeout, 429, 5xx), retried; PERMANENT: a "
    "refusal that needs a fix (credentials, a bad request)."))
class CallOutcome(enum.Enum):
    OK = "ok"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


@strawberry.type(name="IntegrationLogEntry", description="One call made to a lock vendor.")
class IntegrationLogEntryType(Node):
    row_id: strawberry.Private[int]
    at: datetime
    operation: str
    booking_id: Optional[strawberry.ID] = strawberry.field(description="The global id of the booking it was for.")
    method: str
    path: str
    http_status: Optional[int]
    duration_ms: int
    outcome: CallOutcome
    error: Optional[str]

    @classmethod
    def from_model(cls, row: AccessCallLog) -> "IntegrationLogEntryType":
        return cls(id=global_id("IntegrationLogEntry", row.id), row_id=row.id, at=row.at, operation=row.operation,
                   booking_id=global_id("Booking", row.booking_id) if row.booking_id else None, method=row.method,
                   path=row.path, http_status=row.http_status, duration_ms=row.duration_ms,
                   outcome=CallOutcome(row.outcome), error=row.error)


IntegrationLogConnection = connection_type("IntegrationLog", IntegrationLogEntryType,
                                           "Calls made to a lock vendor, newest first.")
