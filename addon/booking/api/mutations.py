"""Write side of the booking API: one input object per mutation, payload with ``errors``."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.public import (
    UNSET,
    IsAdmin,
    IsStaff,
    Message,
    Problem,
    Role,
    UserError,
    clean_text,
    prime,
    run_in_transaction,
)

from .. import erasure, lifecycle, services
from .types import (
    ArchiveBookingFieldPayload,
    ArchiveBookingStatusPayload,
    ArchiveObjectPayload,
    BookableObjectType,
    BookingFieldType,
    BookingStatusType,
    BookingType,
    CreateBookingFieldPayload,
    CreateBookingPayload,
    CreateBookingStatusPayload,
    CreateObjectPayload,
    CustomerType,
    EraseCustomerPayload,
    EraseCustomersByEmailPayload,
    SetBookingFieldPayload,
    SetBookingStatusPayload,
    UpdateBookingPayload,
    UpdateBookingStatusPayload,
    UpdateObjectPayload,
)


@strawberry.input
class CreateObjectInput:
    code: str
    name: str
    time_zone: Optional[str] = strawberry.field(default=None, description="IANA zone; default: the parent's, else the site default.")
    parent_id: Optional[strawberry.ID] = strawberry.field(default=None, description="Makes this a sub-object.")


@strawberry.input
class UpdateObjectInput:
    id: strawberry.ID
    code: Optional[str] = None
    name: Optional[str] = None
    time_zone: Optional[str] = None
    parent_id: Optional[strawberry.ID] = None
    clear_parent: bool = strawberry.field(default=False, description="Make a sub-object a main object.")


@strawberry.input
class CreateBookingFieldInput:
    code: str
    label: str


@strawberry.input
class CustomerInput:
    name: str
    email: Optional[str] = None
    phone: Optional[str] = None
    language: Optional[str] = strawberry.field(default=None, description="e.g. nl, de-CH, fr_BE.")


@strawberry.input
class CreateBookingInput:
    object_id: strawberry.ID
    customer: CustomerInput
    start: datetime
    end: datetime
    status: str = strawberry.field(default="option", description="Initial status code.")
    reference: Optional[str] = strawberry.field(default=None, description="Default: generated.")


@strawberry.input
class UpdateBookingInput:
    id: strawberry.ID
    start: Optional[datetime] = None
    end: Optional[datetime] = None
    object_id: Optional[strawberry.ID] = None
    customer: Optional[CustomerInput] = None


@strawberry.input
class SetBookingStatusInput:
    booking_id: strawberry.ID
    status: str = strawberry.field(description="A booking status code, e.g. confirmed.")
    force: bool = strawberry.field(default=False, description=(
        "Admins only: make a move the current status does not list as next (recorded in the history and the "
        "audit trail). An archived status is never a target."))


@strawberry.input
class SetBookingFieldInput:
    booking_id: strawberry.ID
    field: str = strawberry.field(description="A booking field code.")
    value: Optional[str] = strawberry.field(description="Null clears the value.")


@strawberry.input
class LocalizedNameInput:
    language: str = strawberry.field(description="A two-letter language code, e.g. nl.")
    name: str


@strawberry.input
class CreateBookingStatusInput:
    code: str = strawberry.field(description="Stable; what status arguments and integrations name.")
    name: str = strawberry.field(description="The display name for languages without one of their own.")
    names: Optional[list[LocalizedNameInput]] = strawberry.field(default=None, description="Per language.")
    sequence: Optional[int] = strawberry.field(default=None, description="Where it comes in lists; default: last.")
    next_statuses: Optional[list[str]] = strawberry.field(default=None, description=(
        "Codes of the statuses a booking at this one may move to (default: none, a final status)."))


@strawberry.input
class UpdateBookingStatusInput:
    id: strawberry.ID
    name: Optional[str] = None
    names: Optional[list[LocalizedNameInput]] = strawberry.field(default=UNSET, description=(
        "Replaces every per-language name; an empty list removes them."))
    sequence: Optional[int] = None
    next_statuses: Optional[list[str]] = strawberry.field(default=UNSET, description=(
        "Replaces the list of statuses that may follow this one; an empty list makes it final."))


@strawberry.input
class ArchiveInput:
    id: strawberry.ID
    archived: bool = strawberry.field(default=True, description="False restores it.")


@strawberry.input
class EraseCustomerInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer (Booking.customer.id).")


@strawberry.input
class EraseCustomersByEmailInput:
    email: str = strawberry.field(description=(
        "The guest's e-mail address, in any case: every customer who has it is erased (see customers(email))."))


MAX_EMAIL = 254


def _as_email_field(errors: list[UserError]) -> list[UserError]:
    # The refusals name the customer they are about; this input has only the address.
    return [UserError(field="email" if e.field == "customerId" else e.field, code=e.code, message=e.message)
            for e in errors]


def _status_changes(data) -> lifecycle.StatusChanges:
    names = getattr(data, "names", UNSET)
    next_codes = getattr(data, "next_statuses", UNSET)
    return lifecycle.StatusChanges(
        name=UNSET if data.name is None else data.name,
        names=UNSET if names is UNSET else {n.language: n.name for n in names or []},
        sequence=UNSET if data.sequence is None else data.sequence,
        next_statuses=UNSET if next_codes is UNSET else list(next_codes or []),
    )


def _customer(data: Optional[CustomerInput]) -> Optional[services.CustomerData]:
    if data is None:
        return None
    return services.CustomerData(name=data.name, email=data.email, phone=data.phone, language=data.language)


@strawberry.type
class BookingMutation:
    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_object(self, info: Info, input: CreateObjectInput) -> CreateObjectPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.create_object(
            ctx.host, s, code=input.code, name=input.name, time_zone=input.time_zone, parent_id=input.parent_id))
        return CreateObjectPayload(object=row and BookableObjectType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def update_object(self, info: Info, input: UpdateObjectInput) -> UpdateObjectPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.update_object(
            ctx.host, s, input.id, code=input.code, name=input.name, time_zone=input.time_zone,
            parent_id=input.parent_id, clear_parent=input.clear_parent))
        return UpdateObjectPayload(object=row and BookableObjectType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin])
    async def create_booking_field(self, info: Info, input: CreateBookingFieldInput) -> CreateBookingFieldPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.create_booking_field(
            ctx.host, s, code=input.code, label=input.label))
        return CreateBookingFieldPayload(field=row and BookingFieldType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def create_booking(self, info: Info, input: CreateBookingInput) -> CreateBookingPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.create_booking(
            ctx.host, s, object_id=input.object_id, customer=_customer(input.customer), start=input.start,
            end=input.end, status=input.status, reference=input.reference, actor=ctx.actor))
        return CreateBookingPayload(booking=row and BookingType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def update_booking(self, info: Info, input: UpdateBookingInput) -> UpdateBookingPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.update_booking(
            ctx.host, s, input.id, start=input.start, end=input.end, object_id=input.object_id,
            customer=_customer(input.customer), actor=ctx.actor))
        return UpdateBookingPayload(booking=row and BookingType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def set_booking_status(self, info: Info, input: SetBookingStatusInput) -> SetBookingStatusPayload:
        ctx = info.context
        if input.force and not ctx.principal.may(Role.ADMIN):
            refused = Problem("FORBIDDEN", "Only an admin may force a status change.", "force")
            return SetBookingStatusPayload(booking=None, errors=[refused.as_user_error()])

        async def change(session):
            done = await services.change_booking_status(ctx.host, session, input.booking_id, input.status,
                                                        actor=ctx.actor, force=input.force)
            # The answer is built from what the transaction loaded: the new status (held by the
            # change, no statement) and the booking's columns, which after-commit work (door
            # access) leaves alone; only what that work writes (the access) is read afresh.
            prime(ctx, "booking.status", done.booking.status_id, done.new)
            return done.booking

        row, errors = await run_in_transaction(ctx.session, change, refresh=False)
        return SetBookingStatusPayload(booking=row and BookingType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def set_booking_field(self, info: Info, input: SetBookingFieldInput) -> SetBookingFieldPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.set_booking_field(
            ctx.host, s, input.booking_id, input.field, input.value))
        return SetBookingFieldPayload(booking=row and BookingType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Add a booking status, with the statuses that may follow it. Other statuses lead to it once an admin "
        "lists it in their nextStatuses (updateBookingStatus)."))
    async def create_booking_status(self, info: Info, input: CreateBookingStatusInput) -> CreateBookingStatusPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: lifecycle.create_status(
            ctx.host, s, input.code, _status_changes(input)))
        return CreateBookingStatusPayload(status=row and BookingStatusType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Rename a status (its default name and per-language names), move it in the list, or change which "
        "statuses may follow it. The code never changes."))
    async def update_booking_status(self, info: Info, input: UpdateBookingStatusInput) -> UpdateBookingStatusPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: lifecycle.update_status(
            ctx.host, s, input.id, _status_changes(input)))
        return UpdateBookingStatusPayload(status=row and BookingStatusType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Archive (or restore) a status: no new booking, move or configuration may choose it; bookings at it "
        "keep it, and what already names it (an integration's trigger statuses) keeps working."))
    async def archive_booking_status(self, info: Info, input: ArchiveInput) -> ArchiveBookingStatusPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: lifecycle.archive_status(
            ctx.host, s, input.id, input.archived))
        return ArchiveBookingStatusPayload(status=row and BookingStatusType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Archive (or restore) an object: no new booking or door mapping may choose it; its bookings and "
        "mappings stay."))
    async def archive_object(self, info: Info, input: ArchiveInput) -> ArchiveObjectPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.archive_object(
            ctx.host, s, input.id, input.archived))
        return ArchiveObjectPayload(object=row and BookableObjectType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Archive (or restore) a booking field: its values stay readable; no one writes new ones and no new "
        "configuration chooses it."))
    async def archive_booking_field(self, info: Info, input: ArchiveInput) -> ArchiveBookingFieldPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.archive_booking_field(
            ctx.host, s, input.id, input.archived))
        return ArchiveBookingFieldPayload(field=row and BookingFieldType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Erase a customer's personal data (name, e-mail, phone, language) from the customer, their bookings' "
        "field values and door access, the call log and the audit trail, leaving a placeholder. Their live "
        "door access is revoked first; while the lock system has not confirmed that, the erasure is refused "
        "(ACCESS_STILL_LIVE) and the revoke stays queued: ask again later. Recorded in the audit trail as "
        "customer.erase, without the erased data."))
    async def erase_customer(self, info: Info, input: EraseCustomerInput) -> EraseCustomerPayload:
        ctx = info.context
        _, errors = await run_in_transaction(ctx.session, lambda s: erasure.request_erasure(
            ctx.host, s, input.customer_id, ctx.actor))
        if not errors:
            row, errors = await run_in_transaction(ctx.session, lambda s: erasure.erase_customer(
                ctx.host, s, input.customer_id, ctx.actor))
        if errors:
            return EraseCustomerPayload(customer=None, errors=errors)
        return EraseCustomerPayload(customer=CustomerType.from_model(row), errors=[])

    @strawberry.mutation(permission_classes=[IsAdmin], description=(
        "Erase every customer with this e-mail address (in any case) at once, as eraseCustomer does each: one "
        "guest who booked twice is two customers. All of them are erased, or none: while the door access of one "
        "of them is not revoked yet, the answer is ACCESS_STILL_LIVE and nothing is erased. erased says how many "
        "customers were erased (0: nobody has the address)."))
    async def erase_customers_by_email(self, info: Info, input: EraseCustomersByEmailInput
                                       ) -> EraseCustomersByEmailPayload:
        ctx = info.context
        problems: list[Problem] = []
        email = clean_text(input.email, "email", Message("E-mail"), MAX_EMAIL, problems=problems)
        if problems:
            return EraseCustomersByEmailPayload(erased=0, customers=[], errors=[p.as_user_error() for p in problems])

        async def request(session) -> list[int]:
            ids = [c.id for c in await erasure.customers_by_email(session, email, lock=True)]
            await erasure.request_erasures(ctx.host, session, ids, ctx.actor)
            return ids

        ids, errors = await run_in_transaction(ctx.session, request)
        rows: list = []
        if not errors and ids:
            rows, errors = await run_in_transaction(ctx.session, lambda s: erasure.erase_customers(
                ctx.host, s, ids, ctx.actor), refresh=False)
        if errors:
            return EraseCustomersByEmailPayload(erased=0, customers=[], errors=_as_email_field(errors))
        return EraseCustomersByEmailPayload(erased=len(rows), customers=[CustomerType.from_model(r) for r in rows],
                                            errors=[])
