"""The door directory: reconciles share each integration's door list (one fetch for concurrent
callers, at most IRESERVE_DOOR_DIRECTORY_TTL old) and drop it on any sign of change; the screens
that show doors keep asking the vendor. A create the vendor provably never processed is not
looked up by reference afterwards."""

from __future__ import annotations

import asyncio

import pytest

from addon.door_access.backend import Door
from addon.door_access.directory import door_directory, forget_doors
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    HOUSE_DOORS,
    configured,
    create_booking,
    future,
    set_mapping,
)
from tests.door_access.memory_backend import MemoryConnection
from tests.door_access.test_access_reliability import confirmed_while_down
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio


async def confirm(gql, objects, n: int = 1) -> dict:
    return await create_booking(gql, objects["Studio 1"], future(n), future(n + 1), status="confirmed")


async def test_concurrent_grants_share_one_fetch(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    await confirmed_while_down(host, clock, vendor, objects["Studio 1"], 6)
    vendor.calls.clear()
    vendor.latency = 0.01  # the fetch is still under way while the others ask
    assert await Worker(host).run_until_idle() == 6
    assert vendor.calls == {"list_doors": 1, "create": 6}


async def test_the_list_is_fetched_again_once_it_is_older_than_the_ttl(gql, clock, memory, vendor):
    _, objects = await configured(gql)
    assert (await confirm(gql, objects, 1))["access"][0]["state"] == "ACTIVE"
    vendor.calls.clear()
    clock.advance(29)
    assert (await confirm(gql, objects, 2))["access"][0]["state"] == "ACTIVE"
    assert vendor.calls["list_doors"] == 0
    clock.advance(1)
    assert (await confirm(gql, objects, 3))["access"][0]["state"] == "ACTIVE"
    assert vendor.calls["list_doors"] == 1


async def test_a_name_missing_from_the_shared_list_fetches_it_again_at_once(gql, memory, vendor):
    integration_id, objects = await configured(gql)
    await confirm(gql, objects, 1)  # the list is shared from now on
    vendor.doors.append(Door("d-garden", "Garden door", True, "house", "Dune house"))
    assert (await set_mapping(gql, integration_id, objects["Studio building"], [*HOUSE_DOORS, "Garden door"]))[
        "errors"] == []  # the mapping screen asked the vendor itself
    vendor.calls.clear()
    made = await confirm(gql, objects, 2)
    assert made["access"][0]["state"] == "ACTIVE"
    assert {d["name"] for d in made["access"][0]["doors"]} == {*HOUSE_DOORS, "Garden door"}
    assert vendor.calls["list_doors"] == 1


async def test_a_refused_door_drops_the_list_a_transient_error_keeps_it(gql, memory, vendor):
    _, objects = await configured(gql)
    await confirm(gql, objects, 1)
    vendor.calls.clear()
    vendor.fail("create", kind="transient")
    assert (await confirm(gql, objects, 2))["access"][0]["state"] == "PENDING"
    assert vendor.calls["list_doors"] == 0, "a slow vendor is not a changed one"
    # A refusal that a fresher list could explain is tried once more with the list read again ...
    vendor.fail("create", kind="permanent", status=422)
    assert (await confirm(gql, objects, 3))["access"][0]["state"] == "ACTIVE"
    assert vendor.calls["list_doors"] == 1, "after a refusal the list is read again"
    # ... and a refusal that a fresh list does not explain fails the grant, and drops the list too.
    vendor.fail("create", kind="permanent", status=422, times=2)
    assert (await confirm(gql, objects, 4))["access"][0]["state"] == "FAILED"
    assert vendor.calls["list_doors"] == 2
    assert (await confirm(gql, objects, 5))["access"][0]["state"] == "ACTIVE"
    assert vendor.calls["list_doors"] == 3


async def test_a_list_that_could_not_be_fetched_is_not_kept(gql, memory, vendor):
    _, objects = await configured(gql)
    vendor.calls.clear()
    vendor.fail("list_doors", kind="permanent", status=403)
    assert (await confirm(gql, objects, 1))["access"][0]["state"] == "FAILED"
    assert (await confirm(gql, objects, 2))["access"][0]["state"] == "ACTIVE"
    assert vendor.calls["list_doors"] == 2


async def test_screens_that_show_doors_ask_the_vendor_every_time(gql, memory, vendor):
    integration_id, objects = await configured(gql)
    await confirm(gql, objects, 1)
    vendor.calls.clear()
    for _ in range(2):
        await gql("query($id: ID!) { doors(integrationId: $id) { name } }", {"id": integration_id})
    assert vendor.calls["list_doors"] == 2


async def test_forgetting_an_integration_reads_its_list_again(host, gql, memory, vendor):
    integration_id, objects = await configured(gql)
    await confirm(gql, objects, 1)
    vendor.calls.clear()
    forget_doors(host, row_id(integration_id))  # e.g. its credentials changed
    await confirm(gql, objects, 2)
    assert vendor.calls["list_doors"] == 1


async def test_a_fetch_under_way_is_shared_and_a_cancelled_waiter_does_not_cancel_it(host, memory, vendor):
    vendor.latency = 0.05
    connection = await memory_connection(host, memory)
    directory = door_directory(host)
    first = asyncio.ensure_future(directory.doors(host, 1, connection))
    second = asyncio.ensure_future(directory.doors(host, 1, connection))
    await asyncio.sleep(0.01)
    first.cancel()
    doors, fresh = await second
    assert fresh and [d.name for d in doors][:2] == ["Main door", "Side door"]
    assert vendor.calls["list_doors"] == 1
    assert (await directory.doors(host, 1, connection))[1] is False  # now shared


async def memory_connection(host, memory):
    return MemoryConnection(host, memory.vendor, 1, None)


class TestWithoutSharing:
    @pytest.fixture
    def env_overrides(self):
        return {"IRESERVE_DOOR_DIRECTORY_TTL": "0"}

    async def test_every_reconcile_asks_for_the_doors(self, gql, memory, vendor):
        _, objects = await configured(gql)
        vendor.calls.clear()
        for n in range(3):
            await confirm(gql, objects, n + 1)
        assert vendor.calls["list_doors"] == 3


# -- no look-up after a create the vendor provably never processed ------------------------------

def vendor_work(vendor) -> dict:
    """The calls about access sets (the door list is read again after an hour)."""
    return {op: n for op, n in vendor.calls.items() if op != "list_doors"}


async def test_a_rate_limited_create_is_retried_without_a_look_up(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    vendor.fail("create", kind="transient", status=429, unprocessed=True)
    assert (await confirm(gql, objects))["access"][0]["state"] == "PENDING"
    vendor.calls.clear()
    clock.advance(3600)
    assert await Worker(host).run_until_idle() == 1
    assert vendor_work(vendor) == {"create": 1}, "nothing was made: nothing to look up"
    assert len(vendor.active_sets()) == 1


async def test_a_create_that_may_have_arrived_is_looked_up_first(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    vendor.fail("create", kind="lost")  # made at the vendor, the answer lost
    assert (await confirm(gql, objects))["access"][0]["state"] == "PENDING"
    vendor.calls.clear()
    clock.advance(3600)
    assert await Worker(host).run_until_idle() == 1
    assert vendor_work(vendor) == {"find": 1}, "the lost set is adopted, not made twice"
    assert len(vendor.active_sets()) == 1


async def test_a_rate_limited_create_after_an_uncertain_one_still_looks_up(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    vendor.fail("create", kind="transient", status=503)  # may or may not have been made
    assert (await confirm(gql, objects))["access"][0]["state"] == "PENDING"
    vendor.fail("find", kind="transient", status=429, unprocessed=True)
    clock.advance(3600)
    await Worker(host).run_until_idle()
    vendor.calls.clear()
    clock.advance(3600)
    assert await Worker(host).run_until_idle() == 1
    assert vendor_work(vendor) == {"find": 1, "create": 1}
    assert len(vendor.active_sets()) == 1
