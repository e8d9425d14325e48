"""GraphQL types of door access: ``Booking.access`` and the integration log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.extend import extend_type
from addon.base.i18n import Message

from ..models import ResivoAccessGrant, ResivoCallLog


@strawberry.enum(name="AccessState")
class AccessState(enum.Enum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    FAILED = "FAILED"
    REVOKING = "REVOKING"
    REVOKED = "REVOKED"


@strawberry.type(name="AccessDoor")
class AccessDoorType:
    id: str
    name: str


@strawberry.type(name="AccessGrant", description="Door access of a booking through one Resivo integration.")
class AccessGrantType:
    integration_id: strawberry.Private[int]
    state: AccessState
    desired: str = strawberry.field(description="What the booking asks for: active or revoked.")
    authorization_id: Optional[str]
    doors: list[AccessDoorType]
    valid_from: Optional[datetime]
    valid_to: Optional[datetime]
    locale: Optional[str]
    attempts: int
    last_error: Optional[str]
    next_attempt_at: Optional[datetime]
    revoke_requested_by: Optional[str]
    revoke_requested_at: Optional[datetime]
    updated_at: datetime

    @classmethod
    def from_model(cls, row: ResivoAccessGrant) -> "AccessGrantType":
        return cls(
            integration_id=row.integration_id, state=AccessState(row.state), desired=row.desired,
            authorization_id=row.authorization_id,
            doors=[AccessDoorType(id=d["id"], name=d["name"]) for d in row.doors or []],
            valid_from=row.valid_from, valid_to=row.valid_to, locale=row.locale, attempts=row.attempts,
            last_error=_last_error(row), next_attempt_at=row.next_attempt_at,
            revoke_requested_by=row.revoke_requested_by, revoke_requested_at=row.revoke_requested_at,
            updated_at=row.updated_at,
        )

    @strawberry.field
    async def integration(self, info: Info) -> "AccessIntegrationType":
        row = await info.context.loader("resivo.integration").load(self.integration_id)
        return AccessIntegrationType(id=strawberry.ID(str(row.id)), name=row.name, active=row.active)


def _last_error(row: ResivoAccessGrant) -> Optional[str]:
    """Our own explanations in the reader's language; Resivo's words as Resivo sent them."""
    if row.last_error_i18n:
        return Message.from_json(row.last_error_i18n).text()
    return row.last_error


@strawberry.type(name="AccessIntegration", description="The integration behind an access grant (public part).")
class AccessIntegrationType:
    id: strawberry.ID
    name: str
    active: bool


@extend_type("Booking")
@strawberry.type(name="BookingAccessFields")
class BookingAccessFields:
    @strawberry.field(description="Door access per Resivo integration.")
    async def access(self, info: Info) -> list[AccessGrantType]:
        rows = await info.context.loader("resivo.grants").load(int(self.id))
        return [AccessGrantType.from_model(r) for r in rows]


@strawberry.type(name="IntegrationLogEntry", description="One call made to Resivo.")
class IntegrationLogEntryType:
    id: strawberry.ID
    at: datetime
    operation: str
    booking_id: Optional[strawberry.ID]
    method: str
    path: str
    http_status: Optional[int]
    duration_ms: int
    outcome: str
    error: Optional[str]

    @classmethod
    def from_model(cls, row: ResivoCallLog) -> "IntegrationLogEntryType":
        return cls(id=strawberry.ID(str(row.id)), at=row.at, operation=row.operation,
                   booking_id=strawberry.ID(str(row.booking_id)) if row.booking_id else None, method=row.method,
                   path=row.path, http_status=row.http_status, duration_ms=row.duration_ms, outcome=row.outcome,
                   error=row.error)


@strawberry.type
class IntegrationLogEdge:
    cursor: str
    node: IntegrationLogEntryType


@strawberry.type
class IntegrationLogPageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


@strawberry.type
class IntegrationLogConnection:
    edges: list[IntegrationLogEdge]
    page_info: IntegrationLogPageInfo
