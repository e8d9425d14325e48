"""Bulk repair: ``resyncAccess`` queues a resync of every grant matching a filter (integration,
object with its sub-objects, booking start, state), answers how many, calls no lock vendor itself,
and the worker repairs them. Against the in-memory vendor."""

from __future__ import annotations

import pytest

from addon.door_access.models import GrantState
from addon.door_access.worker import Worker
from tests.conftest import GraphQLClient
from tests.door_access.helpers import (
    booking,
    configured,
    create_booking,
    create_integration,
    field_value,
    future,
    grants,
    set_active,
    set_status,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

RESYNC_ACCESS = "mutation($i: ResyncAccessInput!) { resyncAccess(input: $i) { queued errors { field code message } } }"


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60"}


async def resync_access(gql, **filters) -> dict:
    return (await gql(RESYNC_ACCESS, {"i": filters}))["resyncAccess"]


async def due_bookings(host) -> set[int]:
    return {g.booking_id for g in await grants(host) if g.next_attempt_at is not None}


async def estate(gql):
    """Three bookings with access: Studio 1 (day 10), Studio 2 (day 20), both ACTIVE, and Studio 1
    (day 30) cancelled: REVOKED."""
    integration_id, objects = await configured(gql)
    early = await create_booking(gql, objects["Studio 1"], future(10), future(11), status="confirmed")
    late = await create_booking(gql, objects["Studio 2"], future(20), future(21), status="confirmed")
    gone = await create_booking(gql, objects["Studio 1"], future(30), future(31), status="confirmed")
    assert (await set_status(gql, gone["id"], "cancelled"))["access"][0]["state"] == "REVOKED"
    return integration_id, objects, {"early": early, "late": late, "gone": gone}


@pytest.mark.all_databases  # one UPDATE with CASE over a subquery of the same table
async def test_resync_access_queues_the_matching_grants_and_the_worker_repairs_them(host, gql, memory, vendor):
    _, objects, made = await estate(gql)
    drifted = made["early"]["access"][0]["authorizationId"]
    vendor.revoke_behind_our_back(drifted)
    calls = sum(vendor.calls.values())

    answer = await resync_access(gql)
    assert answer == {"queued": 2, "errors": []}  # every live grant; the REVOKED one only when asked
    assert await due_bookings(host) == {row_id(made["early"]["id"]), row_id(made["late"]["id"])}
    assert sum(vendor.calls.values()) == calls  # queued, not sent: the worker goes at its own pace

    assert await Worker(host).run_until_idle() == 2
    assert await due_bookings(host) == set()
    renewed = (await booking(gql, made["early"]["id"]))["access"][0]
    assert renewed["state"] == "ACTIVE" and renewed["authorizationId"] != drifted
    assert field_value(await booking(gql, made["early"]["id"])) == renewed["authorizationId"]
    # The set in order was only compared: one new set in all, for the drifted one.
    assert vendor.calls["create"] == 4 and {s.access.id for s in vendor.active_sets()} == {
        renewed["authorizationId"], made["late"]["access"][0]["authorizationId"]}


async def test_resync_access_filters_by_object_with_sub_objects_dates_and_states(host, gql, memory, vendor):
    _, objects, made = await estate(gql)
    ids = {name: row_id(b["id"]) for name, b in made.items()}

    async def queued(**filters) -> tuple[int, set[int]]:
        answer = await resync_access(gql, **filters)
        assert answer["errors"] == []
        due = await due_bookings(host)
        await Worker(host).run_until_idle()
        return answer["queued"], due

    assert await queued(objectId=objects["Studio building"]) == (2, {ids["early"], ids["late"]})  # its sub-objects
    assert await queued(objectId=objects["Studio 2"]) == (1, {ids["late"]})
    assert await queued(objectId=objects["Meeting room"]) == (0, set())
    assert await queued(startsFrom=future(15), startsUntil=future(35)) == (1, {ids["late"]})
    assert await queued(startsUntil=future(20)) == (1, {ids["early"]})  # the end is exclusive
    assert await queued(states=["REVOKED"]) == (1, {ids["gone"]})
    assert await queued(states=["ACTIVE", "REVOKED"], objectId=objects["Studio 1"]) == (2, {ids["early"], ids["gone"]})
    assert await queued(states=["FAILED"]) == (0, set())
    assert all(g.state in (GrantState.ACTIVE, GrantState.REVOKED) for g in await grants(host))
    assert len(vendor.active_sets()) == 2


async def test_failed_grants_start_afresh(host, gql, memory, vendor):
    integration_id, objects = await configured(gql)
    vendor.fail("create", kind="permanent", status=422)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert made["access"][0]["state"] == "FAILED"

    answer = await resync_access(gql, integrationId=integration_id, states=["FAILED"])
    assert answer == {"queued": 1, "errors": []}
    [grant] = await grants(host)
    assert (grant.state, grant.attempts, grant.next_attempt_at is not None) == (GrantState.PENDING, 0, True)
    await Worker(host).run_until_idle()
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"


async def test_resync_access_refuses_bad_filters_and_changes_nothing(host, gql, memory, vendor):
    integration_id, objects, _ = await estate(gql)
    idle = (await create_integration(gql, name="Spare"))["integration"]["id"]

    async def refused(**filters) -> list[dict]:
        answer = await resync_access(gql, **filters)
        assert answer["queued"] == 0
        return [(e["field"], e["code"]) for e in answer["errors"]]

    assert await refused(integrationId="424242") == [("integrationId", "NOT_FOUND")]
    assert await refused(integrationId=idle) == [("integrationId", "INACTIVE")]
    assert await refused(objectId="424242") == [("objectId", "NOT_FOUND")]
    assert await refused(startsFrom=future(20), startsUntil=future(10)) == [("startsUntil", "INVALID")]
    assert await refused(startsFrom="2031-06-01T00:00:00") == [("startsFrom", "INVALID")]
    assert await due_bookings(host) == set()

    # A deactivated integration's grants are left alone (it sends nothing until active again).
    assert (await set_active(gql, integration_id, False))["errors"] == []
    assert await resync_access(gql) == {"queued": 0, "errors": []}


@pytest.mark.parametrize("role, allowed", [("staff", True), ("frontend", False)])
async def test_staff_may_queue_a_resync(host, gql, tokens, memory, vendor, role, allowed):
    await estate(gql)
    body = await GraphQLClient(gql.http, tokens[role]).raw(RESYNC_ACCESS, {"i": {}})
    if allowed:
        assert body["data"]["resyncAccess"] == {"queued": 2, "errors": []}
    else:
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert await due_bookings(host) == set()
