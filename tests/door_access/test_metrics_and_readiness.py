"""/metrics (Prometheus text, for the scrape token and admin tokens) and /readyz, against the
in-memory vendor; the access workers' heartbeat in both and in doorAccessHealth, on the test clock
(tests/door_access/test_worker_process.py kills a real worker process)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from sqlalchemy import select

from addon.base.public import watch_pool
from addon.door_access.call_log import call_log
from addon.door_access.heartbeat import GONE_AFTER, ServingSince
from addon.door_access.models import WorkerHeartbeat
from addon.door_access.sweep import sweep_once
from addon.door_access.worker import Worker
from tests.door_access.helpers import configured, create_booking, future, set_status

pytestmark = pytest.mark.anyio

SCRAPE_TOKEN = "prometheus-" + "p" * 32
MISSING_AFTER = 60


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "30", "IRESERVE_RETRY_MAX": "30",
            "IRESERVE_METRICS_TOKEN": SCRAPE_TOKEN, "IRESERVE_WORKER_MISSING_AFTER": str(MISSING_AFTER)}


async def scrape(http, token=SCRAPE_TOKEN) -> dict[tuple[str, tuple], float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_for_the_scrape_token_and_admin_tokens_only(http, tokens):
    assert (await http.get("/metrics")).status_code == 401
    assert (await http.get("/metrics", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await http.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN[:-1]}x"})).status_code == 401
    assert (await http.get("/metrics", headers={"Authorization": f"Bearer {tokens['staff']}"})).status_code == 403
    assert (await http.get("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})).status_code == 200
    scraped = await scrape(http)  # the scrape token, compared in memory
    assert value(scraped, "ireserve_database_up") == 1 and ("ireserve_access_due_grants", ()) in scraped


async def test_metrics_follow_requests_vendor_calls_grants_and_the_backlog(host, http, gql, tokens, memory, vendor,
                                                                          clock):
    watch_pool(host)
    before = await scrape(http, tokens["admin"])
    integration_id, objects = await configured(gql)
    ok = await create_booking(gql, objects["Studio 1"], future(), future(11))
    late = await create_booking(gql, objects["Studio 2"], future(), future(11))
    await set_status(gql, ok["id"], "confirmed")
    vendor.fail("create", kind="transient", times=5)
    await set_status(gql, late["id"], "confirmed")  # PENDING, retried in 30 s
    await call_log(host).flush()

    now = await scrape(http, tokens["admin"])
    assert value(now, "ireserve_access_grants", state="ACTIVE") == 1
    assert value(now, "ireserve_access_grants", state="PENDING") == 1
    assert value(now, "ireserve_access_due_grants") == 0, "not due before its backoff ends"
    created = "ireserve_vendor_call_duration_seconds_count"
    assert value(now, created, operation="create", outcome="ok") - value(before, created, operation="create",
                                                                          outcome="ok") == 1
    assert value(now, created, operation="create", outcome="transient") - \
        value(before, created, operation="create", outcome="transient") == 1
    requests = "ireserve_request_duration_seconds_count"
    assert value(now, requests, operation="anonymous", outcome="ok") > value(before, requests, operation="anonymous",
                                                                          outcome="ok")
    assert ("ireserve_db_pool_size", ()) in now and ("ireserve_db_pool_connections_in_use", ()) in now

    clock.advance(90)  # the backoff (at most 30 s) ended at least 60 s ago
    later = await scrape(http, tokens["admin"])
    assert value(later, "ireserve_access_due_grants") == 1
    assert 59 <= value(later, "ireserve_access_oldest_due_seconds") <= 90  # the backoff has jitter

    findings = "ireserve_sweep_findings_total"
    vendor.revoke_behind_our_back(vendor.active_sets()[0].access.id)  # drift the sweep finds and repairs
    clock.advance(3 * 3600)
    [run] = await sweep_once(host, sweeper_id="metrics-test")
    swept = await scrape(http, tokens["admin"])
    assert run.checked >= 1 and run.drifted == 1
    for kind in ("checked", "drifted", "errors"):
        assert value(swept, findings, kind=kind) - value(before, findings, kind=kind) == getattr(run, kind)


async def test_ready_when_the_database_the_schema_and_the_worker_are(host, http, clock):
    await Worker(host).heartbeat.beat()  # a worker elsewhere went round just now
    answer = await http.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok", "secrets": "ok",
                                                           "access_workers": "ok"}}

    worker = host.provide(Worker(host))  # this process runs the access worker: its loop must go round
    assert (await http.get("/readyz")).json()["checks"]["access_worker"] == "not started yet"
    worker.last_round_at = asyncio.get_running_loop().time()
    assert (await http.get("/readyz")).status_code == 200
    worker.last_round_at -= 3600
    stuck = await http.get("/readyz")
    assert stuck.status_code == 503 and stuck.json()["checks"]["access_worker"].startswith("no round for")
    assert (await http.get("/healthz")).status_code == 200, "alive, though not ready"


HEALTH = """query($id: ID!) { doorAccessHealth(integrationId: $id) { workers { alive lastRoundAt missingAfterSeconds } } }"""


async def test_every_worker_gone_shows_in_the_heartbeat_gauges_readiness_and_health(host, http, gql, memory, clock):
    """A web process without a worker of its own (IRESERVE_WORKER=false) and two workers elsewhere:
    both go round, then both die (they stop recording rounds, as after SIGKILL)."""
    integration_id, _ = await configured(gql)
    host.provide(ServingSince(clock.now()))  # the web process started now
    assert (await http.get("/readyz")).json()["status"] == "ready", "just started: the workers have time"
    clock.advance(MISSING_AFTER + 1)
    idle = await http.get("/readyz")
    assert idle.status_code == 200 and idle.json()["status"] == "degraded", "it serves; the access work waits"
    assert idle.json()["checks"]["access_workers"].startswith("no access worker has gone round")

    first, second = Worker(host, "worker-a"), Worker(host, "worker-b")
    for worker in (first, second):
        assert await worker.heartbeat.beat()
    assert not await first.heartbeat.beat(), "a round moments later is not written again"
    started = clock.now()
    scraped = await scrape(http)
    assert value(scraped, "ireserve_workers_alive") == 2
    assert value(scraped, "ireserve_worker_last_round_seconds", worker="worker-a") == 0
    assert (await http.get("/readyz")).json() == {
        "status": "ready", "checks": {"database": "ok", "schema": "ok", "secrets": "ok", "access_workers": "ok"}}
    workers = (await gql(HEALTH, {"id": integration_id}))["doorAccessHealth"]["workers"]
    assert workers["alive"] == 2 and workers["missingAfterSeconds"] == MISSING_AFTER
    assert abs(datetime.fromisoformat(workers["lastRoundAt"]) - started) < timedelta(seconds=1)

    clock.advance(MISSING_AFTER / 2)
    assert await first.heartbeat.beat()  # worker-a goes on; worker-b has died
    clock.advance(MISSING_AFTER / 2 + 1)
    scraped = await scrape(http)
    assert value(scraped, "ireserve_workers_alive") == 1
    assert value(scraped, "ireserve_worker_last_round_seconds", worker="worker-b") == MISSING_AFTER + 1
    assert (await http.get("/readyz")).json()["status"] == "ready"

    clock.advance(MISSING_AFTER / 2)  # worker-a has died too: every worker is gone
    scraped = await scrape(http)
    assert value(scraped, "ireserve_workers_alive") == 0
    assert value(scraped, "ireserve_worker_last_round_seconds", worker="worker-a") == MISSING_AFTER + 1
    ready = await http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["access_workers"].startswith(f"no access worker has gone round for {MISSING_AFTER + 1} s")
    workers = (await gql(HEALTH, {"id": integration_id}))["doorAccessHealth"]["workers"]
    assert workers["alive"] == 0 and workers["lastRoundAt"] is not None

    clock.advance(GONE_AFTER.total_seconds())  # an hour on: the dead workers are left out, then forgotten
    scraped = await scrape(http)
    assert not [key for key in scraped if key[0] == "ireserve_worker_last_round_seconds"]
    await first.prune_if_due()
    async with host.database.session() as session:
        assert (await session.execute(select(WorkerHeartbeat))).scalars().all() == []


async def test_a_worker_that_stops_removes_its_heartbeat(host, http, clock):
    worker = Worker(host, "worker-stopping")
    stop = asyncio.Event()
    running = asyncio.get_running_loop().create_task(worker.run_forever(stop))
    for _ in range(200):
        if value(await scrape(http), "ireserve_workers_alive") == 1:
            break
        await asyncio.sleep(0.01)
    assert value(await scrape(http), "ireserve_worker_last_round_seconds", worker="worker-stopping") == 0
    stop.set()
    await running
    scraped = await scrape(http)
    assert value(scraped, "ireserve_workers_alive") == 0
    assert ("ireserve_worker_last_round_seconds", (("worker", "worker-stopping"),)) not in scraped, "gone, not missing"
