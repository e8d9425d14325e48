"""Allowed status transitions, forced moves, and administering statuses, through the GraphQL API."""

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.booking.models import DEFAULT_TRANSITIONS
from tests.booking.helpers import (
    ERRORS,
    SET_STATUS,
    create_booking,
    create_object,
    ok,
    refused,
    stored_status,
)

pytestmark = pytest.mark.anyio

STATUS_FIELDS = "id code name defaultName names { language name } sequence archived nextStatuses { code }"
STATUSES = f"query($all: Boolean! = false) {{ bookingStatuses(includeArchived: $all) {{ {STATUS_FIELDS} }} }}"
CREATE_STATUS = f"""mutation($input: CreateBookingStatusInput!) {{
  createBookingStatus(input: $input) {{ status {{ {STATUS_FIELDS} }} {ERRORS} }} }}"""
UPDATE_STATUS = f"""mutation($input: UpdateBookingStatusInput!) {{
  updateBookingStatus(input: $input) {{ status {{ {STATUS_FIELDS} }} {ERRORS} }} }}"""
ARCHIVE_STATUS = f"""mutation($input: ArchiveInput!) {{
  archiveBookingStatus(input: $input) {{ status {{ {STATUS_FIELDS} }} {ERRORS} }} }}"""
FORCE = f"""mutation($input: SetBookingStatusInput!) {{
  setBookingStatus(input: $input) {{ booking {{ status {{ code }} history {{ to {{ code }} forced by }} }} {ERRORS} }} }}"""


async def statuses(gql, include_archived: bool = False) -> dict[str, dict]:
    return {s["code"]: s for s in (await gql(STATUSES, {"all": include_archived}))["bookingStatuses"]}


@pytest.fixture
async def booking(gql):
    obj = await create_object(gql, "chalet-7", "Chalet 7")
    return await create_booking(gql, obj["id"])


async def move(gql, booking, status):
    return await ok(gql, SET_STATUS, {"bookingId": booking["id"], "status": status}, "setBookingStatus", "booking")


async def test_the_defaults_are_the_documented_holiday_park_rules(gql):
    found = await statuses(gql)
    assert {code: tuple(s["code"] for s in row["nextStatuses"]) for code, row in found.items()} == DEFAULT_TRANSITIONS


async def test_a_stay_goes_its_usual_way(gql, booking):
    for status in ("confirmed", "paid", "checked_in", "checked_out"):
        assert (await move(gql, booking, status))["status"]["code"] == status


async def test_a_move_not_listed_is_refused_and_names_the_allowed_ones(gql, host, booking):
    errors = await refused(gql, SET_STATUS, {"bookingId": booking["id"], "status": "checked_out"},
                           "setBookingStatus", "booking")
    assert errors == [{"field": "status", "code": "NOT_ALLOWED", "message":
                       "A booking at status 'option' can move to confirmed, cancelled, not to 'checked_out'."}]
    assert await stored_status(host, booking["id"]) == "option"
    await move(gql, booking, "confirmed")
    await move(gql, booking, "paid")
    errors = await refused(gql, SET_STATUS, {"bookingId": booking["id"], "status": "option"}, "setBookingStatus", "booking")
    assert "checked_in, cancelled" in errors[0]["message"]


async def test_a_final_status_says_so(gql, host, booking):
    for status in ("confirmed", "checked_in", "checked_out"):
        await move(gql, booking, status)
    errors = await refused(gql, SET_STATUS, {"bookingId": booking["id"], "status": "cancelled"},
                           "setBookingStatus", "booking")
    assert errors[0]["code"] == "NOT_ALLOWED"
    assert errors[0]["message"] == ("A booking at status 'checked_out' cannot move to another status "
                                    "(asked: 'cancelled').")
    assert await stored_status(host, booking["id"]) == "checked_out"


async def test_an_admin_may_force_a_move_and_it_is_recorded(gql, host, booking):
    result = await ok(gql, FORCE, {"bookingId": booking["id"], "status": "checked_in", "force": True},
                      "setBookingStatus", "booking")
    assert result["status"]["code"] == "checked_in"
    assert [(h["to"]["code"], h["forced"]) for h in result["history"]] == [("option", False), ("checked_in", True)]
    async with host.database.session() as session:
        [event] = (await session.execute(select(AuditEvent).where(AuditEvent.action == "booking.status_force"))).scalars()
    assert event.changes["status"] == ["option", "checked_in"]
    assert event.actor_name == "test-admin"


async def test_staff_may_not_force(gql, tokens, host, booking):
    body = await gql.raw(FORCE, {"input": {"bookingId": booking["id"], "status": "checked_in", "force": True}},
                         token=tokens["staff"])
    assert body["data"]["setBookingStatus"]["errors"] == [
        {"field": "force", "code": "FORBIDDEN", "message": "Only an admin may force a status change."}]
    assert await stored_status(host, booking["id"]) == "option"
    # the same move, allowed, is fine for staff
    body = await gql.raw(FORCE, {"input": {"bookingId": booking["id"], "status": "confirmed"}}, token=tokens["staff"])
    assert body["data"]["setBookingStatus"]["errors"] == []


async def test_creating_a_booking_at_any_status_is_not_a_move(gql):
    obj = await create_object(gql, "tent", "Tent")
    made = await create_booking(gql, obj["id"], status="checked_out")
    assert made["status"]["code"] == "checked_out"


async def test_admins_edit_what_may_follow_a_status(gql, booking):
    found = await statuses(gql)
    changed = await ok(gql, UPDATE_STATUS, {"id": found["option"]["id"], "nextStatuses": ["confirmed", "paid"]},
                       "updateBookingStatus", "status")
    assert [s["code"] for s in changed["nextStatuses"]] == ["confirmed", "paid"]
    await move(gql, booking, "paid")  # now allowed
    errors = await refused(gql, UPDATE_STATUS, {"id": found["paid"]["id"], "nextStatuses": ["paid", "nope"]},
                           "updateBookingStatus", "status")
    assert {e["code"] for e in errors} == {"NOT_FOUND", "INVALID"}
    # an empty list makes a status final
    final = await ok(gql, UPDATE_STATUS, {"id": found["paid"]["id"], "nextStatuses": []}, "updateBookingStatus", "status")
    assert final["nextStatuses"] == []
    errors = await refused(gql, SET_STATUS, {"bookingId": booking["id"], "status": "checked_in"},
                           "setBookingStatus", "booking")
    assert errors[0]["code"] == "NOT_ALLOWED"


async def test_a_new_status_renamed_per_language_then_archived(gql, http, tokens, booking):
    found = await statuses(gql)
    created = await ok(gql, CREATE_STATUS, {"code": "no_show", "name": "No-show", "nextStatuses": ["cancelled"],
                                            "names": [{"language": "nl", "name": "Niet verschenen"}]},
                       "createBookingStatus", "status")
    assert created["sequence"] == 70 and created["names"] == [{"language": "nl", "name": "Niet verschenen"}]
    await ok(gql, UPDATE_STATUS, {"id": found["confirmed"]["id"],
                                  "nextStatuses": ["paid", "checked_in", "cancelled", "no_show"]},
             "updateBookingStatus", "status")
    renamed = await ok(gql, UPDATE_STATUS, {"id": created["id"], "name": "Did not arrive",
                                            "names": [{"language": "nl", "name": "Niet gekomen"},
                                                      {"language": "de", "name": "Nicht erschienen"}]},
                       "updateBookingStatus", "status")
    assert renamed["code"] == "no_show" and renamed["defaultName"] == "Did not arrive"
    # the display name follows the caller's language; languages without one get the default name
    for language, expected in (("nl", "Niet gekomen"), ("de-CH", "Nicht erschienen"), ("fr", "Did not arrive")):
        answer = await http.post("/graphql", json={"query": "{ bookingStatuses { code name } }"},
                                 headers={"Authorization": f"Bearer {tokens['frontend']}", "Accept-Language": language})
        names = {s["code"]: s["name"] for s in answer.json()["data"]["bookingStatuses"]}
        assert names["no_show"] == expected
    assert names["confirmed"] == "Confirmée"  # the defaults come with nl, de and fr names

    await move(gql, booking, "confirmed")
    archived = await ok(gql, ARCHIVE_STATUS, {"id": created["id"]}, "archiveBookingStatus", "status")
    assert archived["archived"] is True
    assert "no_show" not in await statuses(gql)
    assert (await statuses(gql, include_archived=True))["no_show"]["archived"] is True
    # hidden from what may follow (unless asked), and no booking may go there, not even forced
    assert "no_show" not in [s["code"] for s in (await statuses(gql))["confirmed"]["nextStatuses"]]
    for force in (False, True):
        errors = await refused(gql, FORCE, {"bookingId": booking["id"], "status": "no_show", "force": force},
                               "setBookingStatus", "booking")
        assert errors[0]["code"] == "ARCHIVED"
    obj = await create_object(gql, "tent", "Tent")
    body = await gql(f"mutation($i: CreateBookingInput!) {{ createBooking(input: $i) {{ {ERRORS} }} }}", {"i": {
        "objectId": obj["id"], "customer": {"name": "G"}, "start": booking["start"], "end": booking["end"],
        "status": "no_show"}})
    assert body["createBooking"]["errors"][0]["code"] == "ARCHIVED"
    # nor may a status newly list it; restoring brings it back
    errors = await refused(gql, UPDATE_STATUS, {"id": found["option"]["id"], "nextStatuses": ["no_show"]},
                           "updateBookingStatus", "status")
    assert errors[0]["code"] == "ARCHIVED"
    restored = await ok(gql, ARCHIVE_STATUS, {"id": created["id"], "archived": False}, "archiveBookingStatus", "status")
    assert restored["archived"] is False
    assert (await move(gql, booking, "no_show"))["status"]["code"] == "no_show"


async def test_a_booking_at_an_archived_status_keeps_it_and_moves_on(gql, booking):
    await move(gql, booking, "confirmed")
    found = await statuses(gql)
    await ok(gql, ARCHIVE_STATUS, {"id": found["confirmed"]["id"]}, "archiveBookingStatus", "status")
    again = await gql("query($id: ID!) { booking(id: $id) { status { code archived } } }", {"id": booking["id"]})
    assert again["booking"]["status"] == {"code": "confirmed", "archived": True}
    assert (await move(gql, booking, "paid"))["status"]["code"] == "paid"


async def test_only_admins_administer_statuses(gql, tokens):
    body = await gql.raw(CREATE_STATUS, {"input": {"code": "x", "name": "X"}}, token=tokens["staff"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_new_status_needs_a_free_code_and_a_name(gql):
    errors = await refused(gql, CREATE_STATUS, {"code": "paid", "name": " ", "names": [{"language": "xx-yy", "name": "?"}]},
                           "createBookingStatus", "status")
    assert sorted((e["field"], e["code"]) for e in errors) == [("code", "DUPLICATE"), ("name", "REQUIRED"),
                                                              ("names", "INVALID")]
