"""The drift sweep and the pre-arrival check, against the in-memory vendor: a set revoked or changed
behind our back is found and renewed or replaced by the worker, a set in order is confirmed
(``lastVerifiedAt``), pre-arrival grants first, then the oldest confirmation; the per-minute bound,
errors that change nothing, grants that are leased, due, over or of an inactive integration left
alone, and one SweepRun row per integration and round."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from addon.door_access.grants import mark_due
from addon.door_access.leases import claim_one
from addon.door_access.models import AccessGrant, GrantState, Resolution, SetStatus, SweepRun
from addon.door_access.reconcile import drain_background
from addon.door_access.settings import DoorAccessSettings, door_settings
from addon.door_access.sweep import Pacer, calls_per_round, fresh_for, sweep_once
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    booking,
    configured,
    create_booking,
    create_integration,
    field_value,
    future,
    grants,
    journal_of,
    set_active,
    set_mapping,
    set_status,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

INTERVAL = 60  # seconds between rounds; a confirmation stands for half of it
VERIFIED = "query($id: ID!) { booking(id: $id) { access { state authorizationId lastVerifiedAt } } }"


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60",
            "IRESERVE_SWEEP_INTERVAL": str(INTERVAL), "IRESERVE_SWEEP_CALLS_PER_MINUTE": "60"}


def stale(clock) -> None:
    """Let every confirmation so far go stale (a reconcile may have just made one)."""
    clock.advance(INTERVAL)


def local(moment: datetime) -> str:
    return moment.astimezone(timezone(timedelta(hours=2))).replace(microsecond=0).isoformat()


async def active_booking(gql, objects, start=None, end=None, name="Studio 1") -> dict:
    made = await create_booking(gql, objects[name], start or future(), end or future(11), status="confirmed")
    assert made["access"][0]["state"] == "ACTIVE", made
    return made


async def grant_of(host, booking_id) -> AccessGrant:
    [grant] = [g for g in await grants(host) if g.booking_id == row_id(booking_id)]
    return grant


async def sweep_runs(host) -> list[SweepRun]:
    async with host.database.session() as session:
        return list((await session.execute(select(SweepRun).order_by(SweepRun.id))).scalars().all())


def recording(vendor) -> list[str]:
    """The order of the vendor's calls from now on."""
    order: list[str] = []
    original = vendor.call

    async def call(operation, work):
        order.append(operation)
        return await original(operation, work)

    vendor.call = call
    return order


# -- drift found and repaired ----------------------------------------------------------------------

async def test_a_set_revoked_behind_our_back_is_found_by_the_sweep_and_renewed_by_the_worker(host, gql, clock, memory,
                                                                                           vendor):
    integration_id, objects = await configured(gql)
    made = await active_booking(gql, objects)
    old_id = made["access"][0]["authorizationId"]
    before = await grant_of(host, made["id"])
    vendor.revoke_behind_our_back(old_id)
    stale(clock)

    woken = []
    [run] = await sweep_once(host, wake=lambda: woken.append(True))
    assert (run.integration_id, run.checked, run.drifted, run.errors) == (row_id(integration_id), 1, 1, 0)
    assert woken == [True]
    # The sweep only reads and queues; the reconcile repairs.
    assert vendor.calls["create"] == 1 and vendor.calls["read"] >= 1
    queued = await grant_of(host, made["id"])
    assert queued.next_attempt_at == clock.now() and queued.intent_version == before.intent_version + 1
    assert queued.state == GrantState.ACTIVE and queued.claimed_by is None and queued.verified_at is None

    assert await Worker(host).run_until_idle() == 1
    renewed = await grant_of(host, made["id"])
    assert renewed.state == GrantState.ACTIVE and renewed.next_attempt_at is None and renewed.last_error is None
    assert renewed.authorization_id not in (None, old_id)
    [live] = vendor.active_sets()
    assert live.access.id == renewed.authorization_id == field_value(await booking(gql, made["id"]))

    # The renewed set is in order: the next round confirms it and queues nothing.
    stale(clock)
    [run] = await sweep_once(host)
    assert (run.checked, run.drifted, run.errors) == (1, 0, 0)
    assert (await grant_of(host, made["id"])).next_attempt_at is None


@pytest.mark.parametrize("change", ["window", "doors"])
async def test_a_set_changed_behind_our_back_is_replaced_new_set_first(host, gql, clock, memory, vendor, change):
    _, objects = await configured(gql)
    made = await active_booking(gql, objects)
    old_id = made["access"][0]["authorizationId"]
    stored = vendor.sets[old_id]
    if change == "window":  # someone shortened the stay at the vendor
        stored.access = dataclasses.replace(stored.access, valid_to=stored.access.valid_to - timedelta(days=1))
    else:  # or took a door away
        stored.access = dataclasses.replace(stored.access, door_ids=stored.access.door_ids[:1])
    stale(clock)

    [run] = await sweep_once(host)
    assert (run.checked, run.drifted, run.errors) == (1, 1, 0)
    order = recording(vendor)
    await Worker(host).run_until_idle()

    replaced = await grant_of(host, made["id"])
    assert replaced.state == GrantState.ACTIVE and replaced.authorization_id != old_id
    assert replaced.next_attempt_at is None
    assert [(r.set_id, r.status, r.resolution) for r in await journal_of(host, replaced.id)] == [
        (old_id, SetStatus.GONE, Resolution.REPLACED), (replaced.authorization_id, SetStatus.CURRENT, Resolution.CREATED)]
    assert order.index("create") < order.index("revoke")  # no moment without access
    assert not vendor.sets[old_id].access.active
    [live] = vendor.active_sets()
    assert live.access.id == replaced.authorization_id
    assert sorted(live.access.door_ids) == sorted(d["id"] for d in replaced.doors) == ["d-main", "d-side"]
    assert live.access.valid_to == replaced.valid_to.replace(microsecond=0)


async def test_a_set_in_order_is_confirmed_and_booking_access_shows_when(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await active_booking(gql, objects)
    stale(clock)
    reads = vendor.calls["read"]

    [run] = await sweep_once(host)
    assert (run.checked, run.drifted, run.errors) == (1, 0, 0)
    assert vendor.calls["read"] == reads + 1 and vendor.calls["create"] == 1 and vendor.calls["revoke"] == 0
    grant = await grant_of(host, made["id"])
    assert grant.verified_at == clock.now() and grant.next_attempt_at is None and grant.claimed_by is None
    [access] = (await gql(VERIFIED, {"id": made["id"]}))["booking"]["access"]
    assert datetime.fromisoformat(access["lastVerifiedAt"]) == clock.now()

    # A fresh confirmation is not read again in the next round; a stale one is.
    [run] = await sweep_once(host)
    assert run.checked == 0 and vendor.calls["read"] == reads + 1
    clock.advance(fresh_for(door_settings(host)).total_seconds() + 1)
    [run] = await sweep_once(host)
    assert run.checked == 1 and vendor.calls["read"] == reads + 2
    assert (await grant_of(host, made["id"])).verified_at == clock.now()


# -- order and bounds ----------------------------------------------------------------------------

async def test_pre_arrival_grants_are_checked_first(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    later = await active_booking(gql, objects, future(10), future(11))
    soon = await active_booking(gql, objects, local(clock.now() + timedelta(hours=12)),
                                local(clock.now() + timedelta(days=2)), name="Studio 2")
    stale(clock)

    [run] = await sweep_once(host, budget=1)
    assert run.checked == 1
    assert (await grant_of(host, soon["id"])).verified_at == clock.now()
    assert (await grant_of(host, later["id"])).verified_at != clock.now()
    [run] = await sweep_once(host, budget=1)
    assert run.checked == 1 and (await grant_of(host, later["id"])).verified_at == clock.now()


@pytest.mark.all_databases  # ordering in SQL
async def test_never_confirmed_first_then_the_oldest_confirmation(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    made = [await active_booking(gql, objects, future(10 + i), future(11 + i)) for i in range(4)]
    ids = [(await grant_of(host, m["id"])).id for m in made]
    stale(clock)
    now = clock.now()
    # Confirmed at different times, not in the order of their ids; the last one never (a grant
    # from before the sweep existed).
    confirmed_at = {ids[0]: now - timedelta(minutes=1), ids[1]: now - timedelta(minutes=5),
                    ids[2]: now - timedelta(minutes=3), ids[3]: None}
    async with host.database.session() as session:
        for grant_id, moment in confirmed_at.items():
            await session.execute(update(AccessGrant).where(AccessGrant.id == grant_id).values(verified_at=moment))
        await session.commit()

    order = []
    for _ in range(4):
        [run] = await sweep_once(host, budget=1)
        assert run.checked == 1
        order += [g.id for g in await grants(host) if g.verified_at == clock.now() and g.id not in order]
    assert order == [ids[3], ids[1], ids[2], ids[0]]


async def test_the_per_minute_bound_limits_the_calls_of_a_round(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    for i in range(3):
        await active_booking(gql, objects, future(10 + i), future(11 + i))
    host.provide(dataclasses.replace(door_settings(host), sweep_calls_per_minute=2))  # 2 a minute, a round a minute
    stale(clock)
    reads = vendor.calls["read"]
    vendor.latency, vendor.max_in_flight = 0.005, 0

    [run] = await sweep_once(host)
    assert run.checked == 2 and vendor.calls["read"] == reads + 2
    assert vendor.max_in_flight == 1  # one call at a time
    [run] = await sweep_once(host)  # the one left
    assert run.checked == 1 and vendor.calls["read"] == reads + 3
    [run] = await sweep_once(host)
    assert run.checked == 0 and vendor.calls["read"] == reads + 3


def test_the_round_budget_follows_the_rate_and_the_interval():
    assert calls_per_round(DoorAccessSettings()) == 900  # 60 a minute over 15 minutes
    assert calls_per_round(DoorAccessSettings(sweep_interval_seconds=30, sweep_calls_per_minute=10)) == 5
    assert calls_per_round(DoorAccessSettings(sweep_interval_seconds=1, sweep_calls_per_minute=1)) == 1
    assert calls_per_round(DoorAccessSettings(sweep_interval_seconds=0, sweep_calls_per_minute=7)) == 7
    settings = DoorAccessSettings.from_env({"IRESERVE_SWEEP_INTERVAL": "0", "IRESERVE_SWEEP_CALLS_PER_MINUTE": "5",
                                            "IRESERVE_PREARRIVAL_HOURS": "48"})
    assert (settings.sweep_interval_seconds, settings.sweep_calls_per_minute, settings.prearrival_hours) == (0, 5, 48)
    defaults = DoorAccessSettings.from_env({})
    assert (defaults.sweep_interval_seconds, defaults.sweep_calls_per_minute, defaults.prearrival_hours) == (900, 60, 24)


async def test_the_pacer_spaces_calls_by_the_rate():
    now = [100.0]
    slept = []

    async def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pace = Pacer(120, now=lambda: now[0], sleep=sleep)  # 120 a minute: half a second apart
    for _ in range(3):
        await pace()
    assert slept == [0.5, 0.5]
    now[0] += 2  # a pause longer than the spacing costs no wait
    await pace()
    assert slept == [0.5, 0.5]


# -- errors and grants to leave alone ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["transient", "permanent"])
async def test_a_failed_read_is_counted_and_changes_nothing(host, gql, clock, memory, vendor, kind):
    _, objects = await configured(gql)
    made = await active_booking(gql, objects)
    stale(clock)
    before = await grant_of(host, made["id"])
    vendor.fail("read", kind=kind)

    woken = []
    [run] = await sweep_once(host, wake=lambda: woken.append(True))
    assert (run.checked, run.drifted, run.errors) == (0, 0, 1)
    after = await grant_of(host, made["id"])
    assert (after.state, after.authorization_id, after.intent_version, after.verified_at, after.next_attempt_at,
            after.last_error, after.claimed_by, after.claimed_until) == (
        GrantState.ACTIVE, before.authorization_id, before.intent_version, before.verified_at, None, None, None, None)
    assert woken == [] and len(vendor.active_sets()) == 1

    [run] = await sweep_once(host)  # checked again in the next round
    assert (run.checked, run.errors) == (1, 0)


@pytest.mark.all_databases  # leases: conditional updates
async def test_the_sweep_never_touches_leased_due_over_or_inactive_grants(host, gql, clock, memory, vendor):
    integration_id, objects = await configured(gql)
    leased, due, checked = [await active_booking(gql, objects, future(10 + i), future(11 + i)) for i in range(3)]
    assert await claim_one(host, (await grant_of(host, leased["id"])).id, "someone-else", 3600)  # a reconcile holds it
    leased_grant = await grant_of(host, leased["id"])
    async with host.database.session() as session:
        mark_due(await session.get(AccessGrant, (await grant_of(host, due["id"])).id), clock.now() + timedelta(hours=1))
        await session.commit()
    for made in (leased, due):
        vendor.revoke_behind_our_back(made["access"][0]["authorizationId"])  # drift the sweep must not report
    stale(clock)
    reads = vendor.calls["read"]

    [run] = await sweep_once(host)
    assert (run.checked, run.drifted, run.errors) == (1, 0, 0)
    assert vendor.calls["read"] == reads + 1
    assert (await grant_of(host, checked["id"])).verified_at == clock.now()
    still = await grant_of(host, leased["id"])
    assert (still.claimed_by, still.claimed_until, still.verified_at, still.next_attempt_at) == (
        "someone-else", leased_grant.claimed_until, leased_grant.verified_at, None)

    # A stay that is over needs no door any more; an inactive integration sends nothing.
    clock.advance(days=15)
    [run] = await sweep_once(host)
    assert run.checked == 0 and vendor.calls["read"] == reads + 1
    clock.advance(days=-15)
    assert (await set_active(gql, integration_id, False))["errors"] == []
    assert await sweep_once(host) == [] and vendor.calls["read"] == reads + 1


@pytest.mark.all_databases  # a lease against a concurrent reconcile
async def test_a_trigger_while_a_set_is_read_waits_for_the_check_then_goes_first(host, gql, clock, memory, vendor):
    """The check holds a lease: the cancellation's reconcile does not run beside it, and the
    grant is due the moment the check lets go (the worker is woken)."""
    _, objects = await configured(gql)
    made = await active_booking(gql, objects)
    stale(clock)
    reading, release = asyncio.Event(), asyncio.Event()
    original = vendor.call

    async def call(operation, work):
        if operation == "read" and not release.is_set():
            reading.set()
            await release.wait()
        return await original(operation, work)

    vendor.call = call
    woken = []
    sweep = asyncio.create_task(sweep_once(host, wake=lambda: woken.append(True)))
    await asyncio.wait_for(reading.wait(), 5)
    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKING"  # its reconcile found the grant leased
    assert vendor.calls["revoke"] == 0
    release.set()
    [run] = await asyncio.wait_for(sweep, 5)
    await drain_background(host)

    assert (run.checked, run.drifted) == (1, 0) and woken == [True]
    grant = await grant_of(host, made["id"])
    assert grant.next_attempt_at is not None and grant.claimed_by is None
    await Worker(host).run_until_idle()
    assert (await grant_of(host, made["id"])).state == GrantState.REVOKED
    assert vendor.active_sets() == []


# -- rounds ----------------------------------------------------------------------------------------

async def test_each_round_writes_one_sweep_run_per_active_integration(host, gql, clock, memory, vendor):
    first_id, objects = await configured(gql)
    made = await active_booking(gql, objects)
    vendor.revoke_behind_our_back(made["access"][0]["authorizationId"])
    await active_booking(gql, objects, future(12), future(13), name="Studio 2")
    second = await create_integration(gql, name="Meeting room doors")  # active, with nothing to check
    second_id = second["integration"]["id"]
    assert (await set_mapping(gql, second_id, objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await set_active(gql, second_id))["errors"] == []
    idle = await create_integration(gql, name="Not active")  # no row for it
    assert idle["errors"] == []
    stale(clock)
    started = clock.now()

    runs = await sweep_once(host)
    stored = await sweep_runs(host)
    assert [(r.integration_id, r.checked, r.drifted, r.errors) for r in stored] == [
        (row_id(first_id), 2, 1, 0), (row_id(second_id), 0, 0, 0)]
    assert [r.id for r in runs] == [r.id for r in stored]
    assert all(r.started_at == started and r.finished_at == clock.now() for r in stored)

    clock.advance(INTERVAL)
    await sweep_once(host)
    assert len(await sweep_runs(host)) == 4


async def test_the_worker_sweeps_on_its_own_schedule_and_stops_cleanly(host, gql, clock, memory, vendor):
    """The loop, lightly: rounds every 50 ms beside the claim loop; drift found by a round is
    renewed by the worker without anyone asking; a stop ends both."""
    _, objects = await configured(gql)
    made = await active_booking(gql, objects)
    old_id = made["access"][0]["authorizationId"]
    vendor.revoke_behind_our_back(old_id)
    host.provide(dataclasses.replace(door_settings(host), sweep_interval_seconds=0.05, sweep_calls_per_minute=6000,
                                     worker_interval_seconds=0.05))
    stale(clock)

    stop = asyncio.Event()
    task = asyncio.create_task(Worker(host).run_forever(stop))
    try:
        for _ in range(200):
            if vendor.active_sets() and vendor.active_sets()[0].access.id != old_id:
                break
            await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    [live] = vendor.active_sets()
    assert live.access.id != old_id
    assert (await grant_of(host, made["id"])).authorization_id == live.access.id
    runs = await sweep_runs(host)
    assert runs and runs[0].drifted == 1 and all(r.finished_at is not None for r in runs)


async def test_an_interval_of_zero_turns_the_sweep_off(host, gql, clock, memory, vendor):
    host.provide(dataclasses.replace(door_settings(host), sweep_interval_seconds=0, worker_interval_seconds=0.01))
    _, objects = await configured(gql)
    await active_booking(gql, objects)
    stale(clock)
    stop = asyncio.Event()
    task = asyncio.create_task(Worker(host).run_forever(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert await sweep_runs(host) == []
