"""The ``bookings`` cursor connection: pages, filters and bad arguments."""

import base64
from datetime import timedelta

import pytest

from tests.booking.helpers import (
    SET_STATUS,
    create_booking,
    create_object,
    iso,
    local,
    ok,
)

pytestmark = pytest.mark.anyio

PAGE = """
query($first: Int, $after: String, $status: String, $objectId: ID, $startsFrom: DateTime, $startsUntil: DateTime) {
  bookings(first: $first, after: $after, status: $status, objectId: $objectId,
           startsFrom: $startsFrom, startsUntil: $startsUntil) {
    edges { cursor node { reference start status { code } object { code } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def park(gql) -> dict:
    """12 bookings: 4 on the building itself, 4 on its sub-object, 4 on the sauna; two share a start."""
    building = await create_object(gql, "building", "Building")
    studio = await create_object(gql, "studio", "Studio", parentId=building["id"])
    sauna = await create_object(gql, "sauna", "Sauna")
    objects = {"building": building, "studio": studio, "sauna": sauna}
    references = []
    for day in range(12):
        obj = ["building", "studio", "sauna"][day % 3]
        # Days 6 and 7 start at the same instant: the cursor must tell them apart by id.
        start = local(6 if day == 7 else day, 15)
        booking = await create_booking(gql, objects[obj]["id"], start, start + timedelta(days=1),
                                       reference=f"P-{day:02d}")
        if day % 4 == 0:
            await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
        references.append(booking["reference"])
    return {"objects": objects, "references": references}


async def all_pages(gql, first: int, **filters) -> tuple[list[str], int]:
    """Follow endCursor to the end; return the references in order and the number of pages."""
    seen, after, pages = [], None, 0
    while True:
        connection = (await gql(PAGE, {"first": first, "after": after, **filters}))["bookings"]
        pages += 1
        assert len(connection["edges"]) <= first
        seen += [edge["node"]["reference"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            assert connection["pageInfo"]["endCursor"] == (connection["edges"][-1]["cursor"] if connection["edges"] else None)
            return seen, pages
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


async def test_pages_cover_every_booking_once_in_start_order(gql, park):
    expected = sorted(park["references"], key=lambda ref: (local(6 if ref == "P-07" else int(ref[2:])), ref))
    references, pages = await all_pages(gql, first=5)
    assert pages == 3
    assert references == expected, "ordered by start, then id; no gaps, no repeats"

    first_page = (await gql(PAGE, {"first": 5}))["bookings"]
    assert [e["node"]["reference"] for e in first_page["edges"]] == expected[:5]
    assert first_page["pageInfo"]["hasNextPage"] is True

    assert (await all_pages(gql, first=12)) == (expected, 1)
    assert (await all_pages(gql, first=1))[1] == 12


async def test_default_page(gql, park):
    connection = (await gql("{ bookings { edges { node { reference } } pageInfo { hasNextPage } } }"))["bookings"]
    assert len(connection["edges"]) == 12 and connection["pageInfo"]["hasNextPage"] is False


async def test_filter_by_status(gql, park):
    references, _ = await all_pages(gql, first=2, status="confirmed")
    assert sorted(references) == ["P-00", "P-04", "P-08"]
    assert (await all_pages(gql, first=2, status="paid"))[0] == []
    assert (await all_pages(gql, first=2, status="no-such-status"))[0] == []


async def test_filter_by_object_includes_sub_objects(gql, park):
    objects = park["objects"]
    building, _ = await all_pages(gql, first=3, objectId=objects["building"]["id"])
    studio, _ = await all_pages(gql, first=3, objectId=objects["studio"]["id"])
    sauna, _ = await all_pages(gql, first=3, objectId=objects["sauna"]["id"])
    assert sorted(studio) == ["P-01", "P-04", "P-07", "P-10"]
    assert sorted(sauna) == ["P-02", "P-05", "P-08", "P-11"]
    assert sorted(building) == sorted(["P-00", "P-03", "P-06", "P-09"] + studio), "the parent includes its sub-object"
    assert (await all_pages(gql, first=3, objectId="424242"))[0] == []


async def test_filter_by_start_window(gql, park):
    # startsFrom is inclusive, startsUntil exclusive; an offset other than the site's works too.
    starts_from = iso(local(3, 15))
    starts_until = local(6, 15).astimezone(local(0).tzinfo).isoformat()
    references, _ = await all_pages(gql, first=2, startsFrom=starts_from, startsUntil=starts_until)
    assert references == ["P-03", "P-04", "P-05"]

    later, _ = await all_pages(gql, first=4, startsFrom=iso(local(10, 0)))
    assert later == ["P-10", "P-11"]
    earlier, _ = await all_pages(gql, first=4, startsUntil=iso(local(1, 15)))
    assert earlier == ["P-00"]


async def test_filters_combine(gql, park):
    references, _ = await all_pages(gql, first=1, status="confirmed", objectId=park["objects"]["building"]["id"],
                                    startsFrom=iso(local(1)))
    assert references == ["P-04"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor",
        "bm9wZQ==",  # "nope"
        base64.urlsafe_b64encode(b"2030-06-01T13:00:00|x").decode(),
        base64.urlsafe_b64encode(b"2030-06-01T13:00:00|5").decode(),  # no time-zone offset
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"2030-06-01T13:00:00+00:00|99999999999").decode(),  # id beyond any row
    ],
)
async def test_invalid_cursor_is_a_clear_error(gql, park, cursor):
    body = await gql.raw(PAGE, {"first": 5, "after": cursor})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cursor" in error["message"].lower()


@pytest.mark.parametrize("first", [0, -1, 501, 10_000])
async def test_page_size_outside_the_limit_is_a_clear_error(gql, first):
    body = await gql.raw(PAGE, {"first": first})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "first must be between 1 and 500" in error["message"]


async def test_naive_start_filter_is_refused(gql):
    body = await gql.raw(PAGE, {"first": 5, "startsFrom": "2030-06-01T00:00:00"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "startsFrom" in body["errors"][0]["message"]
