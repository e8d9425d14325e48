"""Readers never make writers wait: the GraphQL request reads in deferred transactions (SQLite),
only a mutation's own transaction takes the write lock, and a lock wait that times out is a coded,
retryable error (DATABASE_BUSY), never a plain 500 or a masked internal error."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event, select, text

from addon.base.core.db import Database
from addon.base.core.events import commit
from addon.base.core.host import load_host
from addon.base.runtime.web import create_app
from addon.base.server.graphql_app import GraphQLApp
from addon.base.server.schema import build_schema
from addon.booking import services
from addon.booking.models import Booking, BookingStatusHistory, Customer
from addon.booking.public import CustomerData
from tests.booking.helpers import count, local, stored_status
from tests.conftest import base_environ

pytestmark = pytest.mark.anyio

PAGE = "query { bookings(first: 200) { edges { node { reference status { code } history { to { code } } } } } }"
# No history in the answer: the Gate below holds only the reads.
SET_STATUS = """mutation($input: SetBookingStatusInput!) {
  setBookingStatus(input: $input) { booking { id status { code } } errors { code message } }
}"""
# The smallest answer that still reads every booking's history (held by the Gate).
HISTORIES = "query { bookings(first: 200) { edges { node { history { changedBy: by } } } } }"
BUSY = "DATABASE_BUSY"


@pytest.fixture
def busy_timeout() -> float:
    """Seconds a SQLite connection waits for a lock; short, so a lock held too long shows fast."""
    return 5.0


@pytest.fixture
async def host(database_url, tmp_path, env_overrides, clock, busy_timeout):
    # Every in-flight request holds a pooled connection while it reads: room for all of them.
    options = {"pool_size": 50, "max_overflow": 0}
    if database_url.startswith("sqlite"):
        options["connect_args"] = {"timeout": busy_timeout}
    database = Database(database_url, **options)
    host = load_host(environ=base_environ(tmp_path, database_url, **env_overrides), clock=clock, database=database)
    yield host
    await host.database.dispose()


@pytest.fixture
async def client(host, tokens):
    """HTTP on the app, answering a crash with a 500 (as a server would) instead of raising it."""
    transport = httpx.ASGITransport(app=create_app(host), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 headers={"Authorization": f"Bearer {tokens['staff']}"}) as http:
        yield http


async def post(client, query: str, variables: dict | None = None, **headers) -> httpx.Response:
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)


def set_status(booking_id: int, status: str = "confirmed") -> dict:
    return {"input": {"bookingId": str(booking_id), "status": status}}


async def make_bookings(host, n: int) -> list[int]:
    async with host.database.session() as session:
        obj = await services.create_object(host, session, code="room", name="Room")
        ids = []
        for day in range(n):
            booking = await services.create_booking(
                host, session, object_id=obj.id, customer=CustomerData(name=f"Guest {day}"),
                start=local(day), end=local(day) + timedelta(days=1), reference=f"R-{day:03d}")
            ids.append(booking.id)
        await commit(session)
    return ids


class Gate:
    """Holds every request that loads status history (mid-answer, its read transaction open)
    until opened; counts how many are waiting."""

    def __init__(self, host, monkeypatch, limit: float = 20.0) -> None:
        self.opened = asyncio.Event()
        self.waiting = 0
        self.limit = limit
        factories = host.registry.loader_factories
        inner_factory = factories["booking.history"]

        def factory(context):
            inner = inner_factory(context)

            async def load(keys):
                self.waiting += 1
                try:
                    await asyncio.wait_for(self.opened.wait(), self.limit)
                finally:
                    self.waiting -= 1
                return await inner.load_fn(keys)

            return type(inner)(load_fn=load)

        monkeypatch.setitem(factories, "booking.history", factory)

    async def until_waiting(self, n: int, limit: float) -> None:
        async def poll():
            while self.waiting < n:
                await asyncio.sleep(0.01)

        try:
            await asyncio.wait_for(poll(), limit)
        except TimeoutError:
            pass  # the assertions below say what went wrong


def errors_of(response: httpx.Response) -> list:
    if response.status_code != 200:
        return [response.status_code]
    return response.json().get("errors") or []


@pytest.mark.all_databases
async def test_twenty_long_reads_and_twenty_status_changes(host, client, monkeypatch, database_url):
    """20 ``bookings(first: 200)`` held open mid-answer while 20 status changes race: every
    change is applied, every request answers 200 without errors."""
    ids = await make_bookings(host, 200)
    gate = Gate(host, monkeypatch)
    reads = [asyncio.create_task(post(client, HISTORIES)) for _ in range(20)]
    await gate.until_waiting(20, limit=10)
    readers_open = gate.waiting
    try:
        changes = await asyncio.gather(*(post(client, SET_STATUS, set_status(i)) for i in ids[:20]))
    finally:
        gate.opened.set()
    answers = await asyncio.gather(*reads)

    assert readers_open == 20
    assert [errors_of(r) for r in changes] == [[]] * 20
    assert [errors_of(r) for r in answers] == [[]] * 20
    assert all(len(r.json()["data"]["bookings"]["edges"]) == 200 for r in answers)
    if database_url.startswith("sqlite"):
        # Each answer is one snapshot taken before the changes: no booking shows a second status.
        assert {len(e["node"]["history"]) for r in answers for e in r.json()["data"]["bookings"]["edges"]} == {1}
    assert [await stored_status(host, i) for i in ids[:20]] == ["confirmed"] * 20
    assert await count(host, BookingStatusHistory, BookingStatusHistory.booking_id.in_(ids[:20])) == 40


@pytest.mark.all_databases
@pytest.mark.parametrize("busy_timeout", [0.3])
async def test_a_long_read_does_not_make_a_writer_wait(host, client, monkeypatch, database_url):
    """A query held open mid-answer; a status change meanwhile succeeds well within a busy
    timeout of 0.3 s (before, the query held the write lock and the change ended in a 500)."""
    (booking_id,) = await make_bookings(host, 1)
    gate = Gate(host, monkeypatch)
    read = asyncio.create_task(post(client, PAGE))
    await gate.until_waiting(1, limit=5)
    assert gate.waiting == 1
    try:
        change = await post(client, SET_STATUS, set_status(booking_id))
    finally:
        gate.opened.set()
    answer = await read

    assert errors_of(change) == [] and await stored_status(host, booking_id) == "confirmed"
    assert errors_of(answer) == []
    (node,) = [edge["node"] for edge in answer.json()["data"]["bookings"]["edges"]]
    assert node["status"] == {"code": "option"}
    if database_url.startswith("sqlite"):
        # One snapshot for the whole answer: the history loaded after the change agrees with the status.
        assert node["history"] == [{"to": {"code": "option"}}]


async def test_mutations_and_their_answers_in_one_request(host, client):
    """Each mutation of a document begins its own write transaction after the previous one's
    answer was read (in a read transaction of the same session)."""
    first, second = await make_bookings(host, 2)
    document = """mutation($a: SetBookingStatusInput!, $b: SetBookingStatusInput!) {
      a: setBookingStatus(input: $a) { booking { status { code } history { to { code } } } errors { code } }
      b: setBookingStatus(input: $b) { booking { status { code } } errors { code } }
    }"""
    response = await post(client, document, {"a": set_status(first)["input"], "b": set_status(second, "cancelled")["input"]})
    assert errors_of(response) == []
    data = response.json()["data"]
    assert data["a"]["booking"]["history"] == [{"to": {"code": "option"}}, {"to": {"code": "confirmed"}}]
    assert data["b"] == {"booking": {"status": {"code": "cancelled"}}, "errors": []}


@pytest.mark.parametrize("reader", ["request", "read_only"])
async def test_a_write_in_a_read_transaction_is_refused(host, reader):
    """Writing through the request's session outside run_in_transaction (or through a read-only
    session) would fail at random ("database is locked" once another writer committed); it
    fails every time instead."""
    if reader == "request":
        opened = GraphQLApp(host, build_schema(host))._request_session()
    else:
        opened = host.database.session(read_only=True)
    async with opened as session:
        await session.execute(select(Booking).limit(1))
        session.add(Customer(name="Sneaky"))
        with pytest.raises(RuntimeError, match="run_in_transaction"):
            await session.flush()
    assert await count(host, Customer, Customer.name == "Sneaky") == 0


@pytest.mark.parametrize("busy_timeout", [0.1])
async def test_a_lock_timeout_is_a_coded_retryable_error(host, client):
    """Another connection holds the write lock longer than the busy timeout: the mutation answers
    DATABASE_BUSY (not a masked internal error, not a 500), changes nothing, and works when sent again."""
    (booking_id,) = await make_bookings(host, 1)
    async with host.database.session() as holder:
        await holder.execute(text("SELECT 1"))  # a background session: BEGIN IMMEDIATE, the write lock held

        # Reads (token check included) do not wait for the lock at all; nor do read-only sessions.
        read = await post(client, PAGE)
        assert errors_of(read) == [] and len(read.json()["data"]["bookings"]["edges"]) == 1
        async with host.database.session(read_only=True) as reading:
            assert (await reading.execute(select(Booking.id))).scalars().all() == [booking_id]

        change = await post(client, SET_STATUS, set_status(booking_id))
        assert change.status_code == 200
        (error,) = change.json()["errors"]
        assert error["extensions"] == {"code": BUSY, "retryable": True}
        assert "nothing was changed" in error["message"] and "try again" in error["message"].lower()
        assert change.headers["retry-after"] == "1"

    assert await stored_status(host, booking_id) == "option"
    again = await post(client, SET_STATUS, set_status(booking_id))
    assert errors_of(again) == [] and await stored_status(host, booking_id) == "confirmed"


def locked_on(host, table: str):
    """Make every statement on ``table`` fail the way a timed-out lock wait does."""

    def fail(_conn, _cursor, statement, *_args):
        if f"FROM {table}" in statement:
            raise sqlite3.OperationalError("database is locked")

    event.listen(host.database.engine.sync_engine, "before_cursor_execute", fail)
    return lambda: event.remove(host.database.engine.sync_engine, "before_cursor_execute", fail)


async def test_a_busy_database_during_the_token_check_is_a_503_to_retry(host, client):
    unlock = locked_on(host, "base_api_token")
    try:
        response = await post(client, "{ viewer { name } }")
    finally:
        unlock()
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": BUSY, "retryable": True}
    assert "try again" in body["errors"][0]["message"].lower()
    assert "sqlite" not in response.text.lower() and "select" not in response.text.lower()

    assert (await post(client, "{ viewer { name } }")).json()["data"] == {"viewer": {"name": "test-staff"}}


async def test_a_busy_database_inside_a_resolver_is_not_masked(host, client):
    await make_bookings(host, 2)
    unlock = locked_on(host, "booking_status_history")
    try:
        response = await post(client, PAGE)
    finally:
        unlock()
    assert response.status_code == 200
    assert response.headers["retry-after"] == "1"
    errors = response.json()["errors"]
    assert errors and {e["extensions"]["code"] for e in errors} == {BUSY}
    assert all("try again" in e["message"].lower() and "Internal error" not in e["message"] for e in errors)
