"""/metrics (Prometheus text, admin tokens only) and /readyz, against the in-memory vendor."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from addon.base.public import watch_pool
from addon.door_access.call_log import call_log
from addon.door_access.sweep import sweep_once
from addon.door_access.worker import Worker
from tests.door_access.helpers import configured, create_booking, future, set_status

pytestmark = pytest.mark.anyio


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "30", "IRESERVE_RETRY_MAX": "30"}


async def scrape(http, token) -> dict[tuple[str, tuple], float]:
    response = await http.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_for_admin_tokens_only(http, tokens):
    assert (await http.get("/metrics")).status_code == 401
    assert (await http.get("/metrics", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    assert (await http.get("/metrics", headers={"Authorization": f"Bearer {tokens['staff']}"})).status_code == 403
    assert (await http.get("/metrics", headers={"Authorization": f"Bearer {tokens['admin']}"})).status_code == 200


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
    answer = await http.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok", "secrets": "ok"}}

    worker = host.provide(Worker(host))  # this process runs the access worker: its loop must go round
    assert (await http.get("/readyz")).json()["checks"]["access_worker"] == "not started yet"
    worker.last_round_at = asyncio.get_running_loop().time()
    assert (await http.get("/readyz")).status_code == 200
    worker.last_round_at -= 3600
    stuck = await http.get("/readyz")
    assert stuck.status_code == 503 and stuck.json()["checks"]["access_worker"].startswith("no round for")
    assert (await http.get("/healthz")).status_code == 200, "alive, though not ready"
