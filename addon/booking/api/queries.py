"""Read side of the booking API."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated, Optional

import strawberry
from sqlalchemy import func, or_, select
from strawberry.types import Info

from addon.base.public import (
    CodedError,
    IsFrontend,
    IsStaff,
    OrderDirection,
    Ordering,
    at_path,
    empty_page,
    id_argument,
    instant_key,
    int_key,
    keyset_page,
    page_request,
    preload_selection,
    text_key,
)

from ..erasure import customers_by_email
from ..models import BookableObject, Booking, BookingField, BookingStatus, Customer
from . import plan  # noqa: F401  (registers what a bookings page reads up front)
from .types import (
    BookableObjectType,
    BookingConnection,
    BookingFieldType,
    BookingStatusType,
    BookingType,
    CustomerConnection,
    CustomerType,
)

DEFAULT_PAGE_SIZE = 50
MAX_SEARCH = 200
MAX_EMAIL = 254


@strawberry.enum(name="BookingOrderField", description="What bookings are ordered by.")
class BookingOrderField(enum.Enum):
    START = "start"
    CREATED = "created"
    REFERENCE = "reference"


@strawberry.input(name="BookingOrder", description="The order of a bookings list; ties are broken by the booking's id.")
class BookingOrder:
    field: BookingOrderField = BookingOrderField.START
    direction: OrderDirection = OrderDirection.ASC


_ORDER_COLUMNS = {
    BookingOrderField.START: instant_key(Booking.start_at),
    BookingOrderField.CREATED: instant_key(Booking.created_at),
    BookingOrderField.REFERENCE: text_key(Booking.reference),
}


def booking_ordering(order: Optional[BookingOrder]) -> Ordering:
    field = order.field if order is not None else BookingOrderField.START
    direction = order.direction if order is not None else OrderDirection.ASC
    return Ordering(f"booking:{field.name}:{direction.name}", (_ORDER_COLUMNS[field], int_key(Booking.id)),
                    descending=direction is OrderDirection.DESC)


CUSTOMERS_BY_NAME = Ordering("customer:NAME", (text_key(Customer.name), int_key(Customer.id)))


def _bound(value: Optional[datetime], name: str) -> Optional[datetime]:
    """A start filter as a UTC instant. Any date is a fair bound, however far out: one beyond the
    dates Python can hold in UTC (year 1 ahead of UTC, 9999 behind it) is replaced by the first or
    last instant there is, which selects exactly the same bookings."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise CodedError("{name} needs a time-zone offset.", "BAD_USER_INPUT", name=name)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        edge = datetime.min if value.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=timezone.utc)


def _in_use(query, model, include_archived: bool):
    """A list query without the archived rows, unless they are asked for."""
    return query if include_archived else query.where(model.archived_at.is_(None))


PAGING = ("Page forward with first/after (pageInfo.endCursor), back with last/before (pageInfo.startCursor); "
          "default: the first 50.")


@strawberry.type
class BookingQuery:
    @strawberry.field(permission_classes=[IsFrontend], description=(
        "Main objects, each with its sub-objects; archived ones only with includeArchived."))
    async def objects(self, info: Info, include_archived: bool = False) -> list[BookableObjectType]:
        query = select(BookableObject).where(BookableObject.parent_id.is_(None)).order_by(BookableObject.name)
        rows = (await info.context.session.execute(_in_use(query, BookableObject, include_archived))).scalars().all()
        return [BookableObjectType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsFrontend], name="object")
    async def object_(self, info: Info, id: strawberry.ID) -> Optional[BookableObjectType]:
        ident = id_argument(id, "BookableObject")
        row = await info.context.session.get(BookableObject, ident) if ident else None
        return BookableObjectType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsFrontend])
    async def booking(self, info: Info, id: strawberry.ID) -> Optional[BookingType]:
        ident = id_argument(id, "Booking")
        row = await info.context.session.get(Booking, ident) if ident else None
        return BookingType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsFrontend], description=(
        "The booking with this reference (as the guest knows it, e.g. from a confirmation); null when there is none."))
    async def booking_by_reference(self, info: Info, reference: str) -> Optional[BookingType]:
        reference = reference.strip()
        if not reference or len(reference) > 64:  # longer than any stored reference
            return None
        row = (await info.context.session.execute(
            select(Booking).where(Booking.reference == reference))).scalar_one_or_none()
        return BookingType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsFrontend], description=(
        "Bookings as a cursor connection, by start unless orderBy says otherwise. objectId includes its "
        "sub-objects; startsFrom is inclusive, startsUntil exclusive. " + PAGING))
    async def bookings(
        self,
        info: Info,
        first: Optional[int] = None,
        after: Optional[str] = None,
        last: Optional[int] = None,
        before: Optional[str] = None,
        status: Annotated[Optional[str], strawberry.argument(description="A status code, e.g. confirmed.")] = None,
        object_id: Optional[strawberry.ID] = None,
        starts_from: Optional[datetime] = None,
        starts_until: Optional[datetime] = None,
        order_by: Annotated[Optional[BookingOrder], strawberry.argument(description=(
            "Default: start, ascending. A cursor belongs to the order it was read in."))] = None,
    ) -> BookingConnection:
        ctx = info.context
        request = page_request(first, after, last, before, ctx.host.settings.max_page_size, DEFAULT_PAGE_SIZE)
        query = select(*Booking.__table__.columns)  # plain rows: a page needs no ORM objects
        if status is not None:
            query = query.join(BookingStatus, BookingStatus.id == Booking.status_id).where(BookingStatus.code == status)
        if object_id is not None:
            oid = id_argument(object_id, "BookableObject")
            if oid is None:  # out of range: names no object
                return empty_page(BookingConnection)
            children = select(BookableObject.id).where(BookableObject.parent_id == oid)
            query = query.where(or_(Booking.object_id == oid, Booking.object_id.in_(children)))
        starts_from, starts_until = _bound(starts_from, "startsFrom"), _bound(starts_until, "startsUntil")
        if starts_from is not None:
            query = query.where(Booking.start_at >= starts_from)
        if starts_until is not None:
            query = query.where(Booking.start_at < starts_until)
        page = await keyset_page(ctx.session, query, booking_ordering(order_by), request, BookingConnection,
                                 BookingType.from_model, rows=True)
        # What the query selects below each booking, read for the whole page (api/plan.py).
        await preload_selection(ctx, "Booking", [edge.node for edge in page.edges],
                                at_path(info.selected_fields, "edges", "node"))
        return page

    @strawberry.field(permission_classes=[IsStaff], description=(
        "Customers by name; search finds a part of the name or the e-mail address, in any case; email finds "
        "every customer with that whole address, in any case (one guest who booked twice is two customers: "
        "eraseCustomersByEmail erases them all). " + PAGING))
    async def customers(
        self,
        info: Info,
        search: Optional[str] = None,
        email: Annotated[Optional[str], strawberry.argument(description=(
            "A whole e-mail address, in any case: the customers who have it."))] = None,
        first: Optional[int] = None,
        after: Optional[str] = None,
        last: Optional[int] = None,
        before: Optional[str] = None,
    ) -> CustomerConnection:
        ctx = info.context
        request = page_request(first, after, last, before, ctx.host.settings.max_page_size, DEFAULT_PAGE_SIZE)
        query = select(Customer)
        text = (search or "").strip().lower()
        if len(text) > MAX_SEARCH:
            raise CodedError("search is longer than {max_length} characters.", "BAD_USER_INPUT", max_length=MAX_SEARCH)
        if text:
            query = query.where(or_(func.lower(Customer.name).contains(text, autoescape=True),
                                    func.lower(Customer.email).contains(text, autoescape=True)))
        if email is not None:
            if len(email) > MAX_EMAIL:
                raise CodedError("email is longer than {max_length} characters.", "BAD_USER_INPUT",
                                 max_length=MAX_EMAIL)
            # The same customers eraseCustomersByEmail erases (its exact match is in erasure.py).
            ids = [c.id for c in await customers_by_email(ctx.session, email)] if email.strip() else []
            query = query.where(Customer.id.in_(ids))
        return await keyset_page(ctx.session, query, CUSTOMERS_BY_NAME, request, CustomerConnection,
                                 CustomerType.from_model)

    @strawberry.field(permission_classes=[IsFrontend], description=(
        "The statuses in order, each with the statuses that may follow it; archived ones only with includeArchived."))
    async def booking_statuses(self, info: Info, include_archived: bool = False) -> list[BookingStatusType]:
        query = select(BookingStatus).order_by(BookingStatus.sequence, BookingStatus.id)
        rows = (await info.context.session.execute(_in_use(query, BookingStatus, include_archived))).scalars().all()
        return [BookingStatusType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsFrontend], description="Booking fields; archived ones only with includeArchived.")
    async def booking_fields(self, info: Info, include_archived: bool = False) -> list[BookingFieldType]:
        query = select(BookingField).order_by(BookingField.code)
        rows = (await info.context.session.execute(_in_use(query, BookingField, include_archived))).scalars().all()
        return [BookingFieldType.from_model(r) for r in rows]
