"""Write side of the booking API: one input object per mutation, payload with ``errors``."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from addon.base.mutations import run_in_transaction
from addon.base.permissions import IsAdmin, IsStaff

from .. import services
from .types import (
    BookableObjectType,
    BookingFieldType,
    BookingType,
    CreateBookingFieldPayload,
    CreateBookingPayload,
    CreateObjectPayload,
    SetBookingFieldPayload,
    SetBookingStatusPayload,
    UpdateBookingPayload,
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


@strawberry.input
class SetBookingFieldInput:
    booking_id: strawberry.ID
    field: str = strawberry.field(description="A booking field code.")
    value: Optional[str] = strawberry.field(description="Null clears the value.")


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
        row, errors = await run_in_transaction(ctx.session, lambda s: services.set_booking_status(
            ctx.host, s, input.booking_id, input.status, actor=ctx.actor))
        return SetBookingStatusPayload(booking=row and BookingType.from_model(row), errors=errors)

    @strawberry.mutation(permission_classes=[IsStaff])
    async def set_booking_field(self, info: Info, input: SetBookingFieldInput) -> SetBookingFieldPayload:
        ctx = info.context
        row, errors = await run_in_transaction(ctx.session, lambda s: services.set_booking_field(
            ctx.host, s, input.booking_id, input.field, input.value))
        return SetBookingFieldPayload(booking=row and BookingType.from_model(row), errors=errors)
