"""Several processes, one truth, on a real PostgreSQL: the deployment's own commands (`ireserve serve
--workers 2` and two `ireserve worker`, as compose.yaml runs them) against a standalone sandbox that
fails 20 % of calls and loses some create answers. 300 confirmations (and some cancellations) go
over HTTP, spread over both web processes; midway one web process and one worker are killed with
SIGKILL (the supervisor starts the web process again, the test the worker). In the end every
booking has exactly the access its status asks for: one active set per confirmed booking, named by
its grant and its booking field, none for a cancelled one, no orphan set, nothing lost. Then a
directed schedule that once left a cancelled guest a live link (confirm, cancel with the revoke's
answer lost, re-confirm with the create's answer lost, cancel) ends with no live set, and
`ireserve access verify` finds every set the database knows of as it should be."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from addon.base.public import Role, commit, create_token, load_host, split_global_id
from addon.booking import services
from addon.booking.public import BookingField, BookingFieldValue
from addon.door_access.models import AccessGrant, GrantState
from bench.harness import booking_of_reference
from tests.conftest import GraphQLClient, base_environ
from tests.door_access.helpers import AUTH_FIELD
from tests.resivo.host_helpers import DEMO_CREDENTIALS, configured_resivo
from tests.support.processes import (
    HEALTH_CHECK,
    WEB,
    WORKER,
    free_port,
    run,
    start,
    stop,
    until_serving,
    web_processes_of,
)

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]

SCRAPE_TOKEN = "several-processes-scrape-token"
MISSING_AFTER = 5.0
BOOKINGS = 300
CANCELLED_EVERY = 10  # every tenth confirmed booking is cancelled afterwards
IN_FLIGHT = 12
STARTUP = 180  # seconds a process may take to start on a busy machine
SET_STATUS = ("mutation SetStatus($i: SetBookingStatusInput!) { setBookingStatus(input: $i) {"
              " booking { status { code } } errors { code } } }")


async def create_bookings(host, object_ids: list[int], count: int = BOOKINGS, reference: str = "MP") -> list[int]:
    """Option bookings (no access yet), made through the booking service in this process."""
    first = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    ids = []
    async with host.database.session() as session:
        for n in range(count):
            start_at = first + timedelta(hours=n)
            made = await services.create_booking(
                host, session, object_id=object_ids[n % len(object_ids)],
                customer=services.CustomerData(name=f"Guest {n}", email=f"guest{n}@example.com", language="nl"),
                start=start_at, end=start_at + timedelta(days=2), status="option",
                reference=f"{reference}{n:04d}" if count > 1 else reference, actor="test")
            ids.append(made.id)
        await commit(session)
    return ids


async def set_status(client: httpx.AsyncClient, token: str, booking_id: int, status: str) -> None:
    """One status change; a request cut off by a killed process is sent again (same outcome)."""
    last = None
    for _ in range(20):
        try:
            answer = await client.post("/graphql", headers={"Authorization": f"Bearer {token}"},
                                       json={"query": SET_STATUS,
                                             "variables": {"i": {"bookingId": str(booking_id), "status": status}}})
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        last = (answer.status_code, answer.text[:500])
        body = answer.json() if answer.status_code == 200 else {}
        if (body.get("data") or {}).get("setBookingStatus", {}).get("errors") == []:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"booking {booking_id} could not be set to {status}: {last}")


async def settled(host, booking_ids: list[int], seconds: float) -> list[AccessGrant]:
    deadline = time.monotonic() + seconds
    while True:
        async with host.database.session() as session:
            rows = (await session.execute(select(AccessGrant).where(AccessGrant.booking_id.in_(booking_ids)))).scalars().all()
        if len(rows) == len(booking_ids) and all(
                r.state in (GrantState.ACTIVE, GrantState.REVOKED) and r.next_attempt_at is None for r in rows):
            return rows
        if time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.5)


async def answer_lost(admin: httpx.AsyncClient, operation: str, seconds: float) -> bool:
    """Whether the sandbox used up the drop_answer fault scripted for ``operation`` in time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        faults = (await admin.get("/_sandbox/faults")).json()["faults"]
        if not any(f["mode"] == "drop_answer" and f["operation"] == operation for f in faults):
            return True
        await asyncio.sleep(0.1)
    return False


async def field_values(host) -> dict[int, str | None]:
    async with host.database.session() as session:
        rows = (await session.execute(
            select(BookingFieldValue.booking_id, BookingFieldValue.value)
            .join(BookingField, BookingField.id == BookingFieldValue.field_id).where(BookingField.code == AUTH_FIELD)
        )).all()
    return dict(rows)


async def test_several_web_and_worker_processes_agree_on_every_booking(postgres_url, tmp_path):
    sandbox_port, web_port = free_port(), free_port()
    environ = base_environ(
        tmp_path, postgres_url, IRESERVE_PORT=str(web_port), IRESERVE_WORKER="false", IRESERVE_LOG_FORMAT="json",
        IRESERVE_LEASE_SECONDS="2", IRESERVE_RETRY_BASE="0.05", IRESERVE_RETRY_MAX="0.5",
        IRESERVE_WORKER_INTERVAL="0.2", IRESERVE_RECONCILE_WAIT="0.2", IRESERVE_SWEEP_INTERVAL="0",
        RESIVO_READ_TIMEOUT="2", RESIVO_CONNECT_TIMEOUT="1", IRESERVE_DB_POOL_SIZE="10",
        IRESERVE_METRICS_TOKEN=SCRAPE_TOKEN, IRESERVE_WORKER_MISSING_AFTER=str(MISSING_AFTER))
    logs = {name: tmp_path / f"{name}.log" for name in ("sandbox", "web", "worker-1", "worker-2", "worker-1b")}
    health_ports = {name: free_port() for name in ("worker-1", "worker-2", "worker-1b")}

    def worker(name: str):
        return start(WORKER, {**environ, "IRESERVE_HEALTH_PORT": str(health_ports[name])}, logs[name])

    here = load_host(environ=environ)
    processes = []
    try:
        async with here.database.session() as session:
            token = await create_token(session, "processes-admin", Role.ADMIN)
            await commit(session)
        sandbox = start(["sandbox", "--port", str(sandbox_port)], environ, logs["sandbox"])
        web = start(WEB, environ, logs["web"])
        processes += [sandbox, web]
        sandbox_url, url = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{web_port}"
        workers = {name: worker(name) for name in ("worker-1", "worker-2")}
        processes += list(workers.values())
        await asyncio.gather(  # they start side by side
            until_serving(sandbox_url, sandbox, logs["sandbox"], STARTUP, path="/_sandbox/stats"),
            until_serving(url, web, logs["web"], STARTUP, path="/readyz"),
            *(until_serving(f"http://127.0.0.1:{health_ports[name]}", process, logs[name], STARTUP, path="/readyz")
              for name, process in workers.items()))
        # The container health checks, as compose runs them (liveness), and readiness as a load
        # balancer would ask (the probe's default paths: /healthz and /readyz).
        for check in (HEALTH_CHECK, ("probe",)):
            assert run(check, environ).returncode == 0
            assert run(check, {**environ, "IRESERVE_HEALTH_PORT": str(health_ports["worker-1"])}).returncode == 0

        async with httpx.AsyncClient(base_url=url, timeout=30,
                                     limits=httpx.Limits(max_keepalive_connections=0)) as client, \
                httpx.AsyncClient(base_url=sandbox_url) as admin:
            integration_id, objects = await configured_resivo(
                GraphQLClient(client, token), credentials=dict(DEMO_CREDENTIALS, baseUrl=sandbox_url))
            object_ids = [int(split_global_id(objects[name])[1]) for name in ("Studio 1", "Studio 2")]
            booking_ids = await create_bookings(here, object_ids)
            for fault in ({"mode": "random", "rates": {"503": 0.2}, "seed": 15},
                          {"mode": "drop_answer", "operation": "create_remote_access", "count": 10}):
                assert (await admin.post("/_sandbox/faults", json=fault)).status_code < 300

            web_children = web_processes_of(web.pid)
            assert len(web_children) == 2, "serve --workers 2 runs two web processes"
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def confirm(n: int, booking_id: int) -> None:
                async with gate:
                    await set_status(client, token, booking_id, "confirmed")
                    if n % CANCELLED_EVERY == 0:
                        await set_status(client, token, booking_id, "cancelled")

            first_half = [confirm(n, b) for n, b in enumerate(booking_ids[:BOOKINGS // 2])]
            await asyncio.gather(*first_half)
            # Midway: one web process and one worker die without a chance to clean up.
            os.kill(web_children[0], signal.SIGKILL)
            workers["worker-1"].kill()
            workers["worker-1"].wait()
            killed_at = time.monotonic()
            workers["worker-1b"] = worker("worker-1b")
            processes.append(workers["worker-1b"])
            await asyncio.gather(*(confirm(n, b) for n, b in enumerate(booking_ids[BOOKINGS // 2:], BOOKINGS // 2)))

            rows = await settled(here, booking_ids, seconds=120)
            faults = (await admin.get("/_sandbox/faults")).json()["faults"]

            # The directed schedule, on a booking of its own, with every answer that matters lost. Each
            # step waits until the vendor saw the call whose answer is lost (not until the engine caught
            # up), so the schedule is the same on a loaded machine: two sets made, the second one's
            # answer lost just before the last cancellation.
            [directed] = await create_bookings(here, object_ids, count=1, reference="MP-DIRECTED")
            await set_status(client, token, directed, "confirmed")
            assert (await settled(here, [directed], seconds=120))[0].state == GrantState.ACTIVE
            for status, lost in (("cancelled", "revoke"), ("option", None), ("confirmed", "create_remote_access"),
                                 ("cancelled", None)):
                if lost:
                    assert (await admin.post("/_sandbox/faults", json={
                        "mode": "drop_answer", "operation": lost, "count": 1})).status_code < 300
                await set_status(client, token, directed, status)
                if lost:
                    assert await answer_lost(admin, lost, seconds=120), f"the {lost} call reached the vendor"
            [directed_grant] = await settled(here, [directed], seconds=120)
            await admin.delete("/_sandbox/faults")  # the vendor answers every call of the check
            verified = run(["access", "verify"], environ)
            sets = (await admin.get("/_sandbox/authorizations")).json()
            fields = await field_values(here)
            replaced = [pid for pid in web_processes_of(web.pid) if pid not in web_children]
            scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            # The heartbeat: the killed worker is missing once its last round is older than the limit.
            await asyncio.sleep(max(0.0, killed_at + MISSING_AFTER + 0.5 - time.monotonic()))
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{health_ports['worker-2']}") as health:
                worker_scrape = await health.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
            web_ready = (await client.get("/readyz")).json()
    finally:
        statuses = {process.pid: stop(process) for process in reversed(processes)}
        await here.database.dispose()

    assert len(replaced) == 1, "the supervisor started a new web process for the killed one"
    assert statuses[web.pid] == 0 and statuses[workers["worker-2"].pid] == statuses[workers["worker-1b"].pid] == 0, \
        "SIGTERM stops the web processes and the workers cleanly"
    cancelled = {b for n, b in enumerate(booking_ids) if n % CANCELLED_EVERY == 0}
    grant_of = {g.booking_id: g for g in rows}
    assert set(grant_of) == set(booking_ids), "every confirmation made its grant: nothing lost"
    states = Counter((b in cancelled, grant_of[b].state) for b in booking_ids)
    assert states == {(False, GrantState.ACTIVE): BOOKINGS - len(cancelled), (True, GrantState.REVOKED): len(cancelled)}
    active = [s for s in sets if s.get("status") == "active"]
    per_booking = Counter(booking_of_reference(s.get("externalReference")) for s in active)
    assert all(per_booking[b] == 1 for b in booking_ids if b not in cancelled), "one active set per confirmed booking"
    assert not any(per_booking[b] for b in cancelled), "no active set for a cancelled booking"
    known = {g.authorization_id for g in rows if g.authorization_id}
    assert [s["id"] for s in active if s["id"] not in known] == [], "no orphan set"
    assert all(fields.get(b) == grant_of[b].authorization_id for b in booking_ids if b not in cancelled)
    # The directed schedule: both sets it made are revoked, and every set the database knows of is
    # at the vendor as it should be.
    assert directed_grant.state == GrantState.REVOKED
    assert per_booking[directed] == 0 and len([s for s in sets if booking_of_reference(s.get("externalReference"))
                                               == directed]) == 2, "the sets made, none live"
    assert verified.returncode == 0 and " 0 mismatches, 0 not checked" in verified.stdout, verified.stdout + verified.stderr

    # The faults did happen, and the work was spread over both web processes and both workers.
    assert any(f["mode"] == "random" and f["fired"] > 10 for f in faults), faults
    assert not any(f["mode"] == "drop_answer" for f in faults), "every lost create answer was lost"
    served = Counter(line["pid"] for line in map(json.loads, logs["web"].read_text().splitlines())
                     if line.get("logger") == "addon.base.request" and line.get("operation") == "SetStatus")
    assert len([pid for pid in web_children if served[pid]]) == 2, served
    # /metrics of one web process adds up every web process's figures (dead ones' counters too).
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    set_status_requests = sum(s.value for s in families["ireserve_request_duration_seconds"].samples
                              if s.name.endswith("_count") and s.labels["operation"] == "other")
    assert set_status_requests >= BOOKINGS + len(cancelled) - 1, set_status_requests
    assert max(served.values()) < set_status_requests, "more than one process's requests are counted"
    worker_calls = [c for name in ("worker-1", "worker-2", "worker-1b")
                    for c in map(json.loads, logs[name].read_text().splitlines())
                    if c.get("logger") == "addon.door_access.vendor"]
    assert worker_calls and all("request_id" not in c and c.get("grant_id") and c.get("worker_id")
                                for c in worker_calls), "workers' calls name their grant and worker, no request"

    # A worker's own port answers the scrape token, with the heartbeat of every worker: two alive,
    # the killed one past the limit; the web processes (no worker of their own) are ready.
    assert worker_scrape.status_code == 200, worker_scrape.text
    heartbeat = {s.labels.get("worker"): s.value for f in text_string_to_metric_families(worker_scrape.text)
                 for s in f.samples if s.name in ("ireserve_workers_alive", "ireserve_worker_last_round_seconds")}
    assert heartbeat.pop(None) == 2, heartbeat
    assert len(heartbeat) == 3 and sorted(v > MISSING_AFTER for v in heartbeat.values()) == [False, False, True]
    assert web_ready["status"] == "ready" and web_ready["checks"]["access_workers"] == "ok", web_ready
