"""The drift sweep end to end with Resivo: a set revoked in Resivo behind our back (by another
client of the same site owner) is found by a sweep round reading it from the sandbox, and the
worker renews it; the next round confirms the new set, and Booking.access shows when."""

from __future__ import annotations

from datetime import datetime

import pytest

from addon.door_access.public import call_log
from addon.door_access.sweep import sweep_once
from addon.door_access.worker import Worker
from tests.door_access.helpers import create_booking, field_value, future
from tests.resivo.host_helpers import configured_resivo
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

LOG = """query($integrationId: ID!, $bookingId: ID) {
  integrationLog(integrationId: $integrationId, bookingId: $bookingId, first: 100) {
    edges { node { operation httpStatus outcome } }
  }
}"""
ACCESS = "query($id: ID!) { booking(id: $id) { fields { code value } access { state authorizationId lastVerifiedAt } } }"


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60",
            "IRESERVE_SWEEP_INTERVAL": "60", "RESIVO_READ_TIMEOUT": "1", "RESIVO_CONNECT_TIMEOUT": "0.5"}


async def log_nodes(gql, integration_id, booking_id) -> list[dict]:
    data = await gql(LOG, {"integrationId": integration_id, "bookingId": booking_id})
    return [e["node"] for e in data["integrationLog"]["edges"]]


async def test_a_set_revoked_in_resivo_is_found_by_the_sweep_and_renewed(host, gql, clock, wired_sandbox,
                                                                          make_credentials):
    integration_id, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    async with wired_sandbox.connector() as someone_else:  # drift: revoked in Resivo, not by us
        await someone_else.client(make_credentials()).revoke("demo-site", old_id)
    clock.advance(60)  # any confirmation so far is stale

    calls = (await wired_sandbox.stats())["calls"]
    [run] = await sweep_once(host)
    assert (run.integration_id, run.checked, run.drifted, run.errors) == (row_id(integration_id), 1, 1, 0)
    after = (await wired_sandbox.stats())["calls"]
    assert after.get("get_authorization", 0) == calls.get("get_authorization", 0) + 1  # one read, nothing else
    assert {k: v for k, v in after.items() if k not in ("get_authorization", "token")} == {
        k: v for k, v in calls.items() if k != "token"}
    assert {s["id"]: s["status"] for s in await wired_sandbox.sets()} == {old_id: "revoked"}
    await call_log(host).flush()
    [read] = [n for n in await log_nodes(gql, integration_id, made["id"]) if n["operation"] == "get_authorization"]
    assert (read["httpStatus"], read["outcome"]) == (200, "OK")

    await Worker(host).run_until_idle()
    renewed = (await gql(ACCESS, {"id": made["id"]}))["booking"]
    [access] = renewed["access"]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    assert field_value(renewed) == access["authorizationId"]
    sets = {s["id"]: s for s in await wired_sandbox.sets()}
    assert {i: s["status"] for i, s in sets.items()} == {old_id: "revoked", access["authorizationId"]: "active"}
    assert sets[access["authorizationId"]]["componentIds"] == sets[old_id]["componentIds"]
    assert sets[access["authorizationId"]]["restrictions"] == sets[old_id]["restrictions"]

    # The renewed set is in order: the next round reads it and confirms it.
    clock.advance(60)
    [run] = await sweep_once(host)
    assert (run.checked, run.drifted, run.errors) == (1, 0, 0)
    [access] = (await gql(ACCESS, {"id": made["id"]}))["booking"]["access"]
    assert datetime.fromisoformat(access["lastVerifiedAt"]) == clock.now()
