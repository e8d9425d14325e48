"""Door access repair and inspection: resync, audited revoke, retry of failed grants, the
integration log, deactivation as a rollback switch, revoke of sets the vendor no longer has, and
the DataLoader behind Booking.access. Against the in-memory vendor."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from addon.base.public import commit
from addon.booking.public import CustomerData
from addon.booking.public import create_booking as create_booking_row
from addon.door_access.call_log import call_log
from addon.door_access.worker import Worker
from tests.conftest import GraphQLClient, count_statements
from tests.door_access.helpers import (
    HOUSE_DOORS,
    booking,
    configured,
    create_booking,
    create_integration,
    field_value,
    future,
    grants,
    set_active,
    set_mapping,
    set_status,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

GRANT_FIELDS = ("access { integration { id name } state desired authorizationId doors { id name } validFrom validTo "
                "attempts lastError nextAttemptAt revokeRequestedBy revokeRequestedAt }")
PAYLOAD = f"booking {{ id status {{ code }} fields {{ code value }} {GRANT_FIELDS} }} errors {{ field code message }}"
RESYNC = f"mutation($i: BookingAccessInput!) {{ resyncBookingAccess(input: $i) {{ {PAYLOAD} }} }}"
REVOKE = f"mutation($i: BookingAccessInput!) {{ revokeBookingAccess(input: $i) {{ {PAYLOAD} }} }}"
RETRY = "mutation($i: RetryFailedAccessInput!) { retryFailedAccess(input: $i) { requeued errors { field code message } } }"
LOG = """query($integrationId: ID!, $bookingId: ID, $first: Int!, $after: String) {
  integrationLog(integrationId: $integrationId, bookingId: $bookingId, first: $first, after: $after) {
    edges { cursor node { id at operation bookingId method path httpStatus durationMs outcome error } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SIDE_DOOR = "Side door"


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60"}


def as_role(gql, tokens, role: str) -> GraphQLClient:
    return GraphQLClient(gql.http, tokens[role])


async def repair(gql, mutation: str, booking_id) -> dict:
    data = await gql(mutation, {"i": {"bookingId": booking_id}})
    return next(iter(data.values()))


def only_error(body: dict, code: str) -> None:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error


def remove_door(vendor, name: str):
    """The door disappears at the vendor; returns it, to put back."""
    [door] = [d for d in vendor.doors if d.name == name]
    vendor.doors = [d for d in vendor.doors if d.name != name]
    return door


# -- resyncBookingAccess -------------------------------------------------------------------------

async def test_resync_repairs_a_set_revoked_behind_our_back(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    vendor.revoke_behind_our_back(old_id)  # drift: someone revoked it at the vendor

    result = await repair(gql, RESYNC, made["id"])
    assert result["errors"] == []
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["lastError"] is None
    assert access["authorizationId"] != old_id
    [now_active] = vendor.active_sets()
    assert now_active.access.id == access["authorizationId"] == field_value(result["booking"])
    assert len(vendor.sets) == 2

    # Resyncing what is in order changes nothing at the vendor.
    again = await repair(gql, RESYNC, made["id"])
    assert again["booking"]["access"][0]["authorizationId"] == access["authorizationId"]
    assert len(vendor.sets) == 2
    assert vendor.calls["create"] == 2


async def test_resync_of_a_failed_grant_makes_it_active(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="permanent", status=422)
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "FAILED"
    result = await repair(gql, RESYNC, made["id"])
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["lastError"] is None and access["attempts"] == 0
    [only] = vendor.sets.values()
    assert only.access.active and only.access.id == access["authorizationId"]


async def test_failed_change_then_resync_leaves_one_active_set(gql, memory, vendor):
    """A change that fails (the mapped doors vanished) keeps the old set; once fixed, the resync
    replaces it: never two active sets for one booking."""
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    main_door, side_door = remove_door(vendor, "Main door"), remove_door(vendor, SIDE_DOOR)
    new_end = future(13, 10)
    data = await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } booking {"
                     " access { state lastError } } } }", {"i": {"id": made["id"], "end": new_end}})
    access = data["updateBooking"]["booking"]["access"][0]
    # The shared door list still had them: the vendor refuses the doors (and the list is dropped).
    assert access["state"] == "FAILED" and "unknown doors" in access["lastError"]
    assert [s.access.id for s in vendor.active_sets()] == [old_id]  # the old access stands meanwhile

    vendor.doors += [main_door, side_door]  # the doors are back
    result = await repair(gql, RESYNC, made["id"])
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    [only] = vendor.active_sets()
    assert only.access.id == access["authorizationId"] == field_value(result["booking"])
    assert only.access.valid_to == datetime.fromisoformat(new_end).astimezone(timezone.utc)


# -- revokeBookingAccess -------------------------------------------------------------------------

async def test_revoke_booking_access_whatever_the_status_and_audited(gql, tokens, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    staff = as_role(gql, tokens, "staff")
    clock.advance(60)
    result = await repair(staff, REVOKE, made["id"])
    assert result["errors"] == []
    assert result["booking"]["status"]["code"] == "confirmed"  # the booking's status is not touched
    access = result["booking"]["access"][0]
    assert access["state"] == "REVOKED" and access["desired"] == "REVOKED"
    assert access["revokeRequestedBy"] == "token:test-staff"
    assert abs(datetime.fromisoformat(access["revokeRequestedAt"]) - clock.now()) < timedelta(seconds=1)
    assert [s.access.active for s in vendor.sets.values()] == [False]


async def test_revoke_booking_access_without_access_is_not_found(host, gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    result = await repair(gql, REVOKE, made["id"])
    assert result["booking"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "bookingId")]
    assert await grants(host) == []
    assert vendor.calls["revoke"] == 0


# -- retryFailedAccess ---------------------------------------------------------------------------

async def test_retry_failed_access_requeues_that_integration_only(host, gql, memory, vendor):
    first_id, objects = await configured(gql)
    second = await create_integration(gql, name="Side door only", triggerStatuses=["confirmed"])
    second_id = second["integration"]["id"]
    assert (await set_mapping(gql, second_id, objects["Studio building"], [SIDE_DOOR]))["errors"] == []
    assert (await set_active(gql, second_id))["errors"] == []

    main_door, side_door = remove_door(vendor, "Main door"), remove_door(vendor, SIDE_DOOR)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert [a["state"] for a in made["access"]] == ["FAILED", "FAILED"]  # none of the mapped doors exists
    assert vendor.sets == {}

    vendor.doors += [main_door, side_door]  # fixed at the vendor
    assert await Worker(host).run_until_idle() == 0  # FAILED is not retried by itself
    result = (await gql(RETRY, {"i": {"integrationId": first_id}}))["retryFailedAccess"]
    assert result == {"requeued": 1, "errors": []}
    assert await Worker(host).run_until_idle() == 1
    after = {a["integration"]["id"]: a for a in (await booking(gql, made["id"]))["access"]}
    assert after[first_id]["state"] == "ACTIVE" and after[first_id]["lastError"] is None
    assert after[second_id]["state"] == "FAILED" and after[second_id]["nextAttemptAt"] is None
    [only] = vendor.sets.values()
    assert sorted(d["name"] for d in after[first_id]["doors"]) == sorted(HOUSE_DOORS)
    assert only.access.id == after[first_id]["authorizationId"]

    assert (await gql(RETRY, {"i": {"integrationId": first_id}}))["retryFailedAccess"]["requeued"] == 0


async def test_retry_of_a_failed_revoke_revokes(host, gql, memory, vendor):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    vendor.fail("revoke", kind="permanent", status=403, message="no rights on these doors")
    access = (await set_status(gql, made["id"], "cancelled"))["access"][0]
    assert access["state"] == "FAILED" and "no rights on these doors" in access["lastError"]
    assert access["nextAttemptAt"] is not None  # a refused revoke is never given up on
    assert len(vendor.active_sets()) == 1

    assert (await gql(RETRY, {"i": {"integrationId": integration_id}}))["retryFailedAccess"]["requeued"] == 1
    queued = (await booking(gql, made["id"]))["access"][0]
    assert (queued["state"], queued["desired"], queued["attempts"]) == ("REVOKING", "REVOKED", 0)
    assert await Worker(host).run_until_idle() == 1
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "REVOKED"
    assert vendor.active_sets() == [] and len(vendor.sets) == 1


async def test_retry_failed_access_of_unknown_integration(gql, memory):
    result = (await gql(RETRY, {"i": {"integrationId": "999999"}}))["retryFailedAccess"]
    assert result["requeued"] == 0 and [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


async def test_repair_needs_staff_and_retry_and_log_need_admin(gql, tokens, memory, vendor):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    calls_before = dict(vendor.calls)
    frontend, staff = as_role(gql, tokens, "frontend"), as_role(gql, tokens, "staff")
    for mutation in (RESYNC, REVOKE):
        only_error(await frontend.raw(mutation, {"i": {"bookingId": made["id"]}}), "FORBIDDEN")
        only_error(await gql.raw(mutation, {"i": {"bookingId": made["id"]}}, token=None), "UNAUTHENTICATED")
    for client in (frontend, staff):
        only_error(await client.raw(RETRY, {"i": {"integrationId": integration_id}}), "FORBIDDEN")
        only_error(await client.raw(LOG, {"integrationId": integration_id, "first": 10}), "FORBIDDEN")
    # Nothing was touched by the refused calls.
    assert len(vendor.active_sets()) == 1 and dict(vendor.calls) == calls_before
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"


# -- integrationLog ------------------------------------------------------------------------------

async def log_page(gql, integration_id, first=100, booking_id=None, after=None) -> dict:
    data = await gql(LOG, {"integrationId": integration_id, "bookingId": booking_id, "first": first, "after": after})
    return data["integrationLog"]


async def test_integration_log_lists_calls_newest_first(host, gql, clock, memory, vendor):
    integration_id, objects = await configured(gql)
    good = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    bad = await create_booking(gql, objects["Studio 1"], future(), future(11))
    clock.advance(5)
    vendor.fail("create", kind="transient", status=503)
    assert (await set_status(gql, bad["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    await call_log(host).flush()

    page = await log_page(gql, integration_id)
    nodes = [e["node"] for e in page["edges"]]
    assert page["pageInfo"]["hasNextPage"] is False
    assert [row_id(n["id"]) for n in nodes] == sorted((row_id(n["id"]) for n in nodes), reverse=True)
    assert [n["at"] for n in nodes] == sorted((n["at"] for n in nodes), reverse=True)
    assert nodes[0]["at"] > nodes[-1]["at"]
    newest = nodes[0]
    assert newest["operation"] == "create" and newest["bookingId"] == bad["id"]
    assert (newest["outcome"], newest["method"], newest["path"]) == ("TRANSIENT", "CALL", "/create")
    assert "503" in newest["error"] and newest["durationMs"] >= 0
    created = [n for n in nodes if n["operation"] == "create" and n["bookingId"] == good["id"]]
    assert [(n["outcome"], n["error"]) for n in created] == [("OK", None)]
    assert {"list_doors", "create"} <= {n["operation"] for n in nodes}

    only_good = [e["node"] for e in (await log_page(gql, integration_id, booking_id=good["id"]))["edges"]]
    assert only_good and {n["bookingId"] for n in only_good} == {good["id"]}
    assert [n["id"] for n in only_good] == [n["id"] for n in nodes if n["bookingId"] == good["id"]]

    # Pages of two, walked with after: the same entries in the same order, none twice.
    walked, after = [], None
    while True:
        part = await log_page(gql, integration_id, first=2, after=after)
        walked += [e["node"]["id"] for e in part["edges"]]
        assert len(part["edges"]) <= 2
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert walked == [n["id"] for n in nodes]

    # Another integration's log does not show these calls.
    other = await create_integration(gql, name="Other doors")
    assert (await log_page(gql, other["integration"]["id"]))["edges"] == []


async def test_integration_log_rejects_bad_paging(gql, memory):
    integration_id, _ = await configured(gql)
    huge_cursor = base64.urlsafe_b64encode(b'["log",99999999999]').decode()
    other_kind = base64.urlsafe_b64encode(b'["booking:START:ASC","2030-06-01T13:00:00+00:00",5]').decode()
    for variables in ({"first": 0}, {"first": 100_000}, {"first": 10, "after": "not-a-cursor!"},
                      {"first": 10, "after": huge_cursor}, {"first": 10, "after": other_kind}):
        body = await gql.raw(LOG, {"integrationId": integration_id, **variables})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (variables, body)
    assert (await gql.raw(LOG, {"integrationId": "abc", "first": 5}))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_integration_log_of_ids_no_row_can_have_is_empty(gql, memory):
    integration_id, _ = await configured(gql)
    for integration, booking_id in (("99999999999", None), (integration_id, "99999999999"), ("-1", None)):
        page = await log_page(gql, integration, first=5, booking_id=booking_id)
        assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_integration_log_never_holds_our_api_tokens_or_the_guests_message(host, gql, tokens, memory, vendor):
    """The core logs what a backend reports of each call and nothing of its own: no API token of
    the request that caused the call, no recipient and no guest message. (That a backend keeps
    its own credentials out is that backend's own test.)"""
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), email="anna@example.de",
                                status="confirmed")
    vendor.fail("revoke", kind="permanent")
    await set_status(gql, made["id"], "cancelled")
    await call_log(host).flush()
    [sent] = vendor.sets.values()
    page = repr(await log_page(gql, integration_id))
    rows = repr([(g.last_error, g.last_error_i18n) for g in await grants(host)])
    assert "create" in page and "revoke" in page
    for private in (*tokens.values(), "anna@example.de", sent.request.message):
        assert private and private not in page and private not in rows


# -- deactivation --------------------------------------------------------------------------------

async def test_deactivation_stops_new_grants_and_revokes_nothing(gql, memory, vendor):
    integration_id, objects = await configured(gql)
    granted = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert (await set_active(gql, integration_id, False))["errors"] == []
    before = dict(vendor.calls)

    later = await create_booking(gql, objects["Studio 1"], future(), future(12))
    assert (await set_status(gql, later["id"], "confirmed"))["access"] == []
    await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } } }",
              {"i": {"id": granted["id"], "end": future(13, 10)}})
    assert dict(vendor.calls) == before  # nothing at all went to the vendor
    [still] = vendor.sets.values()
    assert still.access.active and still.access.id == granted["access"][0]["authorizationId"]
    access = (await booking(gql, granted["id"]))["access"][0]
    assert access["state"] == "ACTIVE"
    assert access["authorizationId"] == still.access.id
    assert (await booking(gql, later["id"]))["access"] == []


# -- revoke of a set the vendor no longer has ----------------------------------------------------

@pytest.mark.parametrize("gone", ["revoked", "unknown"])
async def test_revoking_a_set_the_vendor_no_longer_has_counts_as_done(host, gql, memory, vendor, gone):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    authorization_id = made["access"][0]["authorizationId"]
    if gone == "revoked":
        vendor.revoke_behind_our_back(authorization_id)
    else:
        del vendor.sets[authorization_id]

    cancelled = await set_status(gql, made["id"], "cancelled")
    access = cancelled["access"][0]
    assert access["state"] == "REVOKED" and access["lastError"] is None and access["nextAttemptAt"] is None
    await call_log(host).flush()
    [revoke] = [e["node"] for e in (await log_page(gql, integration_id, booking_id=made["id"]))["edges"]
                if e["node"]["operation"] == "revoke"]
    assert revoke["outcome"] == "OK"


# -- Booking.access through a DataLoader ---------------------------------------------------------

PAGE = "{ bookings(first: 50) { edges { node { id access { state integration { name } doors { name } } } } } }"


async def add_confirmed(host, clock, object_id, count: int, offset: int) -> None:
    start = clock.now().replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        for n in range(offset, offset + count):
            await create_booking_row(host, session, object_id=object_id, start=start, end=start + timedelta(days=1),
                                     status="confirmed", reference=f"PAGE-{n:03d}",
                                     customer=CustomerData(name=f"Guest {n}", email=f"g{n}@example.com"))
        await commit(session)
    await Worker(host).run_until_idle()
    await call_log(host).flush()  # no log writes while statements are counted


@pytest.mark.all_databases
async def test_booking_access_costs_the_same_for_5_and_50_bookings(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    await add_confirmed(host, clock, objects["Studio 1"], 5, 0)
    with count_statements(host) as five:
        small = await gql(PAGE)
    await add_confirmed(host, clock, objects["Studio 2"], 45, 5)
    with count_statements(host) as fifty:
        large = await gql(PAGE)
    assert len(small["bookings"]["edges"]) == 5 and len(large["bookings"]["edges"]) == 50
    states = {a["state"] for e in large["bookings"]["edges"] for a in e["node"]["access"]}
    assert states == {"ACTIVE"}
    assert all(e["node"]["access"][0]["integration"]["name"] == "Duinpark doors" for e in large["bookings"]["edges"])
    assert fifty["n"] == five["n"], (five["sql"], fifty["sql"])
