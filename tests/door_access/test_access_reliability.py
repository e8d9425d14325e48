"""Door access, reliably: two workers on one database, backoff and Retry-After, permanent errors,
bounded concurrency towards the lock vendor, the bounded wait of a mutation, the status change and
its access intent in one transaction, the in-process worker and leases. Against the in-memory vendor."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from addon.base.public import AFTER_COMMIT_KEY, commit, load_host
from addon.booking.public import STATUS_CHANGED, Booking, BookingStatus, CustomerData
from addon.booking.public import create_booking as create_booking_row
from addon.door_access import reconcile
from addon.door_access.backend import register_backend
from addon.door_access.call_log import call_log
from addon.door_access.leases import backoff_seconds, lease_seconds
from addon.door_access.models import AccessGrant, Desired, GrantState
from addon.door_access.reconcile import drain_background
from addon.door_access.settings import DoorAccessSettings, door_settings
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    booking,
    configured,
    create_booking,
    field_value,
    future,
    grants,
    set_active,
    set_status,
)
from tests.door_access.memory_backend import MemoryBackend
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

SET_STATUS = ("mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { booking { id }"
              " errors { code } } }")


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "0.5", "IRESERVE_RETRY_MAX": "30"}


def configure(host, **changes) -> None:
    """Change the engine's settings on a running test host."""
    host.provide(dataclasses.replace(door_settings(host), **changes))


def wait_out_backoff(host, clock) -> None:
    clock.advance(door_settings(host).retry_max_seconds + 1)


async def confirmed_while_down(host, clock, vendor, object_id, count: int) -> list[int]:
    """``count`` bookings confirmed in one transaction while the vendor fails every call: the
    after-commit reconcile of each meets the failure, so every grant stays PENDING; then the
    vendor is back and the backoff over."""
    vendor.fail(kind="transient", times=100_000)
    start = clock.now().replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        ids = []
        for n in range(count):
            row = await create_booking_row(
                host, session, object_id=object_id, start=start, end=start + timedelta(days=2), status="confirmed",
                customer=CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com", language="de"),
                reference=f"BULK-{n:04d}")
            ids.append(row.id)
        await commit(session)
    vendor.clear_faults()
    rows = await grants(host)
    assert len(rows) == count and {g.state for g in rows} == {GrantState.PENDING}
    assert vendor.sets == {}
    wait_out_backoff(host, clock)
    return ids


def second_process(host, clock, vendor):
    """Another process on the same database: its own host, engine and connection pool, talking to
    the same vendor."""
    other = load_host(environ=host.environ, clock=clock)
    register_backend(other, MemoryBackend(vendor))
    return other


# -- two workers, one database -------------------------------------------------------------------

@pytest.mark.all_databases
async def test_two_workers_create_each_grant_once(host, gql, clock, memory, vendor):
    configure(host, worker_batch_size=10)
    _, objects = await configured(gql)
    count = 60 if host.database.is_sqlite else 200
    booking_ids = await confirmed_while_down(host, clock, vendor, objects["Studio 1"], count)
    assert {g.attempts for g in await grants(host)} == {1}  # so each worker's attempt also looks up first

    other = second_process(host, clock, vendor)
    configure(other, worker_batch_size=10)
    try:
        # Both connection pools warm, so the two first claims really meet at the database.
        for each in (host, other):
            async with each.database.session() as session:
                await session.execute(select(1))
        first, second = Worker(host, "worker-one"), Worker(other, "worker-two")
        done_first, done_second = await asyncio.gather(first.run_until_idle(), second.run_until_idle())
        await call_log(other).flush()
    finally:
        await other.database.dispose()

    assert done_first > 0 and done_second > 0, (done_first, done_second)  # both took a share of the claims
    assert done_first + done_second == count  # and no grant was claimed twice
    made = list(vendor.sets.values())
    assert len(made) == count
    assert all(s.access.active for s in made)
    assert len({s.access.external_reference for s in made}) == count
    assert vendor.calls["create"] == count
    rows = await grants(host)
    assert {g.state for g in rows} == {GrantState.ACTIVE}
    assert {g.booking_id for g in rows} == set(booking_ids)
    assert {g.authorization_id for g in rows} == set(vendor.sets)
    assert all(g.claimed_by is None and g.next_attempt_at is None for g in rows)


# -- transient errors: exponential backoff with jitter, Retry-After ------------------------------

def test_backoff_is_exponential_with_jitter_and_capped():
    settings = DoorAccessSettings(retry_base_seconds=2.0, retry_max_seconds=60.0)
    host = SimpleNamespace(settings_of=lambda kind: settings)
    for attempts, ceiling in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (30, 60)):
        samples = [backoff_seconds(host, attempts) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), (attempts, min(samples), max(samples))
        assert len(set(samples)) > 150  # jittered: workers that failed together do not retry together
    # Retry-After wins when it is longer, and never shortens the backoff when it is shorter.
    assert backoff_seconds(host, 1, retry_after=300) == 300
    assert 16 <= backoff_seconds(host, 5, retry_after=1) <= 32


async def test_transient_errors_back_off_exponentially(host, gql, clock, memory, vendor):
    configure(host, retry_base_seconds=10.0, retry_max_seconds=1000.0)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail(kind="transient", times=1000)
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING" and access["attempts"] == 1
    waits = []
    for attempt in range(1, 5):
        [grant] = await grants(host)
        assert grant.state == GrantState.PENDING and grant.attempts == attempt
        assert "503" in grant.last_error
        wait = (grant.next_attempt_at - grant.updated_at).total_seconds()
        waits.append(wait)
        clock.advance(wait - 0.5)
        assert await Worker(host).run_until_idle() == 0  # not due before the backoff is over
        clock.advance(0.5)
        assert await Worker(host).run_once() == 1
    for attempt, wait in enumerate(waits, start=1):
        ceiling = 10.0 * 2 ** (attempt - 1)
        assert ceiling / 2 - 0.01 <= wait <= ceiling + 0.01, waits
    vendor.clear_faults()
    clock.advance(1000)
    await Worker(host).run_until_idle()
    [grant] = await grants(host)
    assert grant.state == GrantState.ACTIVE and grant.attempts == 0 and grant.last_error is None
    assert len(vendor.active_sets()) == 1


async def test_retry_after_makes_the_grant_due_only_after_that_time(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="transient", status=429, retry_after=90)
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING" and "429" in access["lastError"]
    [grant] = await grants(host)
    wait = (grant.next_attempt_at - grant.updated_at).total_seconds()
    assert 89.99 <= wait <= 90.01  # Retry-After, although the configured backoff is at most 30 s

    assert await Worker(host).run_until_idle() == 0
    clock.advance(89)
    assert await Worker(host).run_until_idle() == 0  # a second early
    clock.advance(1)
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    [only] = vendor.sets.values()
    assert after["access"][0]["state"] == "ACTIVE"
    assert after["access"][0]["authorizationId"] == only.access.id == field_value(after)


# -- permanent errors ----------------------------------------------------------------------------

async def test_permanent_error_fails_with_the_vendors_message(host, gql, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="permanent", status=422, message="the window starts in the past")
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "FAILED"
    assert "The vendor refused create (422): the window starts in the past" in access["lastError"]
    assert access["attempts"] == 1 and access["nextAttemptAt"] is None
    clock.advance(3600)
    assert await Worker(host).run_until_idle() == 0  # FAILED waits for a change or an admin
    assert vendor.sets == {}
    assert vendor.calls["create"] == 1


# -- bounded concurrency -------------------------------------------------------------------------

@pytest.mark.all_databases
async def test_worker_keeps_at_most_the_backends_concurrency_calls_in_flight(host, gql, clock, memory, vendor):
    memory.concurrency = 2  # before the first reconcile sizes the slots
    _, objects = await configured(gql)
    await confirmed_while_down(host, clock, vendor, objects["Studio 1"], 10)
    vendor.calls.clear()
    # Long enough that two creates overlap however slowly the database work between them goes
    # (with the shared door list, a grant's only call is its create).
    vendor.latency = 0.1
    vendor.max_in_flight = 0
    assert await Worker(host).run_until_idle() == 10
    # One door list shared by all (the door directory) and a create for each grant; no look-up
    # by reference: no earlier attempt sent a create.
    assert vendor.calls == {"list_doors": 1, "create": 10}
    assert vendor.max_in_flight == 2  # bounded, and the bound is used
    assert {g.state for g in await grants(host)} == {GrantState.ACTIVE}
    assert len(vendor.active_sets()) == 10


@pytest.mark.all_databases
async def test_concurrent_mutations_share_the_bound(host, gql, memory, vendor):
    memory.concurrency = 2
    _, objects = await configured(gql)
    made = [await create_booking(gql, objects["Studio 1"], future(), future(11)) for _ in range(6)]
    vendor.latency = 0.02
    vendor.max_in_flight = 0
    answers = await asyncio.gather(*(set_status(gql, b["id"], "confirmed") for b in made))
    assert vendor.max_in_flight <= 2
    assert {a["access"][0]["state"] for a in answers} == {"ACTIVE"}
    assert len(vendor.active_sets()) == 6


# -- the bounded wait of a mutation --------------------------------------------------------------

async def test_slow_vendor_answers_pending_then_finishes_in_background(host, gql, memory, vendor):
    configure(host, reconcile_wait_seconds=0.05)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.latency = 0.2  # a reconcile makes two calls (doors, create): 0.4 s

    started = time.monotonic()
    answer = await set_status(gql, made["id"], "confirmed")
    elapsed = time.monotonic() - started
    assert answer["status"]["code"] == "confirmed"
    assert answer["access"][0]["state"] == "PENDING"
    assert elapsed < 0.35, elapsed  # the answer did not wait for the vendor
    assert vendor.sets == {}  # the create has not happened yet

    await drain_background(host)
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert await Worker(host).run_until_idle() == 0  # nothing left for the worker
    [only] = vendor.sets.values()
    assert after["access"][0]["authorizationId"] == only.access.id == field_value(after)
    assert vendor.calls["create"] == 1


# -- one transaction -----------------------------------------------------------------------------

@pytest.mark.all_databases
async def test_failing_handler_after_door_access_means_nothing_is_sent(host, gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    seen_in_transaction = []

    async def later_handler(session, booking, old_status, new_status, actor):
        # Runs after door access's handler, inside the same transaction: its intent is there...
        rows = await session.execute(select(AccessGrant).where(AccessGrant.booking_id == booking.id))
        seen_in_transaction.extend((g.desired, g.state) for g in rows.scalars())
        raise RuntimeError("another addon refuses the change")

    host.events.subscribe(STATUS_CHANGED, later_handler)
    before = dict(vendor.calls)
    body = await gql.raw(SET_STATUS, {"i": {"bookingId": made["id"], "status": "confirmed"}})
    assert body.get("errors"), body
    assert seen_in_transaction == [(Desired.ACTIVE, GrantState.PENDING)]
    # ...and it went with the failed change: no status change, no grant, no call to the vendor.
    await drain_background(host)
    assert (await booking(gql, made["id"]))["status"]["code"] == "option"
    assert await grants(host) == []
    assert dict(vendor.calls) == before
    assert vendor.sets == {}


@pytest.mark.all_databases
async def test_failing_commit_means_nothing_is_sent(host, gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))

    def refuse(session):
        if session.info.get(AFTER_COMMIT_KEY):  # the transaction that carries an access intent
            raise RuntimeError("the database refused the commit")

    before = dict(vendor.calls)
    event.listen(Session, "before_commit", refuse)
    try:
        body = await gql.raw(SET_STATUS, {"i": {"bookingId": made["id"], "status": "confirmed"}})
    finally:
        event.remove(Session, "before_commit", refuse)
    assert body.get("errors"), body
    await drain_background(host)
    assert (await booking(gql, made["id"]))["status"]["code"] == "option"
    assert await grants(host) == []
    assert dict(vendor.calls) == before


@pytest.mark.all_databases
async def test_grant_row_commits_with_the_status_change(host, gql, memory, vendor):
    configure(host, reconcile_wait_seconds=0)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    # The vendor holds every call until released: no reconcile can finish meanwhile.
    released = asyncio.Event()
    answer_vendor = vendor.call

    async def held(operation, work):
        await released.wait()
        return await answer_vendor(operation, work)

    vendor.call = held
    answer = await set_status(gql, made["id"], "confirmed")
    assert answer["access"][0]["state"] == "PENDING"
    # Read before any reconcile finished: the grant is there, committed with the new status.
    async with host.database.session() as session:
        status = (await session.execute(
            select(BookingStatus.code).join(Booking, Booking.status_id == BookingStatus.id)
            .where(Booking.id == row_id(made["id"])))).scalar_one()
        [grant] = (await session.execute(select(AccessGrant))).scalars().all()
    assert status == "confirmed"
    assert (grant.booking_id, grant.desired, grant.state) == (row_id(made["id"]), Desired.ACTIVE, GrantState.PENDING)
    assert grant.authorization_id is None
    assert vendor.sets == {}

    released.set()
    await drain_background(host)
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert len(vendor.active_sets()) == 1


# -- the worker in-process with the app ----------------------------------------------------------

async def pending_after_outage(host, gql, clock, vendor) -> str:
    """A confirmed booking whose grant is PENDING and due; the vendor is back."""
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail(kind="transient", times=1000)
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    vendor.clear_faults()
    wait_out_backoff(host, clock)
    return made["id"]


async def test_worker_runs_in_process_with_the_app(host, gql, clock, memory, vendor):
    booking_id = await pending_after_outage(host, gql, clock, vendor)
    configure(host, worker_enabled=True, worker_interval_seconds=0.05)
    state = None
    async with host.running():
        assert isinstance(host.service(Worker), Worker)
        for _ in range(100):  # up to 5 s of real time: the worker runs on its own task
            state = (await booking(gql, booking_id))["access"][0]["state"]
            if state == "ACTIVE":
                break
            await asyncio.sleep(0.05)
    assert state == "ACTIVE"
    assert host.service(Worker) is None  # stopped with the app
    assert len(vendor.active_sets()) == 1


async def test_worker_does_not_start_when_disabled(host, gql, clock, memory, vendor):
    await pending_after_outage(host, gql, clock, vendor)
    configure(host, worker_enabled=False, worker_interval_seconds=0.02)
    async with host.running():
        assert host.service(Worker) is None
        await asyncio.sleep(0.2)  # ten intervals of a worker, had one started
    [grant] = await grants(host)
    assert grant.state == GrantState.PENDING
    assert vendor.sets == {}


# -- adoption meets a change ---------------------------------------------------------------------

async def test_lost_create_answer_then_date_change_gives_the_new_window(host, gql, clock, memory, vendor):
    """The set made by an attempt whose answer was lost has the old window; after a date change
    it must not be adopted as if it had the new one."""
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    vendor.fail("create", kind="lost")
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    [lost] = vendor.active_sets()

    new_end = future(13, 10)
    data = await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } } }",
                     {"i": {"id": made["id"], "end": new_end}})
    assert data["updateBooking"]["errors"] == []
    wait_out_backoff(host, clock)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    access = after["access"][0]
    assert access["state"] == "ACTIVE"
    live = vendor.active_sets()
    assert [s.access.id for s in live] == [access["authorizationId"]] == [field_value(after)]
    assert live[0].access.valid_to == datetime.fromisoformat(new_end).astimezone(timezone.utc)
    assert not vendor.sets[lost.access.id].access.active
    assert access["authorizationId"] != lost.access.id


# -- deactivation parks, reactivation finishes ---------------------------------------------------

async def test_pending_grant_finishes_after_the_integration_is_active_again(host, gql, clock, memory, vendor):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail(kind="transient", times=1000)
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    vendor.clear_faults()
    assert (await set_active(gql, integration_id, False))["errors"] == []
    before = dict(vendor.calls)
    wait_out_backoff(host, clock)
    assert await Worker(host).run_until_idle() == 1
    [grant] = await grants(host)
    assert grant.state == GrantState.PENDING and "not active" in grant.last_error
    assert grant.next_attempt_at is None  # at rest while inactive: activation looks at it again
    assert dict(vendor.calls) == before  # nothing sent while inactive

    assert (await set_active(gql, integration_id, True))["errors"] == []
    wait_out_backoff(host, clock)
    await Worker(host).run_until_idle()
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"
    assert len(vendor.active_sets()) == 1


# -- a lease runs from the start of the work -----------------------------------------------------

@pytest.mark.all_databases
async def test_a_claim_that_waited_past_its_lease_is_left_to_the_worker_that_took_it_over(
        host, gql, clock, memory, vendor, monkeypatch):
    """With the vendor slow, claimed grants wait for a free slot; if their lease runs out meanwhile
    another worker may take them over, and the first must then not act on them as well."""
    memory.concurrency = 1
    configure(host, worker_batch_size=3)
    _, objects = await configured(gql)
    start = clock.now().replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        for n in range(3):
            await create_booking_row(host, session, object_id=objects["Studio 1"], start=start,
                                     end=start + timedelta(days=2), status="confirmed", reference=f"LEASE-{n}",
                                     customer=CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com"))
        await session.commit()  # a plain commit: no after-commit reconcile, the grants were never tried

    claim = work = lease_seconds(host)  # a claim and a started attempt hold the same lease
    other = second_process(host, clock, vendor)
    connect = memory.connect
    taken_over, started_late = [], []

    async def slow_to_start(acting_host, session, integration, booking_id=None):
        if not started_late:
            # The first grant's work starts late: its claim waited (for the slot) most of a lease.
            started_late.append(clock.advance(claim - work / 2))
        return await connect(acting_host, session, integration, booking_id)

    monkeypatch.setattr(memory, "connect", slow_to_start)
    original_act = reconcile._act

    async def act(acting_host, snapshot, worker_id, backend):
        if snapshot.grant.claimed_by == "slow" and not taken_over:
            # While the slow worker is busy with its first grant, the claims of the two still
            # waiting run out (its own lease was renewed when its work started)...
            clock.advance(work / 2 + 1)
            # ...and another worker takes them over and finishes them.
            taken_over.append(await Worker(other, "quick").run_until_idle())
        return await original_act(acting_host, snapshot, worker_id, backend)

    monkeypatch.setattr(reconcile, "_act", act)
    try:
        assert await Worker(host, "slow").run_until_idle() == 3
        await call_log(other).flush()
    finally:
        await other.database.dispose()
    assert taken_over == [2]
    made = list(vendor.sets.values())
    assert len(made) == 3 and all(s.access.active for s in made)
    assert vendor.calls["create"] == 3
    rows = await grants(host)
    assert {g.state for g in rows} == {GrantState.ACTIVE}
    assert {g.authorization_id for g in rows} == set(vendor.sets)
