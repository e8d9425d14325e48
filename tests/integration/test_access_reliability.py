"""Door access, reliably: two workers on one database, backoff and Retry-After, permanent errors,
bounded concurrency towards Resivo, the bounded wait of a mutation, and the status change and its
access intent in one transaction. Against the sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from addon.base.db import utcnow
from addon.base.events import AFTER_COMMIT_KEY, commit
from addon.base.host import load_host
from addon.booking.models import Booking, BookingStatus
from addon.booking.services import CustomerData, create_booking as create_booking_row
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CONNECTOR_KEY, CallLogger
from addon.resivo.models import GrantState, ResivoAccessGrant
from addon.resivo.reconcile import SEMAPHORE_KEY, backoff_seconds, drain_background
from addon.resivo.worker import WORKER_KEY, Worker
from tests.integration.helpers import booking, configured, create_booking, field_value, sandbox_sets, set_status

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides():
    return {"reconcile_wait_seconds": 10.0, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05,
            "resivo_read_timeout": 1.0, "resivo_connect_timeout": 0.5}


def future(days=10, hour=15):
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00+02:00"


def configure(host, **changes) -> None:
    """Change settings of a running test host (before the semaphore is made, for concurrency)."""
    host.settings = dataclasses.replace(host.settings, **changes)
    host.services.pop(SEMAPHORE_KEY, None)


async def grants(host) -> list[ResivoAccessGrant]:
    async with host.database.session() as session:
        return list((await session.execute(select(ResivoAccessGrant).order_by(ResivoAccessGrant.id))).scalars().all())


async def make_due(host) -> None:
    """What waiting out the backoff would do: every grant that is waiting becomes due now."""
    async with host.database.session() as session:
        await session.execute(update(ResivoAccessGrant).where(ResivoAccessGrant.next_attempt_at.is_not(None))
                              .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()


async def stats(sandbox) -> dict:
    return (await sandbox.get("/_sandbox/stats")).json()


async def confirmed_while_down(host, sandbox, object_id, count: int) -> list[int]:
    """``count`` bookings confirmed in one transaction while Resivo answers 503 to everything:
    the after-commit reconcile of each meets the 503, so every grant stays PENDING."""
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 100_000})
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        ids = []
        for n in range(count):
            row = await create_booking_row(
                host, session, object_id=object_id, start=start, end=start + timedelta(days=2), status="confirmed",
                customer=CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com", language="de"),
                reference=f"BULK-{n:04d}")
            ids.append(row.id)
        await commit(session)
    await sandbox.delete("/_sandbox/faults")
    rows = await grants(host)
    assert len(rows) == count and {g.state for g in rows} == {GrantState.PENDING}
    assert await sandbox_sets(sandbox) == []
    return ids


class TrackingTransport(httpx.AsyncBaseTransport):
    """Wraps the sandbox transport and records how many requests are in flight at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.in_flight = 0
        self.max_in_flight = 0
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.requests += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


def sandbox_connector(host, sandbox_app, transport=None) -> ResivoConnector:
    connector = ResivoConnector(
        connect_timeout=host.settings.resivo_connect_timeout,
        read_timeout=host.settings.resivo_read_timeout,
        transport=transport or httpx.ASGITransport(app=sandbox_app),
        on_call=CallLogger(host),
    )
    host.services[CONNECTOR_KEY] = connector
    return connector


# -- scenario 10: two workers, one database ------------------------------------------------------

async def _two_workers(host, gql, connector, sandbox, sandbox_app, count: int) -> None:
    configure(host, worker_batch_size=10)
    _, objects = await configured(gql)
    booking_ids = await confirmed_while_down(host, sandbox, objects["Studio 1"], count)
    assert {g.attempts for g in await grants(host)} == {1}  # so each worker's attempt also looks up first
    await make_due(host)

    # A second process: its own Host, engine and connection pool, on the same database.
    other = load_host(host.settings)
    other_connector = sandbox_connector(other, sandbox_app)
    try:
        # Both connection pools warm, so the two first claims really meet at the database.
        for each in (host, other):
            async with each.database.session() as session:
                await session.execute(select(1))
        first, second = Worker(host, "worker-one"), Worker(other, "worker-two")
        done_first, done_second = await asyncio.gather(first.run_until_idle(), second.run_until_idle())
        await other_connector.on_call.flush()
    finally:
        await other_connector.aclose()
        await other.database.dispose()

    assert done_first > 0 and done_second > 0, (done_first, done_second)  # both took a share of the claims
    assert done_first + done_second == count  # and no grant was claimed twice
    made = await sandbox_sets(sandbox)
    assert len(made) == count
    assert {s["status"] for s in made} == {"active"}
    assert len({s["externalReference"] for s in made}) == count
    assert (await stats(sandbox))["calls"]["create_remote_access"] == count
    rows = await grants(host)
    assert {g.state for g in rows} == {GrantState.ACTIVE}
    assert {g.booking_id for g in rows} == set(booking_ids)
    assert {g.authorization_id for g in rows} == {s["id"] for s in made}
    assert all(g.claimed_by is None and g.next_attempt_at is None for g in rows)


async def test_two_workers_create_each_grant_once(host, gql, connector, sandbox, sandbox_app):
    # Scenario 10 on PostgreSQL (claims with FOR UPDATE SKIP LOCKED, 200 grants); on SQLite the
    # claims are serialized by BEGIN IMMEDIATE, checked on fewer grants to keep the run short.
    await _two_workers(host, gql, connector, sandbox, sandbox_app, 60 if host.database.is_sqlite else 200)


# -- transient errors: exponential backoff with jitter, Retry-After ------------------------------

def test_backoff_is_exponential_with_jitter_and_capped():
    host = SimpleNamespace(settings=SimpleNamespace(retry_base_seconds=2.0, retry_max_seconds=60.0))
    for attempts, ceiling in ((1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (30, 60)):
        samples = [backoff_seconds(host, attempts) for _ in range(200)]
        assert all(ceiling / 2 <= s <= ceiling for s in samples), (attempts, min(samples), max(samples))
        assert len(set(samples)) > 150  # jittered: workers that failed together do not retry together
    # Retry-After wins when it is longer, and never shortens the backoff when it is shorter.
    assert backoff_seconds(host, 1, retry_after=300) == 300
    assert 16 <= backoff_seconds(host, 5, retry_after=1) <= 32


async def test_transient_errors_back_off_exponentially(host, gql, connector, sandbox):
    configure(host, retry_base_seconds=10.0, retry_max_seconds=1000.0)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING" and access["attempts"] == 1
    waits = []
    for attempt in range(1, 5):
        [grant] = await grants(host)
        assert grant.state == GrantState.PENDING and grant.attempts == attempt
        assert "503" in grant.last_error
        waits.append((grant.next_attempt_at - grant.updated_at).total_seconds())
        assert await Worker(host).run_until_idle() == 0  # not due before the backoff is over
        await make_due(host)
        assert await Worker(host).run_once() == 1
    for attempt, wait in enumerate(waits, start=1):
        ceiling = 10.0 * 2 ** (attempt - 1)
        assert ceiling / 2 - 0.1 <= wait <= ceiling + 0.1, waits
    await sandbox.delete("/_sandbox/faults")
    await make_due(host)
    await Worker(host).run_until_idle()
    [grant] = await grants(host)
    assert grant.state == GrantState.ACTIVE and grant.attempts == 0 and grant.last_error is None
    assert len(await sandbox_sets(sandbox)) == 1


async def test_retry_after_makes_the_grant_due_only_after_that_time(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 429, "count": 1,
                                                 "operation": "create_remote_access", "retryAfter": 90})
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING" and "429" in access["lastError"]
    [grant] = await grants(host)
    wait = (grant.next_attempt_at - grant.updated_at).total_seconds()
    assert 89 <= wait <= 91  # Retry-After, although the configured backoff is a fraction of a second

    assert await Worker(host).run_until_idle() == 0
    # Ninety seconds later (moved in the database rather than waited for):
    async with host.database.session() as session:
        await session.execute(update(ResivoAccessGrant).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    [only] = await sandbox_sets(sandbox)
    assert after["access"][0]["state"] == "ACTIVE"
    assert after["access"][0]["authorizationId"] == only["id"] == field_value(after)


# -- permanent errors ----------------------------------------------------------------------------

async def test_permanent_error_fails_with_resivos_message(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 422, "count": 1,
                                                 "operation": "create_remote_access"})
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "FAILED"
    assert "sandbox fault: 422 for create_remote_access" in access["lastError"]
    assert access["attempts"] == 1 and access["nextAttemptAt"] is None
    assert await Worker(host).run_until_idle() == 0  # FAILED waits for a change or an admin
    assert await sandbox_sets(sandbox) == []
    assert (await stats(sandbox))["calls"]["create_remote_access"] == 1


async def test_resivo_refusing_the_window_fails_with_its_message(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(2), future(3))
    # Resivo's clock is a month ahead: for it the booking has ended and it refuses the window.
    await sandbox.post("/_sandbox/clock", json={"advanceSeconds": 30 * 86400})
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "FAILED"
    assert "422" in access["lastError"] and "is not in the future" in access["lastError"]
    assert access["attempts"] == 1
    assert await sandbox_sets(sandbox) == []


# -- bounded concurrency -------------------------------------------------------------------------

async def test_worker_keeps_at_most_resivo_concurrency_calls_in_flight(host, gql, sandbox, sandbox_app):
    configure(host, resivo_concurrency=2)
    tracking = TrackingTransport(httpx.ASGITransport(app=sandbox_app))
    connector = sandbox_connector(host, sandbox_app, tracking)
    try:
        _, objects = await configured(gql)
        await confirmed_while_down(host, sandbox, objects["Studio 1"], 10)
        await make_due(host)
        await sandbox.post("/_sandbox/latency", json={"ms": 50})
        tracking.max_in_flight = tracking.requests = 0
        assert await Worker(host).run_until_idle() == 10
    finally:
        await connector.aclose()
    assert tracking.requests >= 10 * 3  # lookup, doors and create for each grant
    assert tracking.max_in_flight == 2  # bounded, and the bound is used
    assert {g.state for g in await grants(host)} == {GrantState.ACTIVE}
    assert len(await sandbox_sets(sandbox)) == 10


async def test_concurrent_mutations_share_the_bound(host, gql, sandbox, sandbox_app):
    configure(host, resivo_concurrency=2)
    tracking = TrackingTransport(httpx.ASGITransport(app=sandbox_app))
    connector = sandbox_connector(host, sandbox_app, tracking)
    try:
        _, objects = await configured(gql)
        made = [await create_booking(gql, objects["Studio 1"], future(), future(11)) for _ in range(6)]
        await sandbox.post("/_sandbox/latency", json={"ms": 50})
        tracking.max_in_flight = 0
        answers = await asyncio.gather(*(set_status(gql, b["id"], "confirmed") for b in made))
    finally:
        await connector.aclose()
    assert tracking.max_in_flight <= 2
    assert {a["access"][0]["state"] for a in answers} == {"ACTIVE"}
    assert len(await sandbox_sets(sandbox)) == 6


# -- the bounded wait of a mutation --------------------------------------------------------------

async def test_slow_resivo_answers_pending_then_finishes_in_background(host, gql, connector, sandbox):
    configure(host, reconcile_wait_seconds=0.2)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/latency", json={"ms": 500})  # a reconcile makes four calls: 2 s

    started = time.monotonic()
    answer = await set_status(gql, made["id"], "confirmed")
    elapsed = time.monotonic() - started
    assert answer["status"]["code"] == "confirmed"
    assert answer["access"][0]["state"] == "PENDING"
    assert elapsed < 1.5, elapsed  # the answer did not wait for Resivo
    assert await sandbox_sets(sandbox) == []  # the create has not happened yet

    await drain_background(host)
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert await Worker(host).run_until_idle() == 0  # nothing left for the worker
    [only] = await sandbox_sets(sandbox)
    assert after["access"][0]["authorizationId"] == only["id"] == field_value(after)
    assert (await stats(sandbox))["calls"]["create_remote_access"] == 1


# -- one transaction -----------------------------------------------------------------------------

async def test_failing_handler_after_resivos_means_nothing_is_sent(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    seen_in_transaction = []

    async def later_handler(session, booking, old_status, new_status, actor):
        # Runs after the resivo handler, inside the same transaction: its intent is there...
        rows = (await session.execute(select(ResivoAccessGrant).where(ResivoAccessGrant.booking_id == booking.id)))
        seen_in_transaction.extend((g.desired, g.state) for g in rows.scalars())
        raise RuntimeError("another addon refuses the change")

    host.events.subscribe("booking.status_changed", later_handler)
    before = await stats(sandbox)
    body = await gql.raw(
        "mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { booking { id } errors { code } } }",
        {"i": {"bookingId": made["id"], "status": "confirmed"}})
    assert body.get("errors"), body
    assert seen_in_transaction == [("active", GrantState.PENDING)]
    # ...and it went with the failed change: no status change, no grant, no call to Resivo.
    await drain_background(host)
    assert (await booking(gql, made["id"]))["status"]["code"] == "option"
    assert await grants(host) == []
    assert await stats(sandbox) == before
    assert await sandbox_sets(sandbox) == []


async def test_failing_commit_means_nothing_is_sent(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))

    def refuse(session):
        if session.info.get(AFTER_COMMIT_KEY):  # the transaction that carries an access intent
            raise RuntimeError("the database refused the commit")

    before = await stats(sandbox)
    event.listen(Session, "before_commit", refuse)
    try:
        body = await gql.raw(
            "mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { booking { id } errors { code } } }",
            {"i": {"bookingId": made["id"], "status": "confirmed"}})
    finally:
        event.remove(Session, "before_commit", refuse)
    assert body.get("errors"), body
    await drain_background(host)
    assert (await booking(gql, made["id"]))["status"]["code"] == "option"
    assert await grants(host) == []
    assert await stats(sandbox) == before


async def test_grant_row_commits_with_the_status_change(host, gql, connector, sandbox):
    configure(host, reconcile_wait_seconds=0)
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "hang", "seconds": 3, "count": 1})
    answer = await set_status(gql, made["id"], "confirmed")
    assert answer["access"][0]["state"] == "PENDING"
    # Read before any reconcile finished: the grant is there, committed with the new status.
    async with host.database.session() as session:
        status = (await session.execute(
            select(BookingStatus.code).join(Booking, Booking.status_id == BookingStatus.id)
            .where(Booking.id == int(made["id"])))).scalar_one()
        [grant] = (await session.execute(select(ResivoAccessGrant))).scalars().all()
    assert status == "confirmed"
    assert (grant.booking_id, grant.desired, grant.state) == (int(made["id"]), "active", GrantState.PENDING)
    assert grant.authorization_id is None
    assert await sandbox_sets(sandbox) == []

    await drain_background(host)  # the hung call times out: a transient error, retried by the worker
    await make_due(host)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert len(await sandbox_sets(sandbox)) == 1


# -- the worker: in-process with the app, and as its own command ---------------------------------

async def test_worker_runs_in_process_with_the_app(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    await sandbox.delete("/_sandbox/faults")
    await make_due(host)

    configure(host, worker_enabled=True, worker_interval_seconds=0.1)
    state = None
    async with host.running():
        assert isinstance(host.services.get(WORKER_KEY), Worker)
        for _ in range(50):  # up to 5 s, i.e. many worker intervals
            state = (await booking(gql, made["id"]))["access"][0]["state"]
            if state == "ACTIVE":
                break
            await asyncio.sleep(0.1)
    assert state == "ACTIVE"
    assert len(await sandbox_sets(sandbox)) == 1


async def test_worker_does_not_start_when_disabled(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    await set_status(gql, made["id"], "confirmed")
    await sandbox.delete("/_sandbox/faults")
    await make_due(host)
    configure(host, worker_enabled=False, worker_interval_seconds=0.05)
    async with host.running():
        await asyncio.sleep(0.3)
        assert WORKER_KEY not in host.services
    [grant] = await grants(host)
    assert grant.state == GrantState.PENDING


def test_ireserve_worker_runs_until_sigterm(tmp_path, sqlite_template):
    import shutil
    import signal

    database = tmp_path / "worker.sqlite3"
    shutil.copyfile(sqlite_template, database)
    env = dict(os.environ, IRESERVE_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{database}",
               IRESERVE_WORKER_INTERVAL="0.1", IRESERVE_LOG_LEVEL="INFO")
    ireserve = Path(sys.executable).with_name("ireserve")
    process = subprocess.Popen([str(ireserve), "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    output = ""
    try:
        deadline = time.monotonic() + 30
        while "started" not in output and time.monotonic() < deadline and process.poll() is None:
            output += process.stdout.readline()
        assert "access worker" in output and "started" in output, output
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output + rest
    assert "stopped" in rest


def test_ireserve_worker_help(tmp_path):
    env = dict(os.environ, IRESERVE_VAR_DIR=str(tmp_path))
    ireserve = Path(sys.executable).with_name("ireserve")
    command = [str(ireserve)] if ireserve.exists() else [sys.executable, "-m", "addon.base.cli"]
    result = subprocess.run(command + ["worker", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout and "worker" in result.stdout


# -- adoption meets a change ---------------------------------------------------------------------

async def test_lost_create_answer_then_date_change_gives_the_new_window(host, gql, connector, sandbox):
    """The set made by an attempt whose answer was lost has the old window; after a date change
    it must not be adopted as if it had the new one."""
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    await sandbox.post("/_sandbox/faults", json={"mode": "drop_answer", "count": 1, "operation": "create_remote_access"})
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    [lost] = await sandbox_sets(sandbox)

    new_end = future(13, 10)
    data = await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } booking {"
                     " fields { code value } access { state authorizationId validTo } } } }",
                     {"i": {"id": made["id"], "end": new_end}})
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    access = after["access"][0]
    assert data["updateBooking"]["errors"] == [] and access["state"] == "ACTIVE"
    expected_end = datetime.fromisoformat(new_end).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    sets = {s["id"]: s for s in await sandbox_sets(sandbox)}
    live = [s for s in sets.values() if s["status"] == "active"]
    assert [s["id"] for s in live] == [access["authorizationId"]] == [field_value(after)]
    assert live[0]["restrictions"]["validTo"] == expected_end
    assert sets[lost["id"]]["status"] == "revoked"
    assert access["authorizationId"] != lost["id"]


# -- deactivation parks, reactivation finishes ---------------------------------------------------

async def test_pending_grant_finishes_after_the_integration_is_active_again(host, gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    await sandbox.delete("/_sandbox/faults")
    await gql("mutation($i: SetResivoIntegrationActiveInput!) { setResivoIntegrationActive(input: $i) { errors { message } } }",
              {"i": {"integrationId": integration_id, "active": False}})
    before = await stats(sandbox)
    await make_due(host)
    assert await Worker(host).run_until_idle() == 1
    [grant] = await grants(host)
    assert grant.state == GrantState.PENDING and "not active" in grant.last_error
    assert grant.next_attempt_at is not None  # parked, not forgotten
    assert (await stats(sandbox))["calls"] == before["calls"]  # nothing sent while inactive

    await gql("mutation($i: SetResivoIntegrationActiveInput!) { setResivoIntegrationActive(input: $i) { errors { message } } }",
              {"i": {"integrationId": integration_id, "active": True}})
    await make_due(host)
    await Worker(host).run_until_idle()
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"
    assert len(await sandbox_sets(sandbox)) == 1


# -- a lease runs from the start of the work -----------------------------------------------------

async def test_a_claim_that_waited_past_its_lease_is_left_to_the_worker_that_took_it_over(
        host, gql, connector, sandbox, sandbox_app, monkeypatch):
    """With Resivo slow, claimed grants wait for a free slot; if their lease runs out meanwhile
    another worker may take them over, and the first must then not act on them as well."""
    from addon.resivo import reconcile

    configure(host, resivo_concurrency=1, worker_batch_size=3)
    _, objects = await configured(gql)
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        for n in range(3):
            await create_booking_row(host, session, object_id=objects["Studio 1"], start=start,
                                     end=start + timedelta(days=2), status="confirmed", reference=f"LEASE-{n}",
                                     customer=CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com"))
        await session.commit()  # a plain commit: no after-commit reconcile, the grants were never tried

    other = load_host(host.settings)
    other_connector = sandbox_connector(other, sandbox_app)
    original_act = reconcile._act
    taken_over = []

    async def act(acting_host, snapshot):
        if acting_host is host and not taken_over:
            # While the slow worker is busy with its first grant, the leases of the two still
            # waiting run out...
            async with host.database.session() as session:
                await session.execute(
                    update(ResivoAccessGrant)
                    .where(ResivoAccessGrant.claimed_by == "slow", ResivoAccessGrant.id != snapshot.grant.id)
                    .values(claimed_until=utcnow() - timedelta(seconds=1)))
                await session.commit()
            # ...and another worker takes them over and finishes them.
            taken_over.append(await Worker(other, "quick").run_until_idle())
        return await original_act(acting_host, snapshot)

    monkeypatch.setattr(reconcile, "_act", act)
    try:
        assert await Worker(host, "slow").run_until_idle() == 3
        await other_connector.on_call.flush()
    finally:
        await other_connector.aclose()
        await other.database.dispose()
    assert taken_over == [2]
    made = await sandbox_sets(sandbox)
    assert len(made) == 3 and {s["status"] for s in made} == {"active"}
    rows = await grants(host)
    assert {g.state for g in rows} == {GrantState.ACTIVE}
    assert {g.authorization_id for g in rows} == {s["id"] for s in made}
