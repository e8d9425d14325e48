"""No silent failures: every problem ends in a state a person can see, with a reason, and one bad
record never harms another. Against the in-memory vendor (the Resivo versions of the cases that
need the wire are in tests/resivo/test_resivo_silent_failures.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from addon.booking.public import Booking
from addon.door_access import apply, journal, leases, reconcile
from addon.door_access import plan as plan_module
from addon.door_access.leases import vendor_slots
from addon.door_access.models import GrantState, Resolution, SetStatus
from addon.door_access.reconcile import drain_background
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    HOUSE_DOORS,
    configured,
    create_booking,
    create_booking_field,
    create_integration,
    create_objects,
    future,
    grants,
    journal_of,
    set_active,
    set_mapping,
    set_status,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

RETRY_MAX = 60
ACCESS = ("query($id: ID!) { booking(id: $id) { access { integration { name } state lastError warnings doors { name }"
          " authorizationId } } }")
PREVIEW = "query($id: ID!) { previewBookingAccess(bookingId: $id) { integration { name } action reason problems warnings } }"
ACTIVATE = ("mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) { grantsQueued"
            " integration { active } errors { field code message } } }")
ACTIVATION_PREVIEW = ("query($id: ID!) { activationPreview(integrationId: $id) { canActivate bookingsToGrant"
                      " problems { field code } } }")
MAPPING = ("mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { affectedBookings warnings"
           " errors { field code message } } }")


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": str(RETRY_MAX)}


async def access_of(gql, booking_id) -> list[dict]:
    return (await gql(ACCESS, {"id": booking_id}))["booking"]["access"]


def slots_are_free(host, memory) -> bool:
    slots = vendor_slots(host).of(memory)
    return slots._value == memory.max_concurrency


# -- 1. revoke finds what a lost create made, Site ID or not ---------------------------------------

async def test_a_cancel_after_a_lost_create_revokes_the_set_without_a_default_place(gql, host, clock, memory, vendor):
    """The vendor has no default place (like Resivo without a Site ID): the place of the set is
    recorded before its create is sent, so the revoke can find the set by its reference."""
    vendor.default_location = None
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="lost")
    pending = await set_status(gql, made["id"], "confirmed")
    assert pending["access"][0]["state"] == "PENDING"
    [lost] = vendor.active_sets()  # made at the vendor; we never heard of it

    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED", cancelled["access"]
    assert vendor.active_sets() == [] and vendor.sets[lost.access.id].access.active is False
    [grant] = await grants(host)
    [record] = await journal_of(host, grant.id)
    assert (record.status, record.set_id, record.resolution) == (SetStatus.GONE, lost.access.id,
                                                                 Resolution.ORPHAN_REVOKED)


async def test_the_look_up_is_skipped_when_no_create_was_ever_sent(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("list_doors", kind="transient")  # fails before any create is sent
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    clock.advance(RETRY_MAX + 1)
    await Worker(host).run_until_idle()
    assert (await access_of(gql, made["id"]))[0]["state"] == "ACTIVE"
    assert vendor.calls["find"] == 0 and vendor.calls["create"] == 1


# -- 2. one bad booking never stops the others ---------------------------------------------------

async def poison(host, booking_id) -> None:
    """Dates the booking API refuses today, stored before it did (or written by hand)."""
    async with host.database.session() as session:
        await session.execute(update(Booking).where(Booking.id == row_id(booking_id)).values(
            start_at=datetime(1, 1, 1, tzinfo=timezone.utc), end_at=datetime(9999, 12, 31, 23, tzinfo=timezone.utc)))
        await session.commit()


@pytest.mark.all_databases
async def test_a_booking_with_impossible_dates_fails_visibly_and_the_others_go_on(gql, host, clock, memory, vendor):
    memory.concurrency = 1  # one slot: a leaked one would stop everything after it
    _, objects = await configured(gql)
    bad = await create_booking(gql, objects["Studio 1"], future(), future(11))
    good = [await create_booking(gql, objects["Studio 1"], future(), future(11)) for _ in range(3)]
    await poison(host, bad["id"])
    vendor.fail(kind="transient", times=1000)
    for each in [bad, *good]:
        await set_status(gql, each["id"], "confirmed")
    vendor.clear_faults()
    clock.advance(RETRY_MAX + 1)
    await Worker(host).run_until_idle()
    [failed] = await access_of(gql, bad["id"])
    assert failed["state"] == "FAILED" and "outside what door access supports" in failed["lastError"]
    for each in good:
        assert (await access_of(gql, each["id"]))[0]["state"] == "ACTIVE"
    assert slots_are_free(host, memory)
    [plan] = (await gql(PREVIEW, {"id": bad["id"]}))["previewBookingAccess"]  # a problem, not an internal error
    assert any("outside what door access supports" in p for p in plan["problems"])


STEPS = {
    "read": (plan_module, "plan_access", reconcile, "plan_access"),
    "start": (leases, "start_attempt", reconcile, "start_attempt"),
    "journal the create": (journal, "journal_create", reconcile, "journal_create"),
    "write": (reconcile, "_write", reconcile, "_write"),
    "apply": (apply, "Attempt.carry_out", apply.Attempt, "carry_out"),
}


@pytest.mark.parametrize("step", [*STEPS, "connect", "list_doors", "create"])
async def test_an_exception_at_any_step_harms_no_other_grant(gql, host, clock, memory, vendor, monkeypatch, step):
    memory.concurrency = 1
    _, objects = await configured(gql)
    made = [await create_booking(gql, objects["Studio 1"], future(), future(11)) for _ in range(3)]
    vendor.fail(kind="transient", times=1000)
    for each in made:
        await set_status(gql, each["id"], "confirmed")  # all PENDING, due after a backoff
    vendor.clear_faults()
    raised = []

    def breaking(original):
        async def broken(*args, **kwargs):
            if not raised:
                raised.append(step)
                raise RuntimeError(f"injected at {step}")
            return await original(*args, **kwargs)
        return broken

    if step in STEPS:
        _, _, module, name = STEPS[step]
        monkeypatch.setattr(module, name, breaking(getattr(module, name)))
    elif step == "connect":
        monkeypatch.setattr(memory, "connect", breaking(memory.connect))
    else:
        original_call = vendor.call

        async def call(operation, work):
            if operation == step and not raised:
                raised.append(step)
                raise RuntimeError(f"injected at {step}")
            return await original_call(operation, work)

        vendor.call = call
    clock.advance(RETRY_MAX + 1)
    await asyncio.wait_for(Worker(host).run_until_idle(), 30)
    assert raised == [step]
    assert slots_are_free(host, memory)
    rows = {g.booking_id: g for g in await grants(host)}
    states = sorted(rows[row_id(b["id"])].state for b in made)
    # The others are ACTIVE; the one that met the exception is visible: waiting with its error, or
    # (when its outcome could not even be written) still leased until its lease runs out.
    assert states.count(GrantState.ACTIVE) >= 2, states
    hit = [g for g in rows.values() if g.state != GrantState.ACTIVE]
    for grant in hit:
        assert grant.last_error or grant.claimed_by, grant
    # Once its wait (or lease) is over, it finishes too.
    clock.advance(max(RETRY_MAX, leases.lease_seconds(host)) + 1)
    await asyncio.wait_for(Worker(host).run_until_idle(), 30)
    assert {g.state for g in await grants(host)} == {GrantState.ACTIVE}
    assert len(vendor.active_sets()) == 3
    await asyncio.wait_for(drain_background(host), 5)  # shutdown waits for nothing stuck


# -- 3. activation grants what is already at a trigger status --------------------------------------

async def test_activation_backfills_bookings_already_at_a_trigger_status(gql, host, clock, memory, vendor):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql)
    integration_id = created["integration"]["id"]
    assert (await set_mapping(gql, integration_id, objects["Studio building"], HOUSE_DOORS))["errors"] == []
    waiting = [await create_booking(gql, objects["Studio 1"], future(5), future(7), status="confirmed"),
               await create_booking(gql, objects["Studio 2"], future(6), future(8), status="paid")]
    ended = await create_booking(gql, objects["Studio 1"], future(2), future(3), status="confirmed")
    elsewhere = await create_booking(gql, objects["Meeting room"], future(5), future(7), status="confirmed")
    optional = await create_booking(gql, objects["Studio 1"], future(5), future(7), status="option")
    clock.advance(days=4)  # the 'ended' booking is over now

    preview = (await gql(ACTIVATION_PREVIEW, {"id": integration_id}))["activationPreview"]
    assert preview == {"canActivate": True, "bookingsToGrant": 2, "problems": []}
    assert await grants(host) == []  # the preview changed nothing

    activated = (await gql(ACTIVATE, {"i": {"integrationId": integration_id, "active": True}}))["setDoorIntegrationActive"]
    assert activated["errors"] == [] and activated["grantsQueued"] == 2
    assert vendor.calls["create"] == 0  # the worker sends them, at its own pace
    assert await Worker(host).run_until_idle() == 2
    for each in waiting:
        assert (await access_of(gql, each["id"]))[0]["state"] == "ACTIVE"
    for each in (ended, elsewhere, optional):
        assert await access_of(gql, each["id"]) == []

    # Deactivated, a booking confirmed meanwhile gets nothing; re-activation backfills it.
    await set_active(gql, integration_id, False)
    late = await create_booking(gql, objects["Studio 1"], future(8), future(9), status="confirmed")
    assert await access_of(gql, late["id"]) == []
    again = (await gql(ACTIVATE, {"i": {"integrationId": integration_id, "active": True}}))["setDoorIntegrationActive"]
    assert again["grantsQueued"] == 1
    await Worker(host).run_until_idle()
    assert (await access_of(gql, late["id"]))[0]["state"] == "ACTIVE"


async def test_the_activation_preview_lists_what_stops_it(gql, memory):
    created = await create_integration(gql, authorizationIdField=None)
    preview = (await gql(ACTIVATION_PREVIEW, {"id": created["integration"]["id"]}))["activationPreview"]
    assert preview["canActivate"] is False and preview["bookingsToGrant"] == 0
    assert {p["field"] for p in preview["problems"]} >= {"mapping", "authorizationIdField"}


# -- 4. an integration applies only where it maps --------------------------------------------------

async def test_two_integrations_each_apply_only_where_they_map(gql, host, memory, vendor):
    first_id, objects = await configured(gql)  # maps Studio building
    second = await create_integration(gql, name="Meeting rooms")
    second_id = second["integration"]["id"]
    assert (await set_mapping(gql, second_id, objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await set_active(gql, second_id))["errors"] == []

    studio = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    room = await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")
    assert [(a["integration"]["name"], a["state"]) for a in studio["access"]] == [("Duinpark doors", "ACTIVE")]
    assert [(a["integration"]["name"], a["state"]) for a in room["access"]] == [("Meeting rooms", "ACTIVE")]
    assert {g.state for g in await grants(host)} == {GrantState.ACTIVE}  # no FAILED anywhere
    previews = {p["integration"]["name"]: p for p in (await gql(PREVIEW, {"id": room["id"]}))["previewBookingAccess"]}
    assert previews["Duinpark doors"]["action"] == "NONE" and previews["Duinpark doors"]["problems"] == []
    assert "does not apply" in previews["Duinpark doors"]["reason"]
    assert previews["Meeting rooms"]["action"] == "GRANT"


# -- 5. warnings on access -------------------------------------------------------------------------

async def test_an_offline_door_is_granted_with_a_warning(gql, clock, memory, vendor):
    integration_id, objects = await configured(gql)
    vendor.set_online("Side door", False)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    [access] = await access_of(gql, made["id"])
    assert access["state"] == "ACTIVE"
    assert access["warnings"] == ["Door 'Side door' on the memory lock is offline; it cannot be opened remotely."]
    assert access["lastError"] is None


async def test_a_window_that_is_over_is_a_warning(gql, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(1), future(2), status="confirmed")
    assert (await access_of(gql, made["id"]))[0]["warnings"] == []
    clock.advance(days=3)
    [access] = await access_of(gql, made["id"])
    assert access["state"] == "ACTIVE"
    assert len(access["warnings"]) == 1 and "access window ended" in access["warnings"][0]


# -- 6. the mapping follows ------------------------------------------------------------------------

async def test_a_mapping_change_moves_the_live_access_of_the_bookings_that_follow_it(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)  # Studio building → Main door, Side door
    assert (await set_mapping(gql, integration_id, objects["Studio 2"], ["Meeting room door"]))["errors"] == []
    one = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    building = await create_booking(gql, objects["Studio building"], future(), future(11), status="confirmed")
    two = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")  # its own mapping
    before = {b["id"]: (await access_of(gql, b["id"]))[0]["authorizationId"] for b in (one, building, two)}

    changed = (await gql(MAPPING, {"i": {"integrationId": integration_id, "objectId": objects["Studio building"],
                                         "doorNames": ["Main door"]}}))["setDoorMapping"]
    assert changed["errors"] == [] and changed["affectedBookings"] == 2  # Studio 1 inherits; Studio 2 does not
    assert await Worker(host).run_until_idle() == 2
    for each in (one, building):
        [access] = await access_of(gql, each["id"])
        assert access["state"] == "ACTIVE" and [d["name"] for d in access["doors"]] == ["Main door"]
        assert access["authorizationId"] != before[each["id"]]
        assert vendor.sets[before[each["id"]]].access.active is False  # the old set revoked
    assert (await access_of(gql, two["id"]))[0]["authorizationId"] == before[two["id"]]
    assert len(vendor.active_sets()) == 3

    # The same names again: nothing changes for anyone.
    same = (await gql(MAPPING, {"i": {"integrationId": integration_id, "objectId": objects["Studio building"],
                                      "doorNames": ["Main door"]}}))["setDoorMapping"]
    assert same["affectedBookings"] == 0


async def test_removing_a_mapping_revokes_the_access_it_gave(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)
    assert (await set_mapping(gql, integration_id, objects["Studio 2"], ["Meeting room door"]))["errors"] == []
    made = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    [access] = await access_of(gql, made["id"])
    removed = (await gql(MAPPING, {"i": {"integrationId": integration_id, "objectId": objects["Studio 2"],
                                         "doorNames": []}}))["setDoorMapping"]
    assert removed["affectedBookings"] == 1
    await Worker(host).run_until_idle()
    # Studio 2 now takes the building's doors (its parent's mapping): replaced, not left behind.
    [now] = await access_of(gql, made["id"])
    assert now["state"] == "ACTIVE" and sorted(d["name"] for d in now["doors"]) == sorted(HOUSE_DOORS)
    assert vendor.sets[access["authorizationId"]].access.active is False


async def test_mapping_a_new_object_grants_its_bookings_already_at_a_trigger_status(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")
    assert made["access"] == []  # not mapped: the integration does not apply
    mapped = (await gql(MAPPING, {"i": {"integrationId": integration_id, "objectId": objects["Meeting room"],
                                        "doorNames": ["Meeting room door"]}}))["setDoorMapping"]
    assert mapped["affectedBookings"] == 1
    await Worker(host).run_until_idle()
    assert (await access_of(gql, made["id"]))[0]["state"] == "ACTIVE"
