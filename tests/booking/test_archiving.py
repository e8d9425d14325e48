"""Archived objects and booking fields: hidden from new work, kept for history."""

import pytest

from tests.booking.helpers import (
    CREATE_BOOKING,
    ERRORS,
    SET_FIELD,
    UPDATE_BOOKING,
    UPDATE_OBJECT,
    create_booking,
    create_object,
    iso,
    local,
    ok,
    refused,
)

pytestmark = pytest.mark.anyio

ARCHIVE_OBJECT = f"""mutation($input: ArchiveInput!) {{
  archiveObject(input: $input) {{ object {{ id code archived archivedAt }} {ERRORS} }} }}"""
ARCHIVE_FIELD = f"""mutation($input: ArchiveInput!) {{
  archiveBookingField(input: $input) {{ field {{ id code archived }} {ERRORS} }} }}"""


async def test_an_archived_object_takes_no_new_bookings_but_keeps_its_own(gql, clock):
    building = await create_object(gql, "lodge", "Lodge")
    room = await create_object(gql, "lodge-1", "Lodge 1", parentId=building["id"])
    other = await create_object(gql, "barn", "Barn")
    kept = await create_booking(gql, room["id"])
    archived = await ok(gql, ARCHIVE_OBJECT, {"id": room["id"]}, "archiveObject", "object")
    assert archived["archived"] is True and archived["archivedAt"]

    listed = await gql("{ objects { code subObjects { code } } all: objects(includeArchived: true) { code "
                       "subObjects(includeArchived: true) { code archived } } }")
    assert {o["code"]: [s["code"] for s in o["subObjects"]] for o in listed["objects"]}["lodge"] == []
    assert {o["code"]: o["subObjects"] for o in listed["all"]}["lodge"] == [{"code": "lodge-1", "archived": True}]
    mappable = await gql("{ mappableObjects { code } }")
    assert "lodge-1" not in [o["code"] for o in mappable["mappableObjects"]]

    body = {"objectId": room["id"], "customer": {"name": "G"}, "start": iso(local(3)), "end": iso(local(5))}
    errors = await refused(gql, CREATE_BOOKING, body, "createBooking", "booking")
    assert errors == [{"field": "objectId", "code": "ARCHIVED",
                       "message": "Object 'lodge-1' is archived; choose another object."}]
    moved_there = await create_booking(gql, other["id"])
    errors = await refused(gql, UPDATE_BOOKING, {"id": moved_there["id"], "objectId": room["id"]}, "updateBooking",
                           "booking")
    assert errors[0]["code"] == "ARCHIVED"
    errors = await refused(gql, UPDATE_OBJECT, {"id": other["id"], "parentId": room["id"]}, "updateObject", "object")
    assert errors[0]["code"] == "ARCHIVED"

    # its own booking is untouched and still edited
    again = await ok(gql, UPDATE_BOOKING, {"id": kept["id"], "end": iso(local(3))}, "updateBooking", "booking")
    assert again["object"]["code"] == "lodge-1"
    restored = await ok(gql, ARCHIVE_OBJECT, {"id": room["id"], "archived": False}, "archiveObject", "object")
    assert restored["archived"] is False
    await ok(gql, CREATE_BOOKING, body, "createBooking", "booking")


async def test_an_archived_booking_field_keeps_its_values_and_takes_no_new_ones(gql):
    obj = await create_object(gql, "cabin", "Cabin")
    made = await create_booking(gql, obj["id"])
    field = (await gql(f"mutation {{ createBookingField(input: {{code: \"note\", label: \"Note\"}}) {{ field {{ id }} "
                       f"{ERRORS} }} }}"))["createBookingField"]["field"]
    await ok(gql, SET_FIELD, {"bookingId": made["id"], "field": "note", "value": "late arrival"}, "setBookingField",
             "booking")
    assert (await ok(gql, ARCHIVE_FIELD, {"id": field["id"]}, "archiveBookingField", "field"))["archived"] is True
    listed = await gql("{ bookingFields { code } all: bookingFields(includeArchived: true) { code archived } }")
    assert listed["bookingFields"] == [] and listed["all"] == [{"code": "note", "archived": True}]
    errors = await refused(gql, SET_FIELD, {"bookingId": made["id"], "field": "note", "value": "x"}, "setBookingField",
                           "booking")
    assert errors == [{"field": "field", "code": "ARCHIVED", "message": "Booking field 'note' is archived."}]
    still = await gql("query($id: ID!) { booking(id: $id) { fields { code value } } }", {"id": made["id"]})
    assert still["booking"]["fields"] == [{"code": "note", "value": "late arrival"}]
