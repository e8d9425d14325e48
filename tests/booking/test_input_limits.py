"""Size limits on the free-text inputs of bookings: refused with a user error that names the
limit, nothing stored, and the value never quoted back."""

from __future__ import annotations

import pytest

from addon.booking.models import BookableObject, Booking, BookingFieldValue, Customer
from addon.booking.services import MAX_CODE, MAX_FIELD_VALUE, MAX_NAME
from tests.booking.helpers import (
    CREATE_BOOKING,
    CREATE_FIELD,
    CREATE_OBJECT,
    SET_FIELD,
    count,
    create_booking,
    create_object,
    iso,
    local,
    ok,
    refused,
)

pytestmark = pytest.mark.anyio

MEGABYTE = "x" * 1_000_000


def problems(errors: list[dict]) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in errors]


async def test_a_booking_field_value_is_at_most_ten_thousand_characters(gql, host):
    await ok(gql, CREATE_FIELD, {"code": "note", "label": "Note"}, "createBookingField", "field")
    booking = await create_booking(gql, (await create_object(gql, "room"))["id"])
    for value in ("y" * (MAX_FIELD_VALUE + 1), MEGABYTE):
        errors = await refused(gql, SET_FIELD, {"bookingId": booking["id"], "field": "note", "value": value},
                               "setBookingField", "booking")
        assert problems(errors) == [("value", "TOO_LONG")]
        assert f"{MAX_FIELD_VALUE}" in errors[0]["message"].replace(",", "")
        assert "yyyy" not in errors[0]["message"] and "xxxx" not in errors[0]["message"]
    assert await count(host, BookingFieldValue) == 0
    done = await ok(gql, SET_FIELD, {"bookingId": booking["id"], "field": "note", "value": "y" * MAX_FIELD_VALUE},
                    "setBookingField", "booking")
    assert {"code": "note", "value": "y" * MAX_FIELD_VALUE} in done["fields"]


async def test_codes_that_are_looked_up_are_not_quoted_back_at_any_length(gql, host):
    booking = await create_booking(gql, (await create_object(gql, "room"))["id"])
    errors = await refused(gql, SET_FIELD, {"bookingId": booking["id"], "field": MEGABYTE, "value": "1"},
                           "setBookingField", "booking")
    assert problems(errors) == [("field", "TOO_LONG")]
    assert str(MAX_CODE) in errors[0]["message"] and "xxxx" not in errors[0]["message"]
    start = local(10)
    errors = await refused(gql, CREATE_BOOKING, {
        "objectId": booking["object"]["id"], "customer": {"name": "Guest"}, "start": iso(start),
        "end": iso(local(12)), "status": MEGABYTE}, "createBooking", "booking")
    assert problems(errors) == [("status", "TOO_LONG")]
    assert "xxxx" not in errors[0]["message"]
    assert await count(host, Booking) == 1 and await count(host, Customer) == 1


@pytest.mark.parametrize(("field", "value", "limit"), [
    ("name", "n" * (MAX_NAME + 1), MAX_NAME),
    ("email", "e" * 250 + "@example.org", 254),
    ("phone", "1" * 41, 40),
    ("language", "l" * 36, 35),
], ids=["name", "email", "phone", "language"])
async def test_customer_inputs_name_their_limit(gql, host, field, value, limit):
    obj = await create_object(gql, "room")
    customer = {"name": "Guest", field: value}
    errors = await refused(gql, CREATE_BOOKING, {"objectId": obj["id"], "customer": customer,
                                                 "start": iso(local(1)), "end": iso(local(3))},
                           "createBooking", "booking")
    assert problems(errors) == [(f"customer.{field}", "TOO_LONG")]
    assert str(limit) in errors[0]["message"]
    assert await count(host, Booking) == 0 and await count(host, Customer) == 0


@pytest.mark.parametrize(("field", "value", "limit"), [
    ("code", "c" * (MAX_CODE + 1), MAX_CODE),
    ("name", MEGABYTE, MAX_NAME),
    ("timeZone", MEGABYTE, 64),
], ids=["code", "name", "time-zone"])
async def test_object_inputs_name_their_limit(gql, host, field, value, limit):
    errors = await refused(gql, CREATE_OBJECT, {"code": "room", "name": "Room", field: value},
                           "createObject", "object")
    assert problems(errors) == [(field, "TOO_LONG")]
    assert str(limit) in errors[0]["message"] and "xxxx" not in errors[0]["message"]
    assert await count(host, BookableObject) == 0


async def test_a_booking_field_label_and_reference_name_their_limit(gql, host):
    errors = await refused(gql, CREATE_FIELD, {"code": "note", "label": MEGABYTE}, "createBookingField", "field")
    assert problems(errors) == [("label", "TOO_LONG")]
    obj = await create_object(gql, "room")
    errors = await refused(gql, CREATE_BOOKING, {"objectId": obj["id"], "customer": {"name": "Guest"},
                                                 "start": iso(local(1)), "end": iso(local(3)),
                                                 "reference": "R" * (MAX_CODE + 1)}, "createBooking", "booking")
    assert problems(errors) == [("reference", "TOO_LONG")]
    assert await count(host, Booking) == 0
