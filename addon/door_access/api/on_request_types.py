"""GraphQL of the open-on-request model: the guest's open link and openings on ``Booking.access``
(staff), and ``openDoor`` (staff for a guest, or a frontend with the guest's open token)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import IsFrontend, Message, UserError, ValidationFailed, audit, id_argument, is_staff

from ..on_request.links import open_link_of
from ..on_request.models import Delivery, DoorOpening, OpeningResult
from ..on_request.opening import OpenOutcome, Refusal, open_door

DeliveryType = strawberry.enum(Delivery, name="OpenLinkDelivery", description=(
    "How the open link reached the guest: EMAILED, FOR_STAFF (no mail server: staff pass it on) or FAILED."))
OpeningResultType = strawberry.enum(OpeningResult, name="DoorOpeningResult", description=(
    "REFUSED (nothing sent: the booking does not entitle the guest now), SENDING (no answer yet), ACCEPTED (the "
    "lock system took the command, the lock has not confirmed it), CONFIRMED (the lock opened), FAILED."))


@strawberry.type(name="OpenLink", description="A guest's open link (a lock that opens on request).")
class OpenLinkType:
    url: str = strawberry.field(description="The link itself: pass it on to the guest if it was not e-mailed.")
    delivery: DeliveryType
    sent_to: list[str] = strawberry.field(description="The e-mail addresses it was sent to (none unless delivery is EMAILED).")
    delivery_error: Optional[str]
    language: Optional[str]
    created_at: datetime
    revoked_at: Optional[datetime]


@strawberry.type(name="DoorOpening", description="A request to open a lock, and what became of it.")
class DoorOpeningType:
    id: strawberry.ID
    requested_at: datetime
    requested_by: str
    door: str
    result: OpeningResultType
    confirmed: bool
    refusal: Optional[str] = strawberry.field(description="Why nothing was sent (a code), when refused.")
    message: Optional[str] = strawberry.field(description="The refusal or error, in the reader's language.")
    checked_in: bool = strawberry.field(description="This opening checked the guest in (the first confirmed one).")
    checkin_error: Optional[str] = strawberry.field(description="Why the check-in status could not be set.")

    @classmethod
    def from_row(cls, row) -> "DoorOpeningType":
        return cls(id=strawberry.ID(str(row.id)), requested_at=row.requested_at, requested_by=row.requested_by,
                   door=row.door_name, result=OpeningResult(row.result),
                   confirmed=row.result == OpeningResult.CONFIRMED, refusal=row.refusal,
                   message=Message.from_json(row.error_i18n).text() if row.error_i18n else None,
                   checked_in=row.checked_in,
                   checkin_error=Message.from_json(row.checkin_error_i18n).text() if row.checkin_error_i18n else None)


def open_link(info: Info, link) -> OpenLinkType:
    return OpenLinkType(url=open_link_of(info.context.host, link), delivery=Delivery(link.delivery),
                        sent_to=[r["email"] for r in link.sent_to or [] if r.get("email")],
                        delivery_error=Message.from_json(link.delivery_error_i18n).text()
                        if link.delivery_error_i18n else None,
                        language=link.locale, created_at=link.created_at, revoked_at=link.revoked_at)


@strawberry.input(description="Open one door: the booking (staff) or the guest's open token (a frontend), and the "
                              "door's name.")
class OpenDoorInput:
    door: str = strawberry.field(description="The door's name, one of the booking's doors.")
    booking_id: Optional[strawberry.ID] = strawberry.field(default=None, description="Staff: the booking.")
    open_token: Optional[str] = strawberry.field(default=None, description=(
        "A frontend: the token of the guest's open link (what follows /open/ in it)."))
    integration_id: Optional[strawberry.ID] = strawberry.field(default=None, description=(
        "When the booking has door access that opens on request through several integrations."))


@strawberry.type
class OpenDoorPayload:
    opening: Optional[DoorOpeningType]
    opened: bool = strawberry.field(description="The lock confirmed the opening.")
    message: Optional[str] = strawberry.field(description="What the guest reads, in the reader's language.")
    retry_after_seconds: Optional[float]
    errors: list[UserError]


def _payload(outcome: OpenOutcome, opening) -> OpenDoorPayload:
    errors = []
    if outcome.refusal is not None:
        errors.append(UserError(field="openToken" if outcome.refusal in (Refusal.NO_SUCH_LINK, Refusal.LINK_REVOKED)
                                else "door" if outcome.refusal == Refusal.NO_SUCH_DOOR else None,
                                code=outcome.refusal, message=outcome.message.text()))
    return OpenDoorPayload(opening=DoorOpeningType.from_row(opening) if opening is not None else None,
                           opened=outcome.result == OpeningResult.CONFIRMED, message=outcome.message.text(),
                           retry_after_seconds=outcome.retry_after, errors=errors)


@strawberry.type
class OpenDoorMutation:
    @strawberry.mutation(permission_classes=[IsFrontend], description=(
        "Open a door of a booking whose integration opens on request, now, if the booking entitles the guest (an "
        "allowed status, inside the window); staff give bookingId, a frontend the guest's openToken. The answer "
        "says whether the lock confirmed it; the first confirmed opening checks the guest in. Refusals have a "
        "code: NO_SUCH_LINK, LINK_REVOKED, NOT_ON_REQUEST, NOT_YET, ENDED, STATUS, INACTIVE, NO_SUCH_DOOR, "
        "RATE_LIMITED."))
    async def open_door(self, info: Info, input: OpenDoorInput) -> OpenDoorPayload:
        ctx = info.context
        if (input.booking_id is None) == (input.open_token is None):
            return OpenDoorPayload(opening=None, opened=False, message=None, retry_after_seconds=None, errors=[
                UserError(field="bookingId", code="INVALID", message=Message(
                    "Give either bookingId (staff) or openToken.").text())])
        if input.booking_id is not None and not is_staff(info):
            return OpenDoorPayload(opening=None, opened=False, message=None, retry_after_seconds=None, errors=[
                UserError(field="bookingId", code="FORBIDDEN", message=Message("This needs the staff role.").text())])
        integration_id = id_argument(input.integration_id, "DoorIntegration") if input.integration_id else None
        try:
            outcome = await open_door(ctx.host, door=input.door, token=input.open_token,
                                      booking_id=input.booking_id, integration_id=integration_id,
                                      actor=audit.current_actor())
        except ValidationFailed as exc:
            return OpenDoorPayload(opening=None, opened=False, message=None, retry_after_seconds=None,
                                   errors=exc.user_errors())
        opening = await ctx.session.get(DoorOpening, outcome.opening_id) if outcome.opening_id else None
        return _payload(outcome, opening)
