"""GraphQL types of the booking domain. Built lazily so that dependent addons can extend them."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.api_kit import global_id, payload
from addon.base.connections import connection_type
from addon.base.extend import mixins_for
from addon.base.nodes import Node
from addon.base.permissions import STAFF_ONLY, StaffOnlyField, is_staff

from ..models import BookableObject, Booking, BookingField, BookingStatus, Customer
from ..privacy import staff_only_field_codes


@strawberry.type(name="BookableObject", description="A bookable object; a sub-object has a parent.")
class BookableObjectType(Node):
    row_id: strawberry.Private[int]
    code: str
    name: str
    time_zone: str = strawberry.field(description="IANA time zone of the object, e.g. Europe/Amsterdam.")
    parent_id: strawberry.Private[Optional[int]]

    @classmethod
    def from_model(cls, row: BookableObject) -> "BookableObjectType":
        return cls(id=global_id("BookableObject", row.id), row_id=row.id, code=row.code, name=row.name,
                   time_zone=row.time_zone, parent_id=row.parent_id)

    @strawberry.field(description="The main object this sub-object belongs to.")
    async def parent(self, info: Info) -> Optional["BookableObjectType"]:
        if self.parent_id is None:
            return None
        row = await info.context.loader("booking.object").load(self.parent_id)
        return BookableObjectType.from_model(row)

    @strawberry.field
    async def sub_objects(self, info: Info) -> list["BookableObjectType"]:
        rows = await info.context.loader("booking.sub_objects").load(self.row_id)
        return [BookableObjectType.from_model(r) for (r,) in rows]


@strawberry.type(name="Customer", description="Who booked: made with each booking.")
class CustomerType(Node):
    row_id: strawberry.Private[int]
    name: str
    email: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=STAFF_ONLY)
    phone: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=STAFF_ONLY)
    language: Optional[str] = strawberry.field(description="Preferred language, e.g. nl, de-CH; may be empty.")

    @classmethod
    def from_model(cls, row: Customer) -> "CustomerType":
        return cls(id=global_id("Customer", row.id), row_id=row.id, name=row.name, email=row.email, phone=row.phone,
                   language=row.language)


@strawberry.type(name="BookingStatus", description="A step of a booking's life, e.g. option, confirmed, cancelled.")
class BookingStatusType(Node):
    row_id: strawberry.Private[int]
    code: str = strawberry.field(description="What status arguments and filters take, e.g. confirmed.")
    name: str

    @classmethod
    def from_model(cls, row: BookingStatus) -> "BookingStatusType":
        return cls(id=global_id("BookingStatus", row.id), row_id=row.id, code=row.code, name=row.name)


@strawberry.type(name="BookingField", description="An admin-defined extra field on bookings.")
class BookingFieldType(Node):
    row_id: strawberry.Private[int]
    code: str
    label: str

    @classmethod
    def from_model(cls, row: BookingField) -> "BookingFieldType":
        return cls(id=global_id("BookingField", row.id), row_id=row.id, code=row.code, label=row.label)

    @strawberry.field(description=(
        "True when the frontend role cannot read this field's values (it holds something private, e.g. a "
        "door authorisation id)."))
    async def staff_only(self, info: Info) -> bool:
        return self.code in await staff_only_field_codes(info.context)


@strawberry.type(name="BookingFieldValue")
class BookingFieldValueType:
    code: str
    value: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=(
        "Every role reads it, unless the field holds something private (BookingField.staffOnly): then the frontend "
        "role gets null and a FORBIDDEN error for it."))
    staff_only: strawberry.Private[bool] = False


@strawberry.type(name="StatusChange", description="One entry of a booking's status history.")
class StatusChangeType:
    from_status_id: strawberry.Private[Optional[int]]
    to_status_id: strawberry.Private[int]
    at: datetime
    by: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=(
        "Who made the change, e.g. \"user:Anna Admin\", \"token:booking-site\", \"system\". " + STAFF_ONLY))

    @strawberry.field(name="from")
    async def from_(self, info: Info) -> Optional[BookingStatusType]:
        if self.from_status_id is None:
            return None
        return BookingStatusType.from_model(await info.context.loader("booking.status").load(self.from_status_id))

    @strawberry.field
    async def to(self, info: Info) -> BookingStatusType:
        return BookingStatusType.from_model(await info.context.loader("booking.status").load(self.to_status_id))


def _booking_base() -> type:
    @strawberry.type(name="Booking")
    class BookingType(Node, *mixins_for("Booking")):
        row_id: strawberry.Private[int]
        reference: str
        start: datetime
        end: datetime
        object_id: strawberry.Private[int]
        customer_id: strawberry.Private[int]
        status_id: strawberry.Private[int]

        @classmethod
        def from_model(cls, row: Booking) -> "BookingType":
            return cls(id=global_id("Booking", row.id), row_id=row.id, reference=row.reference, start=row.start_at,
                       end=row.end_at, object_id=row.object_id, customer_id=row.customer_id, status_id=row.status_id)

        @strawberry.field(name="object", description="The booked object or sub-object.")
        async def object_(self, info: Info) -> BookableObjectType:
            return BookableObjectType.from_model(await info.context.loader("booking.object").load(self.object_id))

        @strawberry.field
        async def customer(self, info: Info) -> CustomerType:
            return CustomerType.from_model(await info.context.loader("booking.customer").load(self.customer_id))

        @strawberry.field
        async def status(self, info: Info) -> BookingStatusType:
            return BookingStatusType.from_model(await info.context.loader("booking.status").load(self.status_id))

        @strawberry.field
        async def fields(self, info: Info) -> list[BookingFieldValueType]:
            rows = await info.context.loader("booking.field_values").load(self.row_id)
            private = frozenset() if is_staff(info) else await staff_only_field_codes(info.context)
            return [BookingFieldValueType(code=r.code, value=r.value, staff_only=r.code in private) for r in rows]

        @strawberry.field
        async def history(self, info: Info) -> list[StatusChangeType]:
            rows = await info.context.loader("booking.history").load(self.row_id)
            return [
                StatusChangeType(from_status_id=h.from_status_id, to_status_id=h.to_status_id, at=h.changed_at,
                                 by=h.changed_by)
                for (h,) in rows
            ]

    return BookingType


BookingType = _booking_base()


BookingConnection = connection_type("Booking", BookingType, "Bookings, a page at a time.")
CustomerConnection = connection_type("Customer", CustomerType, "Customers, a page at a time.")


CreateObjectPayload = payload("CreateObjectPayload", "object", BookableObjectType, "Result of createObject.")
UpdateObjectPayload = payload("UpdateObjectPayload", "object", BookableObjectType, "Result of updateObject.")
CreateBookingFieldPayload = payload("CreateBookingFieldPayload", "field", BookingFieldType, "Result of createBookingField.")
CreateBookingPayload = payload("CreateBookingPayload", "booking", BookingType, "Result of createBooking.")
UpdateBookingPayload = payload("UpdateBookingPayload", "booking", BookingType, "Result of updateBooking.")
SetBookingStatusPayload = payload("SetBookingStatusPayload", "booking", BookingType, "Result of setBookingStatus.")
SetBookingFieldPayload = payload("SetBookingFieldPayload", "booking", BookingType, "Result of setBookingField.")
