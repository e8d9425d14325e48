"""GraphQL types of the booking domain. Built lazily so that dependent addons can extend them."""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import (
    STAFF_ONLY,
    Node,
    StaffOnlyField,
    UserError,
    connection_type,
    global_id,
    is_staff,
    known_or_load,
    loaded_by,
    match_language,
    payload,
    request_language,
)

from ..models import BookableObject, Booking, BookingField, BookingStatus, Customer
from ..privacy import known_staff_only_field_codes, staff_only_field_codes

ARCHIVED_AT = "When it was archived (hidden from new work, kept for history); null while in use."


@strawberry.type(name="BookableObject", description="A bookable object; a sub-object has a parent.")
class BookableObjectType(Node):
    row_id: strawberry.Private[int]
    code: str
    name: str
    time_zone: str = strawberry.field(description="IANA time zone of the object, e.g. Europe/Amsterdam.")
    parent_id: strawberry.Private[Optional[int]]
    archived_at: Optional[datetime] = strawberry.field(description=ARCHIVED_AT)

    @classmethod
    def from_model(cls, row: BookableObject) -> "BookableObjectType":
        return cls(id=global_id("BookableObject", row.id), row_id=row.id, code=row.code, name=row.name,
                   time_zone=row.time_zone, parent_id=row.parent_id, archived_at=row.archived_at)

    @strawberry.field(description="True when archived: no new booking or door mapping may choose it.")
    def archived(self) -> bool:
        return self.archived_at is not None

    # Synchronous when the list's plan read the rows (addon.base.public.preload_selection), else awaitable.
    @strawberry.field(description="The main object this sub-object belongs to.")
    def parent(self, info: Info) -> Optional["BookableObjectType"]:
        if self.parent_id is None:
            return None
        return known_or_load(info.context, "booking.object", self.parent_id, BookableObjectType.from_model)

    @strawberry.field(description="Its sub-objects; archived ones only with includeArchived.",
                      metadata=loaded_by("booking.sub_objects", "row_id"))
    def sub_objects(self, info: Info, include_archived: bool = False) -> list["BookableObjectType"]:
        return known_or_load(info.context, "booking.sub_objects", self.row_id,
                             lambda rows: [BookableObjectType.from_model(r) for (r,) in rows
                                           if include_archived or r.archived_at is None])


@strawberry.type(name="Customer", description="Who booked: made with each booking.")
class CustomerType(Node):
    row_id: strawberry.Private[int]
    name: str
    email: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=STAFF_ONLY)
    phone: Optional[str] = strawberry.field(permission_classes=[StaffOnlyField], description=STAFF_ONLY)
    language: Optional[str] = strawberry.field(description="Preferred language, e.g. nl, de-CH; may be empty.")
    erased_at: Optional[datetime] = strawberry.field(description=(
        "When an admin erased this customer's personal data (eraseCustomer); null while it is kept."))

    @classmethod
    def from_model(cls, row: Customer) -> "CustomerType":
        return cls(id=global_id("Customer", row.id), row_id=row.id, name=row.name, email=row.email, phone=row.phone,
                   language=row.language, erased_at=row.erased_at)


@strawberry.type(name="LocalizedName", description="A display name in one language.")
class LocalizedNameType:
    language: str = strawberry.field(description="A two-letter language code, e.g. nl.")
    name: str


@strawberry.type(name="BookingStatus", description=(
    "A step of a booking's life, e.g. option, confirmed, cancelled. A booking moves only to the statuses "
    "its current one lists in nextStatuses (an admin may force any other move)."))
class BookingStatusType(Node):
    row_id: strawberry.Private[int]
    code: str = strawberry.field(description="What status arguments and filters take, e.g. confirmed.")
    default_name: str = strawberry.field(description="The display name for languages without one of their own.")
    translated: strawberry.Private[dict]
    sequence: int = strawberry.field(description="Where it comes in lists (ascending).")
    archived_at: Optional[datetime] = strawberry.field(description=ARCHIVED_AT)

    @classmethod
    def from_model(cls, row: BookingStatus) -> "BookingStatusType":
        return cls(id=global_id("BookingStatus", row.id), row_id=row.id, code=row.code, default_name=row.name,
                   translated=dict(row.names or {}), sequence=row.sequence, archived_at=row.archived_at)

    @strawberry.field(description="The display name in the caller's language (Accept-Language), else defaultName.")
    def name(self) -> str:
        language = match_language(request_language(), tuple(self.translated)) if self.translated else None
        return self.translated.get(language, self.default_name) if language else self.default_name

    @strawberry.field(description="The display names per language (defaultName serves the others).")
    def names(self) -> list[LocalizedNameType]:
        return [LocalizedNameType(language=k, name=v) for k, v in sorted(self.translated.items())]

    @strawberry.field(description="True when archived: no new booking, move or configuration may choose it.")
    def archived(self) -> bool:
        return self.archived_at is not None

    @strawberry.field(description=(
        "The statuses a booking at this one may move to, in order; archived ones only with includeArchived."))
    async def next_statuses(self, info: Info, include_archived: bool = False) -> list["BookingStatusType"]:
        rows = await info.context.loader("booking.next_statuses").load(self.row_id)
        return [BookingStatusType.from_model(r) for (_, r) in rows if include_archived or r.archived_at is None]


@strawberry.type(name="BookingField", description="An admin-defined extra field on bookings.")
class BookingFieldType(Node):
    row_id: strawberry.Private[int]
    code: str
    label: str
    archived_at: Optional[datetime] = strawberry.field(description=ARCHIVED_AT)

    @classmethod
    def from_model(cls, row: BookingField) -> "BookingFieldType":
        return cls(id=global_id("BookingField", row.id), row_id=row.id, code=row.code, label=row.label,
                   archived_at=row.archived_at)

    @strawberry.field(description="True when archived: its values stay readable, no new ones are written.")
    def archived(self) -> bool:
        return self.archived_at is not None

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
    forced: bool = strawberry.field(description="True when an admin forced a move the allowed transitions do not list.")

    @strawberry.field(name="from")
    def from_(self, info: Info) -> Optional[BookingStatusType]:
        if self.from_status_id is None:
            return None
        return known_or_load(info.context, "booking.status", self.from_status_id, BookingStatusType.from_model)

    @strawberry.field
    def to(self, info: Info) -> BookingStatusType:
        return known_or_load(info.context, "booking.status", self.to_status_id, BookingStatusType.from_model)


def _field_values(context, booking_id: int, private: frozenset[str]):
    return known_or_load(context, "booking.field_values", booking_id, lambda rows: [
        BookingFieldValueType(code=r.code, value=r.value, staff_only=r.code in private) for r in rows])


async def _field_values_later(context, booking_id: int) -> list[BookingFieldValueType]:
    values = _field_values(context, booking_id, await staff_only_field_codes(context))
    return await values if inspect.isawaitable(values) else values


@strawberry.type(name="Booking")
class BookingType(Node):
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

    # Synchronous when the list's plan read the rows (see preload_booking_fields), else awaitable.
    @strawberry.field(name="object", description="The booked object or sub-object.")
    def object_(self, info: Info) -> BookableObjectType:
        return known_or_load(info.context, "booking.object", self.object_id, BookableObjectType.from_model)

    @strawberry.field(metadata=loaded_by("booking.customer", "customer_id"))
    def customer(self, info: Info) -> CustomerType:
        return known_or_load(info.context, "booking.customer", self.customer_id, CustomerType.from_model)

    @strawberry.field(metadata=loaded_by("booking.status", "status_id"))
    def status(self, info: Info) -> BookingStatusType:
        return known_or_load(info.context, "booking.status", self.status_id, BookingStatusType.from_model)

    @strawberry.field
    def fields(self, info: Info) -> list[BookingFieldValueType]:
        private = frozenset() if is_staff(info) else known_staff_only_field_codes(info.context)
        if private is None:
            return _field_values_later(info.context, self.row_id)
        return _field_values(info.context, self.row_id, private)

    @strawberry.field
    def history(self, info: Info) -> list[StatusChangeType]:
        return known_or_load(info.context, "booking.history", self.row_id, lambda rows: [
            StatusChangeType(from_status_id=h.from_status_id, to_status_id=h.to_status_id, at=h.changed_at,
                             by=h.changed_by, forced=h.forced)
            for (h,) in rows
        ])


BookingConnection = connection_type("Booking", BookingType, "Bookings, a page at a time.")
CustomerConnection = connection_type("Customer", CustomerType, "Customers, a page at a time.")


CreateObjectPayload = payload("CreateObjectPayload", "object", BookableObjectType, "Result of createObject.")
UpdateObjectPayload = payload("UpdateObjectPayload", "object", BookableObjectType, "Result of updateObject.")
CreateBookingFieldPayload = payload("CreateBookingFieldPayload", "field", BookingFieldType, "Result of createBookingField.")
CreateBookingPayload = payload("CreateBookingPayload", "booking", BookingType, "Result of createBooking.")
UpdateBookingPayload = payload("UpdateBookingPayload", "booking", BookingType, "Result of updateBooking.")
SetBookingStatusPayload = payload("SetBookingStatusPayload", "booking", BookingType, "Result of setBookingStatus.")
SetBookingFieldPayload = payload("SetBookingFieldPayload", "booking", BookingType, "Result of setBookingField.")
CreateBookingStatusPayload = payload("CreateBookingStatusPayload", "status", BookingStatusType,
                                     "Result of createBookingStatus.")
UpdateBookingStatusPayload = payload("UpdateBookingStatusPayload", "status", BookingStatusType,
                                     "Result of updateBookingStatus.")
ArchiveBookingStatusPayload = payload("ArchiveBookingStatusPayload", "status", BookingStatusType,
                                      "Result of archiveBookingStatus.")
ArchiveObjectPayload = payload("ArchiveObjectPayload", "object", BookableObjectType, "Result of archiveObject.")
ArchiveBookingFieldPayload = payload("ArchiveBookingFieldPayload", "field", BookingFieldType,
                                     "Result of archiveBookingField.")
EraseCustomerPayload = payload("EraseCustomerPayload", "customer", CustomerType, "Result of eraseCustomer.")


@strawberry.type(description="Result of eraseCustomersByEmail.")
class EraseCustomersByEmailPayload:
    erased: int = strawberry.field(description=(
        "How many customers had the address and are erased now (0 when none had it, or when refused)."))
    customers: list[CustomerType] = strawberry.field(description="The customers erased now (with erasedAt).")
    errors: list[UserError]
