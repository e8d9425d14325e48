"""Read side of the booking API."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import strawberry
from sqlalchemy import and_, or_, select
from strawberry.types import Info

from addon.base.api_kit import PageInfo, bad_cursor, check_page_size, decode_cursor, encode_cursor, id_argument
from addon.base.errors import CodedError
from addon.base.permissions import IsFrontend

from ..models import BookableObject, Booking, BookingField, BookingStatus
from .types import (
    BookableObjectType,
    BookingConnection,
    BookingEdge,
    BookingFieldType,
    BookingStatusType,
    BookingType,
)

DEFAULT_PAGE_SIZE = 50


CURSOR_KIND = "booking"


def booking_cursor(row: Booking) -> str:
    return encode_cursor(CURSOR_KIND, row.start_at.isoformat(), row.id)


def read_booking_cursor(cursor: str) -> tuple[datetime, int]:
    start, ident = decode_cursor(cursor, CURSOR_KIND, 2)
    try:
        moment = datetime.fromisoformat(start)
        number = id_argument(ident)
    except (ValueError, CodedError):
        raise bad_cursor(cursor) from None
    if moment.tzinfo is None or number is None:
        raise bad_cursor(cursor)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # beyond the dates a stored booking can have: not one of our cursors
        raise bad_cursor(cursor) from None
    return moment, number


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


@strawberry.type
class BookingQuery:
    @strawberry.field(permission_classes=[IsFrontend], description="Main objects, each with its sub-objects.")
    async def objects(self, info: Info) -> list[BookableObjectType]:
        rows = (
            await info.context.session.execute(
                select(BookableObject).where(BookableObject.parent_id.is_(None)).order_by(BookableObject.name)
            )
        ).scalars().all()
        return [BookableObjectType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsFrontend], name="object")
    async def object_(self, info: Info, id: strawberry.ID) -> Optional[BookableObjectType]:
        ident = id_argument(id)
        row = await info.context.session.get(BookableObject, ident) if ident else None
        return BookableObjectType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsFrontend])
    async def booking(self, info: Info, id: strawberry.ID) -> Optional[BookingType]:
        ident = id_argument(id)
        row = await info.context.session.get(Booking, ident) if ident else None
        return BookingType.from_model(row) if row else None

    @strawberry.field(
        permission_classes=[IsFrontend],
        description="Bookings ordered by start, as a cursor connection. objectId includes its sub-objects.",
    )
    async def bookings(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: Optional[str] = None,
        status: Optional[str] = None,
        object_id: Optional[strawberry.ID] = None,
        starts_from: Optional[datetime] = None,
        starts_until: Optional[datetime] = None,
    ) -> BookingConnection:
        check_page_size(first, info.context.host.settings.max_page_size)
        query = select(Booking)
        if status is not None:
            query = query.join(BookingStatus, BookingStatus.id == Booking.status_id).where(BookingStatus.code == status)
        if object_id is not None:
            oid = id_argument(object_id) or 0  # out of range names no row: an empty page
            children = select(BookableObject.id).where(BookableObject.parent_id == oid)
            query = query.where(or_(Booking.object_id == oid, Booking.object_id.in_(children)))
        starts_from, starts_until = _bound(starts_from, "startsFrom"), _bound(starts_until, "startsUntil")
        if starts_from is not None:
            query = query.where(Booking.start_at >= starts_from)
        if starts_until is not None:
            query = query.where(Booking.start_at < starts_until)
        if after:
            start, ident = read_booking_cursor(after)
            query = query.where(or_(Booking.start_at > start, and_(Booking.start_at == start, Booking.id > ident)))
        rows = (
            await info.context.session.execute(query.order_by(Booking.start_at, Booking.id).limit(first + 1))
        ).scalars().all()
        page = rows[:first]
        edges = [BookingEdge(cursor=booking_cursor(r), node=BookingType.from_model(r)) for r in page]
        return BookingConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(permission_classes=[IsFrontend])
    async def booking_statuses(self, info: Info) -> list[BookingStatusType]:
        rows = (await info.context.session.execute(select(BookingStatus).order_by(BookingStatus.sequence, BookingStatus.id))).scalars().all()
        return [BookingStatusType.from_model(r) for r in rows]

    @strawberry.field(permission_classes=[IsFrontend])
    async def booking_fields(self, info: Info) -> list[BookingFieldType]:
        rows = (await info.context.session.execute(select(BookingField).order_by(BookingField.code))).scalars().all()
        return [BookingFieldType.from_model(r) for r in rows]
