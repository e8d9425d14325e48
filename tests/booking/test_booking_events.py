"""booking.status_changed and booking.changed run inside the change's own transaction."""

import pytest

from addon.base.public import ValidationFailed
from addon.booking import services
from addon.booking.models import BookingField, BookingFieldValue
from tests.booking.helpers import (
    CREATE_FIELD,
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
    stored_status,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

INTERNAL = "Internal error; see the server log."


@pytest.fixture
async def booking(gql) -> dict:
    obj = await create_object(gql, "studio", "Studio")
    return await create_booking(gql, obj["id"], local(1), local(3))


def record(host, name: str) -> list[dict]:
    """Subscribe a handler that remembers every event ``name``."""
    seen = []

    async def handler(session, **payload):
        seen.append(payload)

    host.events.subscribe(name, handler)
    return seen


async def test_status_changed_carries_old_and_new_status(gql, host, booking):
    seen = record(host, services.STATUS_CHANGED)
    await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    [event] = seen
    assert (event["old_status"], event["new_status"], event["actor"]) == ("option", "confirmed", "token:test-admin")
    assert event["booking"].id == row_id(booking["id"])

    # the same status again changes nothing, so nothing fires
    await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    assert len(seen) == 1


async def test_status_changed_fires_on_create(gql, host):
    seen = record(host, services.STATUS_CHANGED)
    obj = await create_object(gql, "room", "Room")
    created = await create_booking(gql, obj["id"], status="confirmed")
    [event] = seen
    assert (event["old_status"], event["new_status"]) == (None, "confirmed")
    assert event["booking"].id == row_id(created["id"])


async def test_a_failing_handler_rolls_the_status_change_back(gql, host, booking):
    async def explode(session, **payload):
        raise RuntimeError("handler broke")

    host.events.subscribe(services.STATUS_CHANGED, explode)
    body = await gql.raw(SET_STATUS, {"input": {"bookingId": booking["id"], "status": "confirmed"}})
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == [INTERNAL]
    assert "handler broke" not in str(body)

    assert await stored_status(host, booking["id"]) == "option"
    assert await history_count(host, booking["id"]) == 1


async def test_a_failed_mutation_leaks_nothing_into_the_next_one_of_the_same_request(gql, host):
    """Two mutations in one document share the request's session; the first one's half-done
    work must never be committed along with anything that follows."""
    obj = await create_object(gql, "room", "Room")
    doomed = await create_booking(gql, obj["id"], reference="DOOMED")
    fine = await create_booking(gql, obj["id"], reference="FINE")

    async def refuse_doomed(session, booking, **payload):
        if booking.reference == "DOOMED":
            raise RuntimeError("no")

    host.events.subscribe(services.STATUS_CHANGED, refuse_doomed)
    body = await gql.raw("""
        mutation($a: ID!, $b: ID!) {
          a: setBookingStatus(input: {bookingId: $a, status: "confirmed"}) { booking { id } errors { code } }
          b: setBookingStatus(input: {bookingId: $b, status: "confirmed"}) { booking { status { code } } errors { code } }
        }""", {"a": doomed["id"], "b": fine["id"]})
    assert [e["message"] for e in body["errors"]] == [INTERNAL]
    assert body["data"] is None, "a failed non-null payload ends the request"
    assert await stored_status(host, fine["id"]) in ("option", "confirmed")
    assert await stored_status(host, doomed["id"]) == "option"
    assert await history_count(host, doomed["id"]) == 1


async def test_a_handler_may_veto_with_user_errors(gql, host, booking):
    async def veto(session, new_status, **payload):
        if new_status == "confirmed":
            raise ValidationFailed.one("NOT_PAID", "Check-in needs payment first.", "status")

    host.events.subscribe(services.STATUS_CHANGED, veto)
    errors = await refused(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"},
                           "setBookingStatus", "booking")
    assert errors == [{"field": "status", "code": "NOT_PAID", "message": "Check-in needs payment first."}]
    assert await stored_status(host, booking["id"]) == "option"
    assert await history_count(host, booking["id"]) == 1


async def test_a_handlers_writes_commit_with_the_change(gql, host, booking):
    await ok(gql, CREATE_FIELD, {"code": "last_move", "label": "Last move"}, "createBookingField", "field")

    async def note(session, booking, old_status, new_status, **payload):
        field = await services.get_field(session, "last_move")
        await services.write_field_value(session, booking.id, field, f"{old_status}->{new_status}")

    host.events.subscribe(services.STATUS_CHANGED, note)
    result = await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    assert result["fields"] == [{"code": "last_move", "value": "option->confirmed"}]
    async with host.database.session() as session:
        assert await services.read_field_value(session, row_id(booking["id"]), "last_move") == "option->confirmed"


async def test_a_handlers_writes_roll_back_with_a_refused_change(gql, host, booking):
    await ok(gql, CREATE_FIELD, {"code": "last_move", "label": "Last move"}, "createBookingField", "field")

    async def note_then_fail(session, booking, **payload):
        field = await services.get_field(session, "last_move")
        await services.write_field_value(session, booking.id, field, "written")
        raise RuntimeError("after writing")

    host.events.subscribe(services.STATUS_CHANGED, note_then_fail)
    body = await gql.raw(SET_STATUS, {"input": {"bookingId": booking["id"], "status": "confirmed"}})
    assert body["data"] is None
    assert await count(host, BookingFieldValue) == 0
    assert await count(host, BookingField) == 1
    assert await stored_status(host, booking["id"]) == "option"


async def test_booking_changed_fires_on_dates_and_object_only_when_something_changes(gql, host, booking):
    changed = record(host, services.CHANGED)
    status_changed = record(host, services.STATUS_CHANGED)
    other = await create_object(gql, "sauna", "Sauna")

    await ok(gql, UPDATE_BOOKING, {"id": booking["id"], "start": iso(local(2)), "end": iso(local(4))},
             "updateBooking", "booking")
    [event] = changed
    assert set(event["changes"]) == {"start", "end"}
    assert event["changes"]["start"][1] == local(2)
    assert event["booking"].id == row_id(booking["id"]) and event["actor"] == "token:test-admin"

    await ok(gql, UPDATE_BOOKING, {"id": booking["id"], "objectId": other["id"]}, "updateBooking", "booking")
    assert len(changed) == 2 and set(changed[1]["changes"]) == {"object"}

    # the same values again (one given in another offset): no change, no event
    await ok(gql, UPDATE_BOOKING, {
        "id": booking["id"], "objectId": other["id"], "start": local(2).astimezone().isoformat(), "end": iso(local(4))},
        "updateBooking", "booking")
    await ok(gql, UPDATE_BOOKING, {"id": booking["id"]}, "updateBooking", "booking")
    assert len(changed) == 2

    # a refused update fires nothing
    await refused(gql, UPDATE_BOOKING, {"id": booking["id"], "end": iso(local(0))}, "updateBooking", "booking")
    assert len(changed) == 2

    # a status change is not a booking.changed
    await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    assert len(changed) == 2 and len(status_changed) == 1


async def test_a_failing_changed_handler_rolls_the_update_back(gql, host, booking):
    async def explode(session, **payload):
        raise RuntimeError("no")

    host.events.subscribe(services.CHANGED, explode)
    body = await gql.raw(UPDATE_BOOKING, {"input": {"id": booking["id"], "start": iso(local(0))}})
    assert body["data"] is None
    fetched = await gql("query($id: ID!) { booking(id: $id) { start } }", {"id": booking["id"]})
    assert fetched["booking"]["start"] == booking["start"]


async def test_services_fire_inside_the_callers_transaction(host):
    """At the service level: the handler sees the new status in the same session, before commit."""
    from addon.base.public import rollback

    seen = []

    async def check(session, booking, **payload):
        status = await session.get(services.BookingStatus, booking.status_id)
        seen.append((session, status.code, session.in_transaction()))

    host.events.subscribe(services.STATUS_CHANGED, check)
    async with host.database.session() as session:
        obj = await services.create_object(host, session, code="hut", name="Hut")
        created = await services.create_booking(host, session, object_id=obj.id,
                                                customer=services.CustomerData(name="G"), start=local(1), end=local(2))
        await services.set_booking_status(host, session, created.id, "confirmed", actor="unit")
        assert [(s is session, code, active) for s, code, active in seen] == [(True, "option", True),
                                                                             (True, "confirmed", True)]
        await rollback(session)
    assert await count(host, services.Booking) == 0
