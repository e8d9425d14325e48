"""Objects and sub-objects, and admin-defined booking fields, over GraphQL."""

import pytest

from addon.booking.models import BookableObject, BookingField
from tests.booking.helpers import (
    CREATE_FIELD,
    CREATE_OBJECT,
    OBJECT_FIELDS,
    UPDATE_OBJECT,
    count,
    create_object,
    ok,
    refused,
)

pytestmark = pytest.mark.anyio


async def test_create_main_object_and_sub_object(gql):
    main = await create_object(gql, "house", "House", timeZone="Europe/Berlin")
    assert main["code"] == "house" and main["name"] == "House"
    assert main["timeZone"] == "Europe/Berlin"
    assert main["parent"] is None and main["subObjects"] == []

    sub = await create_object(gql, "house-room", "Room", parentId=main["id"])
    assert sub["parent"] == {"id": main["id"], "code": "house", "name": "House"}
    assert sub["timeZone"] == "Europe/Berlin", "a sub-object inherits its parent's time zone"

    other = await create_object(gql, "tent", "Tent")
    assert other["timeZone"] == "Europe/Amsterdam", "without a zone and parent, the site default applies"


async def test_invalid_time_zone_is_refused_and_creates_nothing(gql, host):
    errors = await refused(gql, CREATE_OBJECT, {"code": "x", "name": "X", "timeZone": "Mars/Olympus"},
                           "createObject", "object")
    assert [(e["field"], e["code"]) for e in errors] == [("timeZone", "INVALID")]
    assert "Mars/Olympus" in errors[0]["message"]
    assert await count(host, BookableObject) == 0


@pytest.mark.parametrize(
    "bad_input, field, code",
    [
        ({"code": "", "name": "Empty code"}, "code", "REQUIRED"),
        ({"code": "c", "name": "   "}, "name", "REQUIRED"),
        ({"code": "c" * 65, "name": "Long code"}, "code", "TOO_LONG"),
        ({"code": "c", "name": "Orphan", "parentId": "999999"}, "parentId", "NOT_FOUND"),
        ({"code": "c", "name": "Bad parent", "parentId": "not-a-number"}, "parentId", "INVALID"),
    ],
)
async def test_create_object_refuses_bad_input(gql, host, bad_input, field, code):
    errors = await refused(gql, CREATE_OBJECT, bad_input, "createObject", "object")
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert await count(host, BookableObject) == 0


async def test_duplicate_object_code_is_refused(gql, host):
    await create_object(gql, "sauna")
    errors = await refused(gql, CREATE_OBJECT, {"code": "sauna", "name": "Second sauna"}, "createObject", "object")
    assert [(e["field"], e["code"]) for e in errors] == [("code", "DUPLICATE")]
    assert await count(host, BookableObject) == 1


async def test_update_object(gql):
    house = await create_object(gql, "house", "House")
    barn = await create_object(gql, "barn", "Barn")

    updated = await ok(gql, UPDATE_OBJECT, {"id": barn["id"], "name": "Old barn", "timeZone": "Europe/Lisbon"},
                       "updateObject", "object")
    assert (updated["code"], updated["name"], updated["timeZone"]) == ("barn", "Old barn", "Europe/Lisbon")

    moved = await ok(gql, UPDATE_OBJECT, {"id": barn["id"], "parentId": house["id"]}, "updateObject", "object")
    assert moved["parent"]["id"] == house["id"]
    assert moved["name"] == "Old barn", "fields left out keep their value"

    freed = await ok(gql, UPDATE_OBJECT, {"id": barn["id"], "clearParent": True}, "updateObject", "object")
    assert freed["parent"] is None


async def test_update_object_refusals_change_nothing(gql):
    house = await create_object(gql, "house", "House")
    room = await create_object(gql, "room", "Room", parentId=house["id"])
    await create_object(gql, "barn", "Barn")

    cases = [
        ({"id": house["id"], "parentId": room["id"]}, "parentId", "INVALID"),  # cycle
        ({"id": house["id"], "parentId": house["id"]}, "parentId", "INVALID"),  # own parent
        ({"id": house["id"], "code": "barn"}, "code", "DUPLICATE"),
        ({"id": house["id"], "timeZone": "Nowhere/Land", "name": "Renamed"}, "timeZone", "INVALID"),
        ({"id": "424242", "name": "Ghost"}, "id", "NOT_FOUND"),
    ]
    for update, field, code in cases:
        errors = await refused(gql, UPDATE_OBJECT, update, "updateObject", "object")
        assert [(e["field"], e["code"]) for e in errors] == [(field, code)], update

    data = await gql(f"query($id: ID!) {{ object(id: $id) {{ {OBJECT_FIELDS} }} }}", {"id": house["id"]})
    assert data["object"]["code"] == "house" and data["object"]["name"] == "House"
    assert data["object"]["parent"] is None
    assert data["object"]["timeZone"] == "Europe/Amsterdam"


async def test_objects_lists_main_objects_with_sub_objects(gql):
    studios = await create_object(gql, "studios", "Studio building")
    await create_object(gql, "studio-2", "Studio 2", parentId=studios["id"])
    await create_object(gql, "studio-1", "Studio 1", parentId=studios["id"])
    await create_object(gql, "sauna", "Sauna")

    data = await gql("{ objects { code name parent { code } subObjects { code name parent { code name } } } }")
    assert [o["code"] for o in data["objects"]] == ["sauna", "studios"], "main objects only, by name"
    building = data["objects"][1]
    assert building["parent"] is None
    assert [s["name"] for s in building["subObjects"]] == ["Studio 1", "Studio 2"]
    assert all(s["parent"] == {"code": "studios", "name": "Studio building"} for s in building["subObjects"])


async def test_object_by_id(gql):
    main = await create_object(gql, "main", "Main")
    sub = await create_object(gql, "sub", "Sub", parentId=main["id"])
    query = "query($id: ID!) { object(id: $id) { id code parent { code } subObjects { code } } }"

    assert (await gql(query, {"id": sub["id"]}))["object"] == {
        "id": sub["id"], "code": "sub", "parent": {"code": "main"}, "subObjects": []}
    assert (await gql(query, {"id": main["id"]}))["object"]["subObjects"] == [{"code": "sub"}]
    assert (await gql(query, {"id": "987654"}))["object"] is None

    body = await gql.raw(query, {"id": "abc"})
    assert (body["data"] or {}).get("object") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_create_booking_field_and_duplicate(gql, host):
    field = await ok(gql, CREATE_FIELD, {"code": "licence_plate", "label": "Licence plate"},
                     "createBookingField", "field")
    assert (field["code"], field["label"]) == ("licence_plate", "Licence plate")

    errors = await refused(gql, CREATE_FIELD, {"code": "licence_plate", "label": "Again"}, "createBookingField", "field")
    assert [(e["field"], e["code"]) for e in errors] == [("code", "DUPLICATE")]

    errors = await refused(gql, CREATE_FIELD, {"code": "door", "label": ""}, "createBookingField", "field")
    assert [(e["field"], e["code"]) for e in errors] == [("label", "REQUIRED")]

    assert await count(host, BookingField) == 1
    data = await gql("{ bookingFields { id code label } }")
    assert data["bookingFields"] == [field]


async def test_default_booking_statuses(gql):
    data = await gql("{ bookingStatuses { code name } }")
    assert data["bookingStatuses"] == [
        {"code": "option", "name": "Option"},
        {"code": "confirmed", "name": "Confirmed"},
        {"code": "paid", "name": "Paid"},
        {"code": "checked_in", "name": "Checked in"},
        {"code": "checked_out", "name": "Checked out"},
        {"code": "cancelled", "name": "Cancelled"},
    ]
