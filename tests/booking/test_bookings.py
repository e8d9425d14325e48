"""Bookings over GraphQL: create, update, status changes with history, field values."""

from datetime import datetime, timedelta, timezone

import pytest

from addon.booking.models import (
    Booking,
    BookingFieldValue,
    BookingStatusHistory,
    Customer,
)
from tests.booking.helpers import (
    BOOKING,
    CREATE_BOOKING,
    CREATE_FIELD,
    SET_FIELD,
    SET_STATUS,
    UPDATE_BOOKING,
    count,
    create_booking,
    create_object,
    history_count,
    iso,
    local,
    ok,
    refused,
    same_instant,
    stored_status,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def objects(gql) -> dict[str, dict]:
    building = await create_object(gql, "building", "Building")
    return {
        "building": building,
        "studio": await create_object(gql, "studio", "Studio", parentId=building["id"]),
        "sauna": await create_object(gql, "sauna", "Sauna", timeZone="Europe/Helsinki"),
    }


@pytest.fixture
def staff(gql, tokens):
    """The same client, acting with the staff token (bookings are staff work)."""
    return type(gql)(gql.http, tokens["staff"])


async def test_create_booking_with_inline_customer(staff, objects):
    start, end = local(3, 15), local(5, 10)
    booking = await create_booking(
        staff, objects["studio"]["id"], start, end,
        customer={"name": "Anna Schmidt", "email": "anna@example.de", "phone": "+49 30 1234567", "language": "de-CH"},
        reference="R-1",
    )
    assert booking["reference"] == "R-1"
    assert booking["object"] == {"id": objects["studio"]["id"], "code": "studio", "name": "Studio",
                                 "parent": {"id": objects["building"]["id"], "code": "building"}}
    assert booking["customer"]["name"] == "Anna Schmidt"
    assert booking["customer"]["email"] == "anna@example.de"
    assert booking["customer"]["phone"] == "+49 30 1234567"
    assert booking["customer"]["language"] == "de-CH"
    assert same_instant(booking["start"], start) and same_instant(booking["end"], end)
    assert datetime.fromisoformat(booking["start"]).tzinfo is not None, "times come back time-zone aware"
    assert booking["status"] == {"code": "option", "name": "Option"}
    assert booking["fields"] == []
    [entry] = booking["history"]
    assert entry["from"] is None and entry["to"] == {"code": "option"}
    assert entry["by"] == "token:test-staff", "history says who did it (the token, by its name)"


async def test_create_booking_with_status_and_generated_reference(staff, objects):
    booking = await create_booking(staff, objects["sauna"]["id"], local(1, 18), local(1, 20), status="confirmed",
                                   customer={"name": "Tom"})
    assert booking["status"]["code"] == "confirmed"
    assert booking["reference"], "a reference is generated when none is given"
    assert booking["customer"] == {"id": booking["customer"]["id"], "name": "Tom", "email": None, "phone": None,
                                   "language": None}


@pytest.mark.parametrize(
    "change, field, code, message_part",
    [
        ({"start": iso(local(5)), "end": iso(local(4))}, "end", "INVALID", "after the start"),
        ({"start": iso(local(5)), "end": iso(local(5))}, "end", "INVALID", "after the start"),
        ({"objectId": "999999"}, "objectId", "NOT_FOUND", "999999"),
        ({"objectId": "studio"}, "objectId", "INVALID", "not a valid id"),
        ({"status": "teleported"}, "status", "NOT_FOUND", "option, confirmed, paid, checked_in, checked_out, cancelled"),
        ({"start": "2030-06-01T15:00:00"}, "start", "INVALID", "offset"),
        ({"end": "2030-06-09T10:00:00"}, "end", "INVALID", "offset"),
        ({"customer": {"name": ""}}, "customer.name", "REQUIRED", "required"),
        ({"customer": {"name": "X", "email": "not an address"}}, "customer.email", "INVALID", "e-mail"),
        ({"reference": "R" * 65}, "reference", "TOO_LONG", "64"),
    ],
)
async def test_create_booking_refusals_create_nothing(staff, host, objects, change, field, code, message_part):
    booking_input = {
        "objectId": objects["studio"]["id"],
        "customer": {"name": "Guest"},
        "start": iso(local(1)),
        "end": iso(local(3)),
        **change,
    }
    errors = await refused(staff, CREATE_BOOKING, booking_input, "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert message_part in errors[0]["message"]
    assert await count(host, Booking) == 0
    assert await count(host, Customer) == 0
    assert await count(host, BookingStatusHistory) == 0


async def test_duplicate_reference_is_refused(staff, host, objects):
    await create_booking(staff, objects["sauna"]["id"], reference="SAME")
    errors = await refused(staff, CREATE_BOOKING, {
        "objectId": objects["sauna"]["id"], "customer": {"name": "Other"}, "reference": "SAME",
        "start": iso(local(10)), "end": iso(local(11))}, "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("reference", "DUPLICATE")]
    assert await count(host, Booking) == 1


async def test_update_booking_dates_object_and_customer(staff, objects):
    booking = await create_booking(staff, objects["studio"]["id"], local(1), local(3),
                                   customer={"name": "Jan", "email": "jan@example.nl", "language": "nl"})
    start, end = local(2, 16, zone=timezone(timedelta(hours=5))), local(6, 11)

    updated = await ok(staff, UPDATE_BOOKING, {"id": booking["id"], "start": iso(start), "end": iso(end)},
                       "updateBooking", "booking")
    assert same_instant(updated["start"], start) and same_instant(updated["end"], end)
    assert updated["object"]["code"] == "studio"

    updated = await ok(staff, UPDATE_BOOKING, {"id": booking["id"], "objectId": objects["sauna"]["id"]},
                       "updateBooking", "booking")
    assert updated["object"]["code"] == "sauna"
    assert same_instant(updated["start"], start), "dates left out stay"

    updated = await ok(staff, UPDATE_BOOKING, {
        "id": booking["id"], "customer": {"name": "Jan de Vries", "email": "jan@example.org", "language": "nl-BE"}},
        "updateBooking", "booking")
    assert updated["customer"]["id"] == booking["customer"]["id"], "the booking's customer is edited in place"
    assert (updated["customer"]["name"], updated["customer"]["email"], updated["customer"]["language"]) == (
        "Jan de Vries", "jan@example.org", "nl-BE")

    fetched = (await staff(BOOKING, {"id": booking["id"]}))["booking"]
    assert fetched["object"]["code"] == "sauna"
    assert fetched["customer"]["name"] == "Jan de Vries"
    assert same_instant(fetched["end"], end)


async def test_update_booking_refusals_change_nothing(staff, objects):
    booking = await create_booking(staff, objects["studio"]["id"], local(1), local(3))
    cases = [
        ({"end": iso(local(0))}, "end", "INVALID"),  # only the end, now before the stored start
        ({"start": iso(local(4))}, "end", "INVALID"),  # only the start, now after the stored end
        ({"start": "2030-06-01T15:00:00"}, "start", "INVALID"),
        ({"objectId": "31337", "start": iso(local(0))}, "objectId", "NOT_FOUND"),
        ({"customer": {"name": "New", "email": "nope"}, "start": iso(local(0))}, "customer.email", "INVALID"),
    ]
    for change, field, code in cases:
        errors = await refused(staff, UPDATE_BOOKING, {"id": booking["id"], **change}, "updateBooking", "booking")
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], change

    errors = await refused(staff, UPDATE_BOOKING, {"id": "777777", "start": iso(local(0))}, "updateBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("id", "NOT_FOUND")]

    assert (await staff(BOOKING, {"id": booking["id"]}))["booking"] == booking


async def test_set_booking_status_records_history(staff, host, objects):
    booking = await create_booking(staff, objects["sauna"]["id"])

    confirmed = await ok(staff, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"},
                         "setBookingStatus", "booking")
    assert confirmed["status"] == {"code": "confirmed", "name": "Confirmed"}
    paid = await ok(staff, SET_STATUS, {"bookingId": booking["id"], "status": "paid"}, "setBookingStatus", "booking")

    moves = [(h["from"] and h["from"]["code"], h["to"]["code"], h["by"]) for h in paid["history"]]
    assert moves == [(None, "option", "token:test-staff"), ("option", "confirmed", "token:test-staff"),
                     ("confirmed", "paid", "token:test-staff")]
    times = [datetime.fromisoformat(h["at"]) for h in paid["history"]]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert await stored_status(host, booking["id"]) == "paid"


async def test_setting_the_same_status_twice_adds_no_history(staff, host, objects):
    booking = await create_booking(staff, objects["sauna"]["id"])
    await ok(staff, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    again = await ok(staff, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    assert again["status"]["code"] == "confirmed"
    assert len(again["history"]) == 2
    assert await history_count(host, booking["id"]) == 2


async def test_unknown_status_lists_the_known_codes(staff, host, objects):
    booking = await create_booking(staff, objects["sauna"]["id"])
    errors = await refused(staff, SET_STATUS, {"bookingId": booking["id"], "status": "CONFIRMED"},
                           "setBookingStatus", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("status", "NOT_FOUND")]
    for code in ("option", "confirmed", "paid", "checked_in", "checked_out", "cancelled"):
        assert code in errors[0]["message"]
    assert await stored_status(host, booking["id"]) == "option"
    assert await history_count(host, booking["id"]) == 1

    errors = await refused(staff, SET_STATUS, {"bookingId": "4040404", "status": "paid"}, "setBookingStatus", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("bookingId", "NOT_FOUND")]


async def test_set_booking_field(gql, staff, host, objects):
    await ok(gql, CREATE_FIELD, {"code": "licence_plate", "label": "Licence plate"}, "createBookingField", "field")
    await ok(gql, CREATE_FIELD, {"code": "door_code", "label": "Door code"}, "createBookingField", "field")
    booking = await create_booking(staff, objects["studio"]["id"])

    result = await ok(staff, SET_FIELD, {"bookingId": booking["id"], "field": "licence_plate", "value": "AB-12-CD"},
                      "setBookingField", "booking")
    assert result["fields"] == [{"code": "licence_plate", "value": "AB-12-CD"}]
    result = await ok(staff, SET_FIELD, {"bookingId": booking["id"], "field": "door_code", "value": "1234"},
                      "setBookingField", "booking")
    result = await ok(staff, SET_FIELD, {"bookingId": booking["id"], "field": "licence_plate", "value": "XY-99"},
                      "setBookingField", "booking")
    assert result["fields"] == [{"code": "door_code", "value": "1234"}, {"code": "licence_plate", "value": "XY-99"}]
    assert await count(host, BookingFieldValue) == 2, "overwriting a value keeps one row per field"

    cleared = await ok(staff, SET_FIELD, {"bookingId": booking["id"], "field": "door_code", "value": None},
                       "setBookingField", "booking")
    assert {"code": "door_code", "value": None} in cleared["fields"]

    errors = await refused(staff, SET_FIELD, {"bookingId": booking["id"], "field": "shoe_size", "value": "44"},
                           "setBookingField", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("field", "NOT_FOUND")]
    assert "shoe_size" in errors[0]["message"]
    errors = await refused(staff, SET_FIELD, {"bookingId": "1234567", "field": "door_code", "value": "1"},
                           "setBookingField", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("bookingId", "NOT_FOUND")]
    assert await count(host, BookingFieldValue) == 2


async def test_booking_by_id(staff, objects):
    booking = await create_booking(staff, objects["studio"]["id"])
    assert (await staff(BOOKING, {"id": booking["id"]}))["booking"] == booking
    assert (await staff(BOOKING, {"id": "99999"}))["booking"] is None
    body = await staff.raw(BOOKING, {"id": "B-1"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("huge", ["99999999999", "-99999999999", "1" * 30])
async def test_out_of_range_ids_are_not_found_not_internal_errors(staff, objects, huge):
    """An id no row can have (beyond the integer column) is simply unknown, on PostgreSQL too."""
    assert (await staff(BOOKING, {"id": huge}))["booking"] is None
    assert (await staff("query($id: ID!) { object(id: $id) { id } }", {"id": huge}))["object"] is None
    errors = await refused(staff, SET_STATUS, {"bookingId": huge, "status": "paid"}, "setBookingStatus", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("bookingId", "NOT_FOUND")]
    errors = await refused(staff, CREATE_BOOKING, {
        "objectId": huge, "customer": {"name": "G"}, "start": iso(local(1)), "end": iso(local(2))},
        "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("objectId", "NOT_FOUND")]
    # and the session is still usable afterwards
    assert (await staff("{ bookingStatuses { code } }"))["bookingStatuses"]
