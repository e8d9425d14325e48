"""Booking dates are sane at the door: inside 2000–2200 (UTC), the end after the start, no longer
than IRESERVE_MAX_BOOKING_DAYS; the bookings filters answer for any date, however far out."""

import base64
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from addon.base.public import SettingsError, ValidationFailed, load_host
from addon.booking import services
from addon.booking.models import Booking, BookingStatusHistory, Customer
from addon.booking.settings import BookingSettings, booking_settings
from tests.booking.helpers import (
    BOOKING,
    CREATE_BOOKING,
    UPDATE_BOOKING,
    count,
    create_booking,
    create_object,
    iso,
    local,
    ok,
    refused,
    same_instant,
)
from tests.conftest import base_environ
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

UTC = timezone.utc
YEAR_1_AHEAD_OF_UTC = "0001-01-01T00:00:00+01:00"  # before the first instant Python has in UTC
YEAR_9999_BEHIND_UTC = "9999-12-31T23:00:00-05:00"  # after the last one
PAGE = """
query($first: Int, $after: String, $startsFrom: DateTime, $startsUntil: DateTime) {
  bookings(first: $first, after: $after, startsFrom: $startsFrom, startsUntil: $startsUntil) {
    edges { node { reference } }
    pageInfo { endCursor }
  }
}"""


def record(host, name: str) -> list[dict]:
    seen = []

    async def handler(session, **payload):
        seen.append(payload)

    host.events.subscribe(name, handler)
    return seen


@pytest.fixture
async def studio(gql) -> dict:
    return await create_object(gql, "studio", "Studio", timeZone="Europe/Amsterdam")


async def nothing_stored(host) -> bool:
    return (await count(host, Booking), await count(host, Customer), await count(host, BookingStatusHistory)) == (0, 0, 0)


def new_booking(studio, start: str, end: str) -> dict:
    return {"objectId": studio["id"], "customer": {"name": "Guest"}, "start": start, "end": end}


@pytest.mark.parametrize(
    "start, end, field, shown",
    [
        (YEAR_1_AHEAD_OF_UTC, iso(local(2)), "start", "0001-01-01T00:00:00+01:00"),
        ("0001-01-01T00:00:00+00:00", iso(local(2)), "start", "0001-01-01"),
        (iso(local(0)), YEAR_9999_BEHIND_UTC, "end", "9999-12-31T23:00:00-05:00"),
        (iso(local(0)), "9999-12-31T23:59:59+00:00", "end", "9999-12-31"),
        ("1999-12-31T23:59:59+00:00", "2000-01-02T00:00:00+00:00", "start", "1999-12-31"),
        ("2000-01-01T00:30:00+01:00", "2000-01-02T00:00:00+00:00", "start", "2000-01-01T00:30:00+01:00"),
        ("2200-12-30T12:00:00+00:00", "2201-01-01T00:00:00+00:00", "end", "2201-01-01"),
        ("2200-12-30T12:00:00+00:00", "2200-12-31T23:00:00-05:00", "end", "2200-12-31T23:00:00-05:00"),
    ],
)
async def test_dates_outside_the_supported_range_are_refused_and_store_nothing(gql, host, studio, start, end,
                                                                               field, shown):
    errors = await refused(gql, CREATE_BOOKING, new_booking(studio, start, end), "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [(field, "OUT_OF_RANGE")]
    assert shown in errors[0]["message"]
    assert "2000-01-01 to 2200-12-31" in errors[0]["message"], "the message names the limit"
    assert await nothing_stored(host)


async def test_both_dates_out_of_range_are_named_at_once(gql, host, studio):
    errors = await refused(gql, CREATE_BOOKING, new_booking(studio, YEAR_9999_BEHIND_UTC, YEAR_1_AHEAD_OF_UTC),
                           "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("start", "OUT_OF_RANGE"), ("end", "OUT_OF_RANGE")]
    assert await nothing_stored(host)


@pytest.mark.parametrize(
    "start, end",
    [
        ("2000-01-01T00:00:00+00:00", "2000-01-03T10:00:00+00:00"),  # the first instant
        ("2199-06-01T15:00:00+02:00", "2199-06-05T10:00:00+02:00"),
        ("2200-12-29T15:00:00+00:00", "2200-12-31T23:59:59+00:00"),  # the last second
        ("2000-01-01T05:00:00+05:00", "2000-01-02T00:00:00+00:00"),  # 00:00 UTC, written elsewhere
    ],
)
async def test_dates_at_the_edges_of_the_range_are_accepted(gql, studio, start, end):
    booking = await ok(gql, CREATE_BOOKING, new_booking(studio, start, end), "createBooking", "booking")
    assert same_instant(booking["start"], datetime.fromisoformat(start))
    assert same_instant(booking["end"], datetime.fromisoformat(end))


async def test_a_booking_may_last_exactly_the_maximum_and_no_longer(gql, host, studio):
    assert booking_settings(host).max_booking_days == 366, "the default"
    start = local(0)
    longest = await create_booking(gql, studio["id"], start, start + timedelta(days=366))
    assert same_instant(longest["end"], start + timedelta(days=366))

    for end in (start + timedelta(days=366, minutes=1), start + timedelta(days=367), start + timedelta(days=5000)):
        errors = await refused(gql, CREATE_BOOKING, new_booking(studio, iso(start), iso(end)),
                               "createBooking", "booking")
        assert errors == [{"field": "end", "code": "TOO_LONG", "message": "A booking can last at most 366 days."}]
    assert await count(host, Booking) == 1


async def test_the_maximum_is_counted_in_days_on_the_objects_calendar(gql, studio):
    # Summer time at the start, winter time at the end: 366 days on the calendar in Amsterdam are
    # 366 days and one hour of elapsed time; that is still 366 days.
    start = datetime.fromisoformat("2030-10-26T15:00:00+02:00")
    end = datetime.fromisoformat("2031-10-27T15:00:00+01:00")
    assert end - start == timedelta(days=366, hours=1)
    booking = await create_booking(gql, studio["id"], start, end)
    assert same_instant(booking["end"], end)

    later = end + timedelta(minutes=1)
    errors = await refused(gql, CREATE_BOOKING, new_booking(studio, iso(start), iso(later)),
                           "createBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("end", "TOO_LONG")]


@pytest.mark.parametrize("env_overrides", [{"IRESERVE_MAX_BOOKING_DAYS": "7"}])
async def test_the_maximum_is_a_setting(gql, host, studio, env_overrides):
    assert booking_settings(host).max_booking_days == 7
    await create_booking(gql, studio["id"], local(0), local(7))
    errors = await refused(gql, CREATE_BOOKING, new_booking(studio, iso(local(10)), iso(local(17, 16))),
                           "createBooking", "booking")
    assert errors == [{"field": "end", "code": "TOO_LONG", "message": "A booking can last at most 7 days."}]


@pytest.mark.parametrize(
    "value, problem",
    [("0", "at least 1"), ("-3", "at least 1"), ("a year", "whole number"), ("73415", "at most 73414")],
)
def test_a_bad_maximum_stops_start_up_with_its_message(tmp_path, value, problem):
    with pytest.raises(SettingsError, match=problem):
        BookingSettings.from_env({"IRESERVE_MAX_BOOKING_DAYS": value})
    with pytest.raises(SettingsError, match="IRESERVE_MAX_BOOKING_DAYS"):
        load_host(environ=base_environ(tmp_path, IRESERVE_MAX_BOOKING_DAYS=value))


def test_the_maximum_reads_blank_as_the_default():
    assert BookingSettings.from_env({}).max_booking_days == 366
    assert BookingSettings.from_env({"IRESERVE_MAX_BOOKING_DAYS": " "}).max_booking_days == 366
    assert BookingSettings.from_env({"IRESERVE_MAX_BOOKING_DAYS": "73414"}).max_booking_days == 73414


# -- updates -----------------------------------------------------------------------------------------

@pytest.fixture
async def stay(gql, studio) -> dict:
    return await create_booking(gql, studio["id"], local(1), local(3))


@pytest.mark.parametrize(
    "change, field, code",
    [
        ({"start": YEAR_1_AHEAD_OF_UTC}, "start", "OUT_OF_RANGE"),
        ({"end": YEAR_9999_BEHIND_UTC}, "end", "OUT_OF_RANGE"),
        ({"end": "2201-01-01T00:00:00+00:00"}, "end", "OUT_OF_RANGE"),
        ({"start": "1999-12-31T23:00:00+00:00"}, "start", "OUT_OF_RANGE"),
        # only one date given: measured against the stored other one
        ({"end": iso(local(1) + timedelta(days=366, minutes=1))}, "end", "TOO_LONG"),
        ({"start": iso(local(3) - timedelta(days=367))}, "end", "TOO_LONG"),
        ({"start": iso(local(0)), "end": iso(local(400))}, "end", "TOO_LONG"),
    ],
)
async def test_update_refuses_insane_dates_and_changes_nothing(gql, host, stay, change, field, code):
    seen = record(host, services.CHANGED)
    errors = await refused(gql, UPDATE_BOOKING, {"id": stay["id"], **change}, "updateBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
    assert (await gql(BOOKING, {"id": stay["id"]}))["booking"] == stay
    assert seen == [], "nothing changed, so nothing fires"


async def test_update_of_one_date_up_to_the_maximum_is_accepted(gql, stay):
    end = local(1) + timedelta(days=366)
    updated = await ok(gql, UPDATE_BOOKING, {"id": stay["id"], "end": iso(end)}, "updateBooking", "booking")
    assert same_instant(updated["end"], end) and same_instant(updated["start"], local(1))
    start = datetime.fromisoformat("2199-01-01T00:00:00+00:00")
    updated = await ok(gql, UPDATE_BOOKING, {"id": stay["id"], "start": iso(start),
                                             "end": iso(start + timedelta(days=2))}, "updateBooking", "booking")
    assert same_instant(updated["start"], start)


async def test_a_booking_stored_before_the_rules_takes_other_edits_but_no_half_date_change(gql, host, stay):
    async with host.database.session() as session:
        row = (await session.execute(select(Booking).where(Booking.id == row_id(stay["id"])))).scalar_one()
        row.start_at = datetime(1990, 5, 1, 13, tzinfo=UTC)
        await session.commit()

    renamed = await ok(gql, UPDATE_BOOKING, {"id": stay["id"], "customer": {"name": "Renamed"}},
                       "updateBooking", "booking")
    assert renamed["customer"]["name"] == "Renamed"

    errors = await refused(gql, UPDATE_BOOKING, {"id": stay["id"], "end": iso(local(4))}, "updateBooking", "booking")
    assert [(e["field"], e["code"]) for e in errors] == [("start", "OUT_OF_RANGE")]
    assert "1990-05-01" in errors[0]["message"]

    fixed = await ok(gql, UPDATE_BOOKING, {"id": stay["id"], "start": iso(local(2))}, "updateBooking", "booking")
    assert same_instant(fixed["start"], local(2))


async def test_a_lower_maximum_does_not_lock_longer_bookings_out_of_other_edits(gql, host, studio):
    long_stay = await create_booking(gql, studio["id"], local(0), local(300))
    lower = load_host(environ={**host.environ, "IRESERVE_MAX_BOOKING_DAYS": "30"})
    try:
        async with lower.database.session() as session:
            await services.update_booking(lower, session, long_stay["id"],
                                          customer=services.CustomerData(name="Still editable"))
            await session.commit()
            with pytest.raises(ValidationFailed) as refusal:
                await services.update_booking(lower, session, long_stay["id"], end=local(301))
            assert [(p.field, p.code) for p in refusal.value.problems] == [("end", "TOO_LONG")]
    finally:
        await lower.database.dispose()
    fetched = (await gql(BOOKING, {"id": long_stay["id"]}))["booking"]
    assert fetched["customer"]["name"] == "Still editable"
    assert same_instant(fetched["end"], local(300))


# -- filters -----------------------------------------------------------------------------------------

@pytest.mark.all_databases
async def test_filters_with_extreme_dates_answer_plainly(gql, studio):
    for day in (1, 5, 9):
        await create_booking(gql, studio["id"], local(day), local(day + 1), reference=f"F-{day}")
    everything = ["F-1", "F-5", "F-9"]

    async def references(**filters) -> list[str]:
        connection = (await gql(PAGE, {"first": 50, **filters}))["bookings"]
        return [edge["node"]["reference"] for edge in connection["edges"]]

    for far_past in (YEAR_1_AHEAD_OF_UTC, "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00-01:00"):
        assert await references(startsFrom=far_past) == everything, far_past
        assert await references(startsUntil=far_past) == [], far_past
    for far_future in (YEAR_9999_BEHIND_UTC, "9999-12-31T23:59:59+00:00", "9999-12-31T23:00:00+01:00"):
        assert await references(startsUntil=far_future) == everything, far_future
        assert await references(startsFrom=far_future) == [], far_future
    assert await references(startsFrom=YEAR_1_AHEAD_OF_UTC, startsUntil=YEAR_9999_BEHIND_UTC) == everything
    assert await references(startsFrom=YEAR_9999_BEHIND_UTC, startsUntil=YEAR_1_AHEAD_OF_UTC) == []
    assert await references(startsFrom=iso(local(4)), startsUntil=YEAR_9999_BEHIND_UTC) == ["F-5", "F-9"]

    # paging on with the filter still works
    first = (await gql(PAGE, {"first": 1, "startsFrom": YEAR_1_AHEAD_OF_UTC}))["bookings"]
    rest = (await gql(PAGE, {"first": 50, "after": first["pageInfo"]["endCursor"],
                             "startsUntil": YEAR_9999_BEHIND_UTC}))["bookings"]
    assert [e["node"]["reference"] for e in first["edges"] + rest["edges"]] == everything


@pytest.mark.parametrize("moment", [YEAR_1_AHEAD_OF_UTC, YEAR_9999_BEHIND_UTC])
async def test_a_cursor_beyond_any_date_is_a_clear_error(gql, moment):
    cursor = base64.urlsafe_b64encode(f"booking|{moment}|1".encode()).decode()
    body = await gql.raw(PAGE, {"first": 5, "after": cursor})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "cursor" in error["message"].lower()
