"""PostgreSQL restarted under load (``pg_ctl restart``, as an operator does), with `ireserve serve`
running the access worker inside, on the deployment's settings (JSON logs, the scrape token):

* every answer that is not a success says "try again": HTTP 503 (or, with data, a 200) with
  ``Retry-After`` and only ``DATABASE_UNAVAILABLE`` errors (``retryable: true``) — never an
  INTERNAL_SERVER_ERROR, never a plain-text 500, never a dropped connection;
* nothing is lost: every booking whose creation was answered as a success is in the database;
* the outage is one ERROR line in the server's log (and one line when the database is back), no
  traceback;
* ``/metrics`` answers the scrape token throughout, and counts the outage as an outcome of its own.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from addon.base.public import DEMO_FILE, Role, commit, create_token, load_host, seed
from addon.booking.public import Booking
from tests.conftest import base_environ
from tests.support.processes import free_port, start, stop, until_serving

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]

CLIENTS = 12
SCRAPE_TOKEN = "restart-scrape-" + "t" * 24
CREATE = ("mutation CreateBooking($i: CreateBookingInput!) { createBooking(input: $i) {"
          " booking { reference } errors { code } } }")


def is_success(status: int, body: dict | None, reference: str) -> bool:
    payload = ((body or {}).get("data") or {}).get("createBooking") or {}
    return status == 200 and not (body or {}).get("errors") and payload.get("errors") == [] \
        and (payload.get("booking") or {}).get("reference") == reference


def says_try_again(status: int, headers: httpx.Headers, body: dict | None) -> bool:
    errors = (body or {}).get("errors") or []
    return (status == 503 or (status == 200 and body.get("data") is not None)) \
        and headers.get("retry-after") == "2" and bool(errors) \
        and all(e.get("extensions") == {"code": "DATABASE_UNAVAILABLE", "retryable": True} for e in errors)


def database_up(text: str) -> float:
    return next(s.value for f in text_string_to_metric_families(text) for s in f.samples
                if s.name == "ireserve_database_up")


async def test_a_postgresql_restart_under_load_is_answered_as_retryable_and_loses_nothing(
        postgres_server, postgres_url, tmp_path):
    port = free_port()
    environ = base_environ(tmp_path, postgres_url, IRESERVE_PORT=str(port), IRESERVE_WORKER="true",
                           IRESERVE_WORKER_INTERVAL="0.2", IRESERVE_LOG_FORMAT="json",
                           IRESERVE_METRICS_TOKEN=SCRAPE_TOKEN, IRESERVE_DB_POOL_SIZE="10")
    here = load_host(environ=environ)
    demo = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    async with here.database.session() as session:
        token = await create_token(session, "restart-staff", Role.STAFF)
        await commit(session)
    await seed(here, {**demo, "doorIntegrations": []})
    log = tmp_path / "serve.log"
    server = start(["serve"], environ, log)
    answers: list[tuple[str, int, httpx.Headers, dict | None]] = []
    scrapes: list[tuple[int, str]] = []
    try:
        url = f"http://127.0.0.1:{port}"
        await until_serving(url, server, log, 180, path="/readyz")
        async with httpx.AsyncClient(base_url=url, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            objects = (await client.post("/graphql", json={"query": "{ objects { id } }"})).json()["data"]["objects"]
            stopping = asyncio.Event()

            async def book(client_number: int) -> None:
                for n in range(10_000):
                    if stopping.is_set():
                        return
                    reference = f"R{client_number:02d}-{n:04d}"
                    day = 1 + (client_number * 10_000 + n) % 3000
                    variables = {"i": {"objectId": objects[n % len(objects)]["id"], "reference": reference,
                                       "start": f"2031-01-01T15:00:00+01:00", "end": f"2031-01-03T10:00:00+01:00",
                                       "customer": {"name": f"Guest {day}", "email": f"g{day}@example.com"}}}
                    answer = await client.post("/graphql", json={"query": CREATE, "variables": variables})
                    try:
                        body = answer.json()
                    except ValueError:
                        body = None  # not JSON: counted as a failure below
                    answers.append((reference, answer.status_code, answer.headers, body))

            async def scrape() -> None:
                while not stopping.is_set():
                    answer = await client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
                    scrapes.append((answer.status_code, answer.text))
                    await asyncio.sleep(0.1)

            load = [asyncio.create_task(book(n)) for n in range(CLIENTS)] + [asyncio.create_task(scrape())]
            await asyncio.sleep(1.0)
            before_restart = len(answers)
            restart_seconds = await asyncio.to_thread(postgres_server.restart)
            restarted_at = len(answers)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                    sum(is_success(s, b, r) for r, s, _, b in answers[restarted_at:]) < 3 * CLIENTS):
                await asyncio.sleep(0.1)
            stopping.set()
            await asyncio.gather(*load)
            final = await client.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
        assert server.poll() is None, "the server lived through it"
    finally:
        stop(server)

    successes = [reference for reference, status, _, body in answers if is_success(status, body, reference)]
    failures = [(reference, status, dict(headers), body) for reference, status, headers, body in answers
                if not is_success(status, body, reference)]
    assert before_restart > 0 and successes, "load ran before and after the restart"
    assert failures, f"the restart ({restart_seconds:.1f} s) was not felt by {len(answers)} requests: the test proves nothing"
    wrong = [f for f in failures if not says_try_again(f[1], httpx.Headers(f[2]), f[3])]
    assert not wrong, f"{len(wrong)} of {len(failures)} failed answers do not say 'try again': {wrong[:3]}"
    kinds = Counter(status for _, status, _, _ in failures)

    # Nothing lost: every creation answered as a success is stored.
    async with here.database.session() as session:
        stored = set((await session.execute(
            select(Booking.reference).where(Booking.reference.in_(successes)))).scalars())
    await here.database.dispose()
    assert stored == set(successes), f"{len(set(successes) - stored)} bookings answered as created are missing"

    # One ERROR line for the outage, one when it is over, no traceback.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    told = [line for line in lines if line["logger"] == "addon.base.database" and line["level"] == "error"]
    assert len(told) == 1, [line["message"] for line in told]
    assert "database unavailable" in told[0]["message"] and told[0]["cause"]
    assert [line for line in lines if "available again" in line["message"]], "the end of the outage is told"
    assert not [line for line in lines if "exception" in line], "no traceback"
    assert not [line for line in lines if line["level"] == "error" and line is not told[0]]
    unavailable = [line for line in lines if line.get("outcome") == "database_unavailable"]
    assert len(unavailable) >= len(failures), "the request log gives the outage its own outcome"

    # /metrics answered throughout, with or without the database.
    assert scrapes and all(status == 200 for status, _ in scrapes), Counter(status for status, _ in scrapes)
    assert database_up(final.text) == 1
    counted = sum(s.value for f in text_string_to_metric_families(final.text) for s in f.samples
                  if s.name == "ireserve_request_duration_seconds_count"
                  and s.labels.get("outcome") == "database_unavailable")
    assert counted >= len(failures)
    print(f"restart took {restart_seconds:.2f} s; {len(answers)} requests, {len(failures)} answered 'try again' "
          f"({dict(kinds)}), {len(successes)} created; {len(scrapes)} scrapes, "
          f"{sum(database_up(text) == 0 for _, text in scrapes)} without the database")
