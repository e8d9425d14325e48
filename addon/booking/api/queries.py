"""Read side of the booking API."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Optional

import strawberry
from sqlalchemy import and_, or_, select
from strawberry.types import Info

from addon.base.db import id_in_range
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
    PageInfo,
)

DEFAULT_PAGE_SIZE = 50


def encode_cursor(row: Booking) -> str:
    raw = f"{row.start_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        start, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment, number = datetime.fromisoformat(start), int(ident)
        if moment.tzinfo is None or not id_in_range(number):
            raise ValueError("not a cursor this API made")
        return moment, number
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CodedError("Invalid cursor {cursor!r}; use an endCursor from an earlier page.", "BAD_USER_INPUT", cursor=cursor) from None


def _object_id(value: strawberry.ID) -> int:
    try:
        return int(value)
    except ValueError:
        raise CodedError("Invalid object id {value!r}.", "BAD_USER_INPUT", value=value) from None


def _aware(value: Optional[datetime], name: str) -> Optional[datetime]:
    if value is not None and value.tzinfo is None:
        raise CodedError("{name} needs a time-zone offset.", "BAD_USER_INPUT", name=name)
    return value


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
        ident = _object_id(id)
        row = await info.context.session.get(BookableObject, ident) if id_in_range(ident) else None
        return BookableObjectType.from_model(row) if row else None

    @strawberry.field(permission_classes=[IsFrontend])
    async def booking(self, info: Info, id: strawberry.ID) -> Optional[BookingType]:
        try:
            ident = int(id)
        except ValueError:
            raise CodedError("Invalid booking id {id!r}.", "BAD_USER_INPUT", id=id) from None
        row = await info.context.session.get(Booking, ident) if id_in_range(ident) else None
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
        limit = info.context.host.settings.max_page_size
        if not 1 <= first <= limit:
            raise CodedError("first must be between 1 and {limit}.", "BAD_USER_INPUT", limit=limit)
        query = select(Booking)
        if status is not None:
            query = query.join(BookingStatus, BookingStatus.id == Booking.status_id).where(BookingStatus.code == status)
        if object_id is not None:
            oid = _object_id(object_id)
            if not id_in_range(oid):
                oid = 0  # names no row: an empty page, not a database error
            children = select(BookableObject.id).where(BookableObject.parent_id == oid)
            query = query.where(or_(Booking.object_id == oid, Booking.object_id.in_(children)))
        if _aware(starts_from, "startsFrom") is not None:
            query = query.where(Booking.start_at >= starts_from)
        if _aware(starts_until, "startsUntil") is not None:
            query = query.where(Booking.start_at < starts_until)
        if after:
            start, ident = decode_cursor(after)
            query = query.where(or_(Booking.start_at > start, and_(Booking.start_at == start, Booking.id > ident)))
        rows = (
            await info.context.session.execute(query.order_by(Booking.start_at, Booking.id).limit(first + 1))
        ).scalars().all()
        page = rows[:first]
        edges = [BookingEdge(cursor=encode_cursor(r), node=BookingType.from_model(r)) for r in page]
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
