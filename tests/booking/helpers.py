"""Helpers shared by the booking tests: GraphQL snippets, quick setup and database counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from addon.booking.models import Booking, BookingStatus, BookingStatusHistory
from tests.support.ids import row_id

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ERRORS = "errors { field code message }"
OBJECT_FIELDS = "id code name timeZone parent { id code name } subObjects { id code name }"
BOOKING_FIELDS = """
    id reference start end
    object { id code name parent { id code } }
    customer { id name email phone language }
    status { code name }
    fields { code value }
    history { from { code } to { code } at by }
"""

CREATE_OBJECT = f"""
mutation($input: CreateObjectInput!) {{
  createObject(input: $input) {{ object {{ {OBJECT_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_OBJECT = f"""
mutation($input: UpdateObjectInput!) {{
  updateObject(input: $input) {{ object {{ {OBJECT_FIELDS} }} {ERRORS} }}
}}"""
CREATE_FIELD = f"""
mutation($input: CreateBookingFieldInput!) {{
  createBookingField(input: $input) {{ field {{ id code label }} {ERRORS} }}
}}"""
CREATE_BOOKING = f"""
mutation($input: CreateBookingInput!) {{
  createBooking(input: $input) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }}
}}"""
UPDATE_BOOKING = f"""
mutation($input: UpdateBookingInput!) {{
  updateBooking(input: $input) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }}
}}"""
SET_STATUS = f"""
mutation($input: SetBookingStatusInput!) {{
  setBookingStatus(input: $input) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }}
}}"""
SET_FIELD = f"""
mutation($input: SetBookingFieldInput!) {{
  setBookingField(input: $input) {{ booking {{ {BOOKING_FIELDS} }} {ERRORS} }}
}}"""
BOOKING = f"query($id: ID!) {{ booking(id: $id) {{ {BOOKING_FIELDS} }} }}"


def local(days: int, hour: int = 15, minute: int = 0, zone=AMSTERDAM) -> datetime:
    """A wall-clock time ``days`` from a fixed date (far enough ahead for any test)."""
    return datetime(2030, 6, 1, hour, minute, tzinfo=zone) + timedelta(days=days)


def iso(value: datetime) -> str:
    return value.isoformat()


def same_instant(text: str, expected: datetime) -> bool:
    return datetime.fromisoformat(text).astimezone(timezone.utc) == expected.astimezone(timezone.utc)


async def ok(gql, mutation: str, input: dict, key: str, result: str) -> dict:
    """Run a mutation that must succeed; return its result object."""
    payload = (await gql(mutation, {"input": input}))[key]
    assert payload["errors"] == [], payload["errors"]
    assert payload[result] is not None
    return payload[result]


async def refused(gql, mutation: str, input: dict, key: str, result: str) -> list[dict]:
    """Run a mutation that must be refused with user errors; return them."""
    payload = (await gql(mutation, {"input": input}))[key]
    assert payload[result] is None, payload
    assert payload["errors"], "expected user errors"
    return payload["errors"]


async def create_object(gql, code: str, name: str | None = None, **extra) -> dict:
    return await ok(gql, CREATE_OBJECT, {"code": code, "name": name or code.title(), **extra}, "createObject", "object")


async def create_booking(gql, object_id: str, start: datetime | None = None, end: datetime | None = None,
                         customer: dict | None = None, **extra) -> dict:
    start = start or local(0)
    end = end or start + timedelta(days=2)
    booking_input = {
        "objectId": object_id,
        "customer": customer or {"name": "Guest", "email": "guest@example.org", "language": "en"},
        "start": iso(start),
        "end": iso(end),
        **extra,
    }
    return await ok(gql, CREATE_BOOKING, booking_input, "createBooking", "booking")


async def count(host, model, *where) -> int:
    async with host.database.session() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def stored_status(host, booking_id) -> str:
    async with host.database.session() as session:
        return (
            await session.execute(
                select(BookingStatus.code).join(Booking, Booking.status_id == BookingStatus.id)
                .where(Booking.id == row_id(booking_id))
            )
        ).scalar_one()


async def history_count(host, booking_id) -> int:
    return await count(host, BookingStatusHistory, BookingStatusHistory.booking_id == row_id(booking_id))
