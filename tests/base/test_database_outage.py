"""A database that cannot be reached is answered as retryable, everywhere: HTTP 503 with
``Retry-After`` and a JSON body, in GraphQL the code DATABASE_UNAVAILABLE (translated, ``retryable``)
— also when the token check is what meets it; the request log and the metrics give it an outcome
of its own; the process logs it once (not once per request, no traceback); ``/metrics`` still
answers to the scrape token. Here the database is a PostgreSQL address where nothing listens (the
same answers for a server restarting under load: tests/deploy/test_database_restart.py)."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from addon.base.public import create_app, load_host
from addon.base.server.request_log import DATABASE_UNAVAILABLE
from tests.conftest import base_environ
from tests.support.processes import free_port

pytestmark = pytest.mark.anyio

SCRAPE_TOKEN = "scrape-" + "s" * 30
SOME_TOKEN = "Bearer irs_" + "x" * 40
QUERY = {"query": "query Viewer { viewer { name role } }"}


@pytest.fixture
async def unreachable(tmp_path):
    """The app on a PostgreSQL address where nothing listens (connections are refused at once)."""
    host = load_host(environ=base_environ(tmp_path, f"postgresql+asyncpg://ireserve@127.0.0.1:{free_port()}/gone",
                                          IRESERVE_METRICS_TOKEN=SCRAPE_TOKEN))
    transport = httpx.ASGITransport(app=create_app(host))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        client.host = host
        yield client
    await host.database.dispose()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def outage_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "addon.base.database" and r.levelno >= logging.ERROR]


async def test_graphql_answers_503_database_unavailable_when_the_token_check_cannot_reach_it(unreachable, caplog):
    caplog.set_level(logging.INFO)
    for language, says in (("en", "cannot be reached"), ("nl", "niet bereikbaar")):
        answer = await unreachable.post("/graphql", json=QUERY,
                                        headers={"Authorization": SOME_TOKEN, "Accept-Language": language})
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "2"
        body = answer.json()
        assert body["data"] is None
        [error] = body["errors"]
        assert error["extensions"] == {"code": "DATABASE_UNAVAILABLE", "retryable": True}
        assert says in error["message"], error["message"]
        assert "nothing was changed" in error["message"] or "niets" in error["message"]

    lines = [r for r in caplog.records if r.name == "addon.base.request"]
    assert [r.outcome for r in lines] == [DATABASE_UNAVAILABLE] * 2
    [told] = outage_lines(caplog)  # one line for the outage, not one per request
    assert "ConnectionRefusedError" in told.cause and told.exc_info is None
    assert not any(r.exc_info for r in caplog.records), "no traceback"


async def test_other_routes_answer_503_with_a_json_body(unreachable):
    # The sign-in page checks the session cookie against the database; the console too.
    answer = await unreachable.get("/graphql/operations.json", headers={"Authorization": SOME_TOKEN})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert answer.json() == {"error": "The database cannot be reached just now; try again in a moment.",
                             "code": "DATABASE_UNAVAILABLE", "retryable": True}

    ready = await unreachable.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {"database": "unreachable"}
    assert (await unreachable.get("/healthz")).status_code == 200, "alive: restarting it cures nothing"


async def test_metrics_answer_the_scrape_token_without_the_database(unreachable, caplog):
    await unreachable.post("/graphql", json=QUERY, headers={"Authorization": SOME_TOKEN})
    answer = await unreachable.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert answer.status_code == 200, answer.text
    scraped = samples(answer.text)
    assert scraped[("ireserve_database_up", ())] == 0
    read_from_the_database = {"ireserve_access_grants", "ireserve_access_due_grants", "ireserve_access_oldest_due_seconds",
                              "ireserve_access_unresolved_sets", "ireserve_workers_alive",
                              "ireserve_worker_last_round_seconds"}
    assert not [name for name, _ in scraped if name in read_from_the_database], "left out: the database did not answer"
    failed = ("ireserve_request_duration_seconds_count", (("operation", "/graphql"), ("outcome", DATABASE_UNAVAILABLE)))
    assert scraped[failed] >= 1, "the outage is an outcome of its own"

    # An API token has to be looked up: that needs the database.
    looked_up = await unreachable.get("/metrics", headers={"Authorization": SOME_TOKEN})
    assert looked_up.status_code == 503 and looked_up.json()["code"] == "DATABASE_UNAVAILABLE"
    assert (await unreachable.get("/metrics")).status_code == 401
    assert len(outage_lines(caplog)) == 1


async def test_the_outage_is_told_again_once_the_database_was_back(tmp_path, caplog, monkeypatch):
    from addon.base.core import outage

    caplog.set_level(logging.INFO)
    host = load_host(environ=base_environ(tmp_path, f"postgresql+asyncpg://ireserve@127.0.0.1:{free_port()}/gone"))
    try:
        log = host.database.outage
        now = [1000.0]
        monkeypatch.setattr(outage.time, "monotonic", lambda: now[0])
        refused = ConnectionRefusedError(111, "Connect call failed")
        for _ in range(3):
            log.failed(refused, during="request")
        log.answered()  # a new connection: the episode ends
        now[0] += 2
        log.failed(refused, during="request")  # a request that held a connection from before: the same outage
        now[0] += outage.SETTLE_SECONDS + 1
        log.failed(refused, during="request")  # the database went away again
        assert log.episodes == 2
        assert len(outage_lines(caplog)) == 2
        [back] = [r for r in caplog.records if r.name == "addon.base.database" and "available again" in r.getMessage()]
        assert back.failures == 3
    finally:
        await host.database.dispose()
