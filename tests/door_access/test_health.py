"""Health at a glance: ``doorAccessHealth(integrationId)`` counts grants by state, what is due and
since when, failures grouped by reason, shows the last drift sweep and the lock vendor's error
rate over the last hour. Against the in-memory vendor."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from addon.door_access.call_log import call_log
from addon.door_access.models import AccessCallLog
from addon.door_access.sweep import sweep_once
from tests.conftest import GraphQLClient
from tests.door_access.helpers import configured, create_booking, future, grants
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

HEALTH = """query($id: ID!) { doorAccessHealth(integrationId: $id) {
  integration { id name } at
  grantsByState { state count } dueNow oldestDueSeconds
  failedByReason { reason count }
  lastSweep { startedAt finishedAt checked drifted errors unresolved }
  journal { unresolved since setsAdopted orphansRevoked }
  vendorLastHour { since calls failed errorRate }
} }"""


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "100", "IRESERVE_RETRY_MAX": "100",
            "IRESERVE_SWEEP_INTERVAL": "60"}


async def health(gql, integration_id, **kwargs) -> dict:
    return (await gql(HEALTH, {"id": integration_id}, **kwargs))["doorAccessHealth"]


@pytest.mark.all_databases  # grouping, sums and time arithmetic in SQL
async def test_health_counts_states_due_failures_sweep_and_vendor_errors(host, gql, clock, memory, vendor):
    integration_id, objects = await configured(gql)
    studio = objects["Studio 1"]
    for day in (10, 12):
        assert (await create_booking(gql, studio, future(day), future(day + 1), status="confirmed")
                )["access"][0]["state"] == "ACTIVE"
    # The first refusal is tried once more with the door list read anew; the second booking's list
    # is fresh already: three refusals in all.
    vendor.fail("create", kind="permanent", times=3, status=422, message="door is locked out")
    for day in (14, 16):
        assert (await create_booking(gql, studio, future(day), future(day + 1), status="confirmed")
                )["access"][0]["state"] == "FAILED"
    vendor.fail("list_doors", kind="permanent", status=403, message="scope missing")
    assert (await create_booking(gql, studio, future(18), future(19), status="confirmed"))["access"][0]["state"] == "FAILED"
    vendor.fail("create", kind="transient")
    waiting = await create_booking(gql, studio, future(20), future(21), status="confirmed")
    assert waiting["access"][0]["state"] == "PENDING"
    await call_log(host).flush()

    seen = await health(gql, integration_id)
    assert seen["integration"]["id"] == integration_id
    assert datetime.fromisoformat(seen["at"]) == clock.now()
    assert seen["grantsByState"] == [{"state": "PENDING", "count": 1}, {"state": "ACTIVE", "count": 2},
                                     {"state": "FAILED", "count": 3}, {"state": "REVOKING", "count": 0},
                                     {"state": "REVOKED", "count": 0}]
    # The waiting grant is due after its backoff, not yet.
    assert (seen["dueNow"], seen["oldestDueSeconds"]) == (0, None)
    [most, other] = seen["failedByReason"]
    assert most["count"] == 2 and "door is locked out" in most["reason"]
    assert other["count"] == 1 and "scope missing" in other["reason"]
    assert seen["lastSweep"] is None
    async with host.database.session() as session:
        logged = (await session.execute(select(func.count()).select_from(AccessCallLog))).scalar_one()
    calls = seen["vendorLastHour"]
    assert calls["calls"] == logged == sum(vendor.calls.values())
    assert calls["failed"] == 5  # three refused creates, the refused door list, the 503
    assert calls["errorRate"] == pytest.approx(5 / logged)
    # The create that answered 503 may have been carried out: the journal names it until it is settled.
    assert (seen["journal"]["unresolved"], seen["journal"]["setsAdopted"], seen["journal"]["orphansRevoked"]) == (
        1, 0, 0)

    # Once their backoffs are over the waiting grant and the one whose door list was refused (asked
    # again, not given up) are due; the wait grows with the clock.
    due = [g for g in await grants(host) if g.next_attempt_at is not None]
    clock.advance(150)
    later = await health(gql, integration_id)
    assert later["dueNow"] == len(due) == 2
    assert later["oldestDueSeconds"] == int(max((clock.now() - g.next_attempt_at).total_seconds() for g in due))

    # The last finished sweep round and what it found.
    clock.advance(60)
    [run] = await sweep_once(host)
    swept = (await health(gql, integration_id))["lastSweep"]
    assert (swept["checked"], swept["drifted"], swept["errors"]) == (2, 0, 0) == (run.checked, run.drifted, run.errors)
    assert swept["unresolved"] == 0  # the waiting grant is due already: the sweep leaves it to the worker
    assert datetime.fromisoformat(swept["finishedAt"]) == clock.now()

    # An hour later the vendor's figures start afresh.
    clock.advance(3601)
    quiet = (await health(gql, integration_id))["vendorLastHour"]
    assert (quiet["calls"], quiet["failed"], quiet["errorRate"]) == (0, 0, 0.0)


async def test_health_of_an_unknown_integration_is_a_coded_error(gql, memory):
    body = await gql.raw(HEALTH, {"id": "424242"})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("role", ["staff", "frontend"])
async def test_health_is_for_admins(gql, tokens, memory, role):
    integration_id, _ = await configured(gql)
    body = await GraphQLClient(gql.http, tokens[role]).raw(HEALTH, {"id": integration_id})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
