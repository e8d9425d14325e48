"""The audit trail over GraphQL: who changed the booking configuration (objects, booking fields),
old → new, nothing when nothing changed or the change was refused; status changes name the token
that made them; the admin query ``auditTrail`` with its filters and paging, for admins only."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from addon.base.core.events import commit
from addon.base.identity.audit import AuditEvent
from addon.base.identity.models import ApiToken
from tests.booking.helpers import (
    BOOKING_FIELDS,
    CREATE_FIELD,
    SET_STATUS,
    UPDATE_OBJECT,
    create_booking,
    create_object,
    ok,
    refused,
)
from tests.conftest import GraphQLClient
from tests.support.ids import global_id, row_id

pytestmark = pytest.mark.anyio

EVENT_FIELDS = "id at actor { kind name id } address action target { type id } changes { field old new secret }"
TRAIL = f"""query($first: Int!, $after: String, $action: String, $actorName: String, $actorKind: AuditActorKind,
                 $targetType: String, $targetId: ID, $from: DateTime, $until: DateTime) {{
  auditTrail(first: $first, after: $after, action: $action, actorName: $actorName, actorKind: $actorKind,
             targetType: $targetType, targetId: $targetId, from: $from, until: $until) {{
    edges {{ cursor node {{ {EVENT_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


# -- helpers (the door-access and Resivo audit tests use them too) --------------------------------

async def audit_events(gql, first: int = 500, **filters) -> list[dict]:
    """The events of the trail that match ``filters`` (auditTrail's arguments), newest first."""
    data = await gql(TRAIL, {"first": first, **filters})
    return [edge["node"] for edge in data["auditTrail"]["edges"]]


async def actions(gql, **filters) -> list[str]:
    return [e["action"] for e in await audit_events(gql, **filters)]


def changes(event: dict) -> dict[str, list]:
    """``{field: [old, new]}`` of one event."""
    return {c["field"]: [c["old"], c["new"]] for c in event["changes"]}


async def only_event(gql, action: str) -> dict:
    """The one event of ``action`` (there must be exactly one)."""
    found = await audit_events(gql, action=action)
    assert len(found) == 1, found
    return found[0]


async def token_id(host, name: str) -> str:
    """The token's global id, as the trail names an actor."""
    async with host.database.session() as session:
        return global_id("ApiToken", (await session.execute(select(ApiToken.id).where(ApiToken.name == name))).scalar_one())


def client(gql, tokens, role: str) -> GraphQLClient:
    return GraphQLClient(gql.http, tokens[role])


def only_error(body: dict, code: str) -> None:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error


# -- what is recorded -----------------------------------------------------------------------------

async def test_booking_field_create_is_recorded_with_the_token_as_actor(gql, host):
    field = await ok(gql, CREATE_FIELD, {"code": "door_pin", "label": "Door PIN"}, "createBookingField", "field")

    event = await only_event(gql, "booking_field.create")
    assert event["actor"] == {"kind": "TOKEN", "name": "test-admin", "id": await token_id(host, "test-admin")}
    assert event["address"], "where the request came from"
    assert event["target"] == {"type": "booking_field", "id": field["id"]}
    assert changes(event) == {"code": [None, "door_pin"], "label": [None, "Door PIN"]}
    assert not any(c["secret"] for c in event["changes"])
    assert datetime.fromisoformat(event["at"]).tzinfo is not None


async def test_refused_booking_field_records_nothing(gql):
    await ok(gql, CREATE_FIELD, {"code": "door_pin", "label": "Door PIN"}, "createBookingField", "field")
    errors = await refused(gql, CREATE_FIELD, {"code": "door_pin", "label": "Again"}, "createBookingField", "field")
    assert [e["code"] for e in errors] == ["DUPLICATE"]
    assert await actions(gql) == ["booking_field.create"]


async def test_object_create_and_update_old_to_new(gql):
    house = await create_object(gql, "house", "House", timeZone="Europe/Berlin")
    room = await create_object(gql, "room", "Room", parentId=house["id"])
    created = await audit_events(gql, action="object.create")
    assert [e["target"] for e in created] == [{"type": "object", "id": room["id"]}, {"type": "object", "id": house["id"]}]
    assert changes(created[0]) == {"code": [None, "room"], "name": [None, "Room"], "time_zone": [None, "Europe/Berlin"],
                                   "parent_id": [None, row_id(house["id"])]}

    await ok(gql, UPDATE_OBJECT, {"id": room["id"], "name": "Blue room", "timeZone": "Europe/Amsterdam",
                                  "clearParent": True}, "updateObject", "object")
    event = await only_event(gql, "object.update")
    assert event["target"] == {"type": "object", "id": room["id"]}
    assert changes(event) == {"name": ["Room", "Blue room"], "time_zone": ["Europe/Berlin", "Europe/Amsterdam"],
                              "parent_id": [row_id(house["id"]), None]}


async def test_object_update_that_changes_nothing_or_is_refused_records_nothing(gql):
    house = await create_object(gql, "house", "House")
    await create_object(gql, "tent", "Tent")
    await ok(gql, UPDATE_OBJECT, {"id": house["id"], "name": "House", "code": "house"}, "updateObject", "object")
    errors = await refused(gql, UPDATE_OBJECT, {"id": house["id"], "name": "Renamed", "code": "tent"},
                           "updateObject", "object")
    assert [e["code"] for e in errors] == ["DUPLICATE"]
    errors = await refused(gql, UPDATE_OBJECT, {"id": house["id"], "timeZone": "Mars/Olympus"}, "updateObject", "object")
    assert [e["code"] for e in errors] == ["INVALID"]
    assert await actions(gql, action="object") == ["object.create", "object.create"]
    assert (await gql("query($id: ID!) { object(id: $id) { name } }", {"id": house["id"]}))["object"]["name"] == "House"


async def test_status_history_names_the_token_that_changed_it(gql, tokens):
    staff = client(gql, tokens, "staff")
    sauna = await create_object(gql, "sauna", "Sauna")
    made = await create_booking(staff, sauna["id"])
    paid = await ok(gql, SET_STATUS, {"bookingId": made["id"], "status": "confirmed"}, "setBookingStatus", "booking")
    assert [(h["to"]["code"], h["by"]) for h in paid["history"]] == [("option", "token:test-staff"),
                                                                    ("confirmed", "token:test-admin")]
    again = (await staff(f"query($id: ID!) {{ booking(id: $id) {{ {BOOKING_FIELDS} }} }}", {"id": made["id"]}))
    assert [h["by"] for h in again["booking"]["history"]] == ["token:test-staff", "token:test-admin"]


# -- the query ------------------------------------------------------------------------------------

async def _add_events(host, *events: dict) -> None:
    """Events as another part of the system would have recorded them, at chosen times."""
    async with host.database.session() as session:
        for values in events:
            session.add(AuditEvent(**{"actor_kind": "user", "actor_name": "Anna Admin", "actor_id": 1, **values}))
        await commit(session)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2020, 3, 1, hour, minute, tzinfo=timezone.utc)


@pytest.mark.all_databases  # LIKE with an escape, lower(), time-zone aware comparisons
async def test_filters_by_action_actor_target_and_time(gql, host):
    await _add_events(
        host,
        {"at": at(9), "action": "integration.update", "target_type": "integration", "target_id": "3",
         "changes": {"name": ["Old", "New"]}},
        {"at": at(10), "action": "integration.activate", "target_type": "integration", "target_id": "3"},
        {"at": at(11), "action": "integration.update", "target_type": "integration", "target_id": "4",
         "actor_kind": "token", "actor_name": "booking-site", "actor_id": 7},
        {"at": at(12), "action": "integrations.odd", "target_type": "booking", "target_id": "3", "actor_kind": "cli",
         "actor_name": "root"},
        {"at": at(13), "action": "signin.failure", "actor_kind": "anonymous", "actor_name": "anonymous",
         "actor_id": None, "address": "203.0.113.9"},
    )

    async def hours(**filters) -> list[int]:
        return [datetime.fromisoformat(e["at"]).hour for e in await audit_events(gql, **filters)]

    assert await hours() == [13, 12, 11, 10, 9], "newest first"
    assert await hours(action="integration.update") == [11, 9]
    assert await hours(action="integration") == [11, 10, 9], "a first part selects its actions only"
    assert await hours(action="integration.") == [], "a dotted value is one exact action"
    assert await hours(actorName="ANNA") == [10, 9], "part of the name, in any case"
    assert await hours(actorName="%") == [], "no wildcards"
    assert await hours(actorKind="TOKEN") == [11]
    assert await hours(targetType="integration", targetId="3") == [10, 9]
    assert await hours(targetId="3") == [12, 10, 9]
    assert await hours(**{"from": "2020-03-01T12:00:00+02:00", "until": "2020-03-01T12:00:00Z"}) == [11, 10]
    assert await hours(**{"from": at(12).isoformat()}) == [13, 12], "from is inclusive"
    assert await hours(until=at(10).isoformat()) == [9], "until is exclusive"
    assert await hours(**{"from": at(12).isoformat(), "until": at(11).isoformat()}) == []
    assert await hours(action="integration", actorName="anna", targetId="3", until=at(10).isoformat()) == [9]

    [failure] = await audit_events(gql, action="signin.failure")
    assert failure["actor"] == {"kind": "ANONYMOUS", "name": "anonymous", "id": None}
    assert failure["address"] == "203.0.113.9" and failure["target"] is None and failure["changes"] == []
    [renamed] = await audit_events(gql, action="integration.update", actorKind="USER")
    assert renamed["changes"] == [{"field": "name", "old": "Old", "new": "New", "secret": False}]


@pytest.mark.all_databases
async def test_a_one_word_action_is_found_by_its_name(gql, host):
    """signout, session.expired and signin.failure side by side: a one-word action is an action of
    its own, not only the first part of others."""
    await _add_events(
        host,
        {"at": at(9), "action": "signout", "target_type": "user", "target_id": "1"},
        {"at": at(10), "action": "signin.failure", "actor_kind": "anonymous", "actor_name": "anonymous",
         "actor_id": None},
        {"at": at(11), "action": "signout", "target_type": "user", "target_id": "2"},
        {"at": at(12), "action": "session.expired", "target_type": "user", "target_id": "2"},
    )
    assert await actions(gql, action="signout") == ["signout", "signout"]
    assert await actions(gql, action=" signout ") == ["signout", "signout"], "trimmed"
    assert await actions(gql, action="signin") == ["signin.failure"], "a first part still selects its actions"
    assert await actions(gql, action="sign") == [], "not a prefix of any word"
    assert await actions(gql, action="signout.") == []


async def test_pages_newest_first_with_a_cursor(gql, host):
    await _add_events(host, *({"at": at(10, minute), "action": "token.create", "target_type": "token",
                               "target_id": str(minute)} for minute in range(7)))
    seen, after = [], None
    for _ in range(4):
        page = (await gql(TRAIL, {"first": 3, "after": after, "action": "token.create"}))["auditTrail"]
        seen.append([row_id(e["node"]["target"]["id"]) for e in page["edges"]])
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert seen == [[6, 5, 4], [3, 2, 1], [0]]
    assert after == page["edges"][-1]["cursor"]

    # An event recorded while paging does not shift the pages after it.
    first = (await gql(TRAIL, {"first": 2, "action": "token.create"}))["auditTrail"]
    await _add_events(host, {"at": at(11), "action": "token.create", "target_type": "token", "target_id": "new"})
    rest = (await gql(TRAIL, {"first": 10, "after": first["pageInfo"]["endCursor"], "action": "token.create"}))
    assert [row_id(e["node"]["target"]["id"]) for e in rest["auditTrail"]["edges"]] == [4, 3, 2, 1, 0]


@pytest.mark.parametrize("arguments", [
    {"first": 0}, {"first": 501}, {"first": 5, "after": "not-a-cursor"},
    {"first": 5, "after": "Ym9va2luZ3N8MQ=="},  # another list's cursor ("bookings|1")
    {"first": 5, "from": "2020-03-01T12:00:00"},  # no offset
])
async def test_bad_arguments_are_user_errors(gql, arguments):
    body = await gql.raw(TRAIL, arguments)
    only_error(body, "BAD_USER_INPUT")


async def test_admins_only(gql, tokens):
    await ok(gql, CREATE_FIELD, {"code": "door_pin", "label": "Door PIN"}, "createBookingField", "field")
    for role in ("staff", "frontend"):
        only_error(await client(gql, tokens, role).raw(TRAIL, {"first": 5}), "FORBIDDEN")
    only_error(await gql.raw(TRAIL, {"first": 5}, token=None), "UNAUTHENTICATED")
    assert await actions(gql) == ["booking_field.create"], "reading the trail records nothing"
