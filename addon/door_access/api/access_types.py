"""``Booking.access``: the door access of a booking, per integration (public part only). Imported
while the addon registers, before the Booking type is built."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import (
    STAFF_ONLY,
    Message,
    Role,
    Node,
    StaffOnlyField,
    global_id,
    known_or_load,
    preload,
)

from ..backend import AccessModel
from ..loaders import OPENINGS_SHOWN
from ..models import AccessGrant, Desired, GrantState, Resolution, SetStatus
from .on_request_types import DoorOpeningType, OpenLinkType, open_link

AccessModelType = strawberry.enum(AccessModel, name="DoorAccessModel", description=(
    "How a lock vendor lets a guest in: ISSUES_CREDENTIAL (the vendor sends the guest a credential for a window, "
    "revoked when the booking no longer entitles them) or OPENS_ON_REQUEST (the booking system opens the lock when "
    "the guest asks, through the product's own open link, while the booking entitles them)."))
GrantStateType = strawberry.enum(GrantState, name="AccessState", description="Where the lock vendor is.")
DesiredType = strawberry.enum(Desired, name="DesiredAccess", description="What the booking's status asks for.")
SetStatusType = strawberry.enum(SetStatus, name="AccessSetStatus", description=(
    "What we know of one access set at the lock vendor: SENDING (created, its answer not heard yet), CURRENT "
    "(the booking's live set), LIVE (exists but is being revoked, e.g. replaced by a new link), GONE (revoked or "
    "expired), NEVER (the vendor never made it)."))
SetResolutionType = strawberry.enum(Resolution, name="AccessSetResolution", description=(
    "How a set came to rest: CREATED, ADOPTED (found after a lost answer and kept), ORPHAN_REVOKED, REPLACED "
    "(revoked after a new set took its place), REVOKED, VANISHED (found revoked or expired at the vendor), "
    "NEVER_MADE."))


@strawberry.type(name="AccessRecipient")
class AccessRecipientType:
    email: Optional[str]
    phone_number: Optional[str]


@strawberry.type(name="AccessDelivery", description=(
    "One access set made for the grant — one door link the lock vendor sent the guest — as far as we know it."))
class AccessDeliveryType:
    set_id: Optional[str] = strawberry.field(description="The lock vendor's id of the set.")
    status: SetStatusType
    resolution: Optional[SetResolutionType]
    sent_at: Optional[datetime] = strawberry.field(description="When the create was sent to the lock vendor.")
    recipients: list[AccessRecipientType] = strawberry.field(description=(
        "Where the vendor sends the link (e-mail, phone), as sent; empty for sets made before this was kept, "
        "and after the guest's data was erased."))
    locale: Optional[str] = strawberry.field(description="The language of the link's message, as sent.")
    observed_at: Optional[datetime] = strawberry.field(description=(
        "When the lock vendor last told us about this set (made, found, revoked)."))

    @classmethod
    def from_row(cls, row) -> "AccessDeliveryType":
        return cls(set_id=row.set_id, status=SetStatus(row.status),
                   resolution=Resolution(row.resolution) if row.resolution else None, sent_at=row.sent_at,
                   recipients=[AccessRecipientType(email=r.get("email"), phone_number=r.get("phone_number"))
                               for r in row.recipients or []],
                   locale=row.locale, observed_at=row.observed_at)


@strawberry.type(name="AccessDoor")
class AccessDoorType:
    id: str
    name: str


@strawberry.type(name="AccessIntegration", description="The integration behind an access grant (public part).")
class AccessIntegrationType:
    id: strawberry.ID = strawberry.field(description=(
        "The integration's global id: the id of the DoorIntegration (which only admins read) that arguments "
        "such as integrationId take."))
    name: str
    active: bool
    backend: str


@strawberry.type(name="AccessGrant", description="Door access of a booking through one integration.")
class AccessGrantType(Node):
    row_id: strawberry.Private[int]
    integration_id: strawberry.Private[int]
    state: GrantStateType
    desired: DesiredType
    authorization_id: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=(
        "The lock vendor's id of the access set. " + STAFF_ONLY))
    doors: list[AccessDoorType]
    valid_from: Optional[datetime]
    valid_to: Optional[datetime]
    locale: Optional[str]
    attempts: int
    last_error: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=(
        "Why the last attempt failed. " + STAFF_ONLY))
    stored_warnings: strawberry.Private[list[dict]]
    next_attempt_at: Optional[datetime]
    revoke_requested_by: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=(
        "Who asked for the revocation. " + STAFF_ONLY))
    revoke_requested_at: Optional[datetime]
    updated_at: datetime
    last_verified_at: Optional[datetime] = strawberry.field(description=(
        "When the lock vendor last confirmed the set gives these doors and window (a reconcile or the drift "
        "sweep); null: not yet."))

    @classmethod
    def from_model(cls, row: AccessGrant) -> "AccessGrantType":
        return cls(
            id=global_id("AccessGrant", row.id), row_id=row.id, integration_id=row.integration_id, state=GrantState(row.state), desired=Desired(row.desired),
            authorization_id=row.authorization_id,
            doors=[AccessDoorType(id=d["id"], name=d["name"]) for d in row.doors or []],
            valid_from=row.valid_from, valid_to=row.valid_to, locale=row.locale, attempts=row.attempts,
            last_error=_last_error(row), stored_warnings=list(row.warnings or []), next_attempt_at=row.next_attempt_at,
            revoke_requested_by=row.revoke_requested_by, revoke_requested_at=row.revoke_requested_at,
            updated_at=row.updated_at, last_verified_at=row.verified_at,
        )

    @strawberry.field(permission_classes=[StaffOnlyField], description=(
        "Worth a look although access was given: offline doors, mapped names that no longer resolve, a "
        "window that is over. In the reader's language. " + STAFF_ONLY))
    def warnings(self, info: Info) -> Optional[list[str]]:
        found = [Message.from_json(w).text() for w in self.stored_warnings]
        if self.state == GrantState.ACTIVE and self.valid_to is not None and self.valid_to <= info.context.host.clock.now():
            found.append(Message("The access window ended at {end}; the link no longer opens any door.",
                                 {"end": self.valid_to.isoformat()}).text())
        return found

    @strawberry.field(description=(
        "How the guest gets in: a credential the vendor sent (ISSUES_CREDENTIAL), or the product's own open link, "
        "the lock opening when the guest asks (OPENS_ON_REQUEST; then validFrom … validTo is when it may open)."))
    async def access_model(self, info: Info) -> AccessModelType:
        row = await info.context.loader("door_access.integration").load(self.integration_id)
        return AccessModel(row.access_model)

    @strawberry.field(permission_classes=[StaffOnlyField], description=(
        "The guest's open link and how it was delivered (a lock that opens on request); null otherwise. "
        + STAFF_ONLY))
    async def open_link(self, info: Info) -> Optional[OpenLinkType]:
        if not self.authorization_id or not self.authorization_id.isdigit():
            return None
        row = await info.context.loader("door_access.link").load(int(self.authorization_id))
        if row is None or row.integration_id != self.integration_id:
            return None
        return open_link(info, row)

    @strawberry.field(permission_classes=[StaffOnlyField], description=(
        "The newest requests to open a door (a lock that opens on request), newest first. " + STAFF_ONLY))
    async def openings(self, info: Info) -> list[DoorOpeningType]:
        rows = await info.context.loader("door_access.openings").load(self.row_id)
        return [DoorOpeningType.from_row(r) for r in rows[:OPENINGS_SHOWN]]

    @strawberry.field(permission_classes=[StaffOnlyField], description=(
        "The door links made for this access, newest first: the live one (status CURRENT), new ones on their way "
        "and the earlier ones with what became of them. " + STAFF_ONLY))
    def deliveries(self, info: Info) -> Optional[list[AccessDeliveryType]]:
        return known_or_load(info.context, "door_access.sets", self.row_id,
                             lambda rows: [AccessDeliveryType.from_row(r) for r in rows])

    @strawberry.field
    def integration(self, info: Info) -> AccessIntegrationType:
        return known_or_load(info.context, "door_access.integration", self.integration_id, _integration)


def _integration(row) -> AccessIntegrationType:
    return AccessIntegrationType(id=global_id("DoorIntegration", row.id), name=row.name, active=row.active,
                                 backend=row.backend)


def _last_error(row: AccessGrant) -> Optional[str]:
    """Our own explanations in the reader's language; the vendor's words as it sent them."""
    if row.last_error_i18n:
        return Message.from_json(row.last_error_i18n).text()
    return row.last_error



@strawberry.type(name="BookingAccessFields")
class BookingAccessFields:
    @strawberry.field(description="Door access per integration.")
    def access(self, info: Info) -> list[AccessGrantType]:
        # Synchronous when a bookings page read the grants up front (below), else awaitable.
        return known_or_load(info.context, "door_access.grants", self.row_id,
                             lambda rows: [AccessGrantType.from_model(r) for r in rows])


async def preload_grants(context, bookings, selected) -> None:
    groups = await preload(context, "door_access.grants", (b.row_id for b in bookings))
    if "integration" in selected:
        await preload(context, "door_access.integration", (g.integration_id for rows in groups for g in rows))
    if "deliveries" in selected and context.principal is not None and context.principal.may(Role.STAFF):
        await preload(context, "door_access.sets", (g.id for rows in groups for g in rows))
