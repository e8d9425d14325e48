"""fixtures/demo.json: a small holiday park, loadable again and again."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from addon.base.public import DEMO_FILE, seed
from addon.booking.models import (
    BookableObject,
    Booking,
    BookingField,
    BookingStatusHistory,
    Customer,
)
from tests.booking.helpers import count

pytestmark = pytest.mark.anyio

DEMO = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
TABLES = (BookableObject, Booking, BookingField, BookingStatusHistory, Customer)
QUERY = """{
  objects { name timeZone subObjects { name timeZone } }
  bookingFields { code }
  bookings(first: 100) { edges { node {
    reference start end object { name parent { name } } customer { name language } status { code }
    history { to { code } by }
  } } }
}"""


async def counts(host) -> dict[str, int]:
    return {model.__name__: await count(host, model) for model in TABLES}


async def test_seeding_twice_adds_nothing(host):
    await seed(host, DEMO)
    first = await counts(host)
    await seed(host, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    assert await counts(host) == first
    assert first["Booking"] == len(DEMO["bookings"]) == first["Customer"]
    assert first["BookableObject"] == 5  # the building, its two studios, the meeting room, the sauna


async def test_the_demo_park(host, gql):
    await seed(host, DEMO)
    data = await gql(QUERY)

    objects = {o["name"]: o for o in data["objects"]}
    assert set(objects) == {"Studio building", "Meeting room", "Sauna"}
    assert [s["name"] for s in objects["Studio building"]["subObjects"]] == ["Studio 1", "Studio 2"]
    assert objects["Meeting room"]["subObjects"] == [] and objects["Sauna"]["subObjects"] == []
    assert {s["timeZone"] for s in objects["Studio building"]["subObjects"]} == {"Europe/Amsterdam"}
    assert {f["code"] for f in data["bookingFields"]} >= {"resivo_authorization_id", "licence_plate"}

    bookings = {e["node"]["reference"]: e["node"] for e in data["bookings"]["edges"]}
    assert set(bookings) == {b["reference"] for b in DEMO["bookings"]}
    languages = {b["customer"]["language"] for b in bookings.values()}
    assert {"de", "fr", "es"} <= languages and None in languages, "several languages, and one left empty"
    statuses = {b["status"]["code"] for b in bookings.values()}
    assert {"option", "confirmed", "paid", "cancelled"} <= statuses
    assert any(b["object"]["parent"] for b in bookings.values()), "some bookings are on a sub-object"

    paid = bookings["DEMO-1003"]
    assert [h["to"]["code"] for h in paid["history"]] == ["option", "confirmed", "paid"]
    assert {h["by"] for h in paid["history"]} == {"demo"}

    for booking in bookings.values():
        start, end = datetime.fromisoformat(booking["start"]), datetime.fromisoformat(booking["end"])
        assert start < end


async def test_demo_dates_follow_today(host, gql):
    """Dates are relative to the day of seeding, so the demo always shows current stays."""
    await seed(host, DEMO)
    data = await gql(QUERY)
    starts = {e["node"]["reference"]: datetime.fromisoformat(e["node"]["start"]) for e in data["bookings"]["edges"]}
    now = datetime.now(timezone.utc)
    for item in DEMO["bookings"]:
        offset = starts[item["reference"]] - now
        assert timedelta(days=item["startInDays"] - 1) < offset < timedelta(days=item["startInDays"] + 1)


async def test_the_demo_follows_the_default_transitions(host, gql):
    """A demo booking is created at option (creation is not a move) and then moved, each move one
    the default transitions allow: the seed goes through setBookingStatus's own check."""
    from addon.booking.models import DEFAULT_TRANSITIONS

    await seed(host, DEMO)
    data = await gql("{ bookings(first: 100) { edges { node { reference history { from { code } to { code } forced } } } } }")
    histories = {e["node"]["reference"]: e["node"]["history"] for e in data["bookings"]["edges"]}
    assert set(histories) == {item["reference"] for item in DEMO["bookings"]}
    for item in DEMO["bookings"]:
        moves = [(h["from"]["code"] if h["from"] else None, h["to"]["code"], h["forced"])
                 for h in histories[item["reference"]]]
        assert moves[0] == (None, "option", False)
        assert [to for _, to, _ in moves[1:]] == item["statuses"]
        for source, target, forced in moves[1:]:
            assert target in DEFAULT_TRANSITIONS[source] and not forced
