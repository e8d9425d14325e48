"""Scenario 2 — status-change latency: what a member of staff waits for after clicking
"Confirmed", and how much of it GraphQL/HTTP adds.

Two ways of making the same change (option → confirmed, which grants door access), one at a
time, with the sandbox answering after 0 ms and after 50 ms:

* **GraphQL/HTTP** — ``setBookingStatus`` from the client process to uvicorn on 127.0.0.1,
  selecting the booking's status and access (as the staff planner does); timed in the client
  from sending the request to having parsed the answer.
* **bare service** — in the server process: a session,
  ``addon.booking.services.set_booking_status``, ``addon.base.public.commit`` (which runs the
  after-commit reconcile with its bounded wait, like the mutation does) and closing the session.

Both include the reconcile (get_site, list_components, create_remote_access: 3 Resivo calls), so
the difference is what the API layer costs: HTTP, authentication, GraphQL parsing and validation,
re-reading the booking and its access for the answer, serialising it. Each variant gets fresh
bookings; 5 un-timed warm-up calls precede each timed series.
"""

from __future__ import annotations

import time

from addon.base.public import commit
from addon.booking import services

from .harness import (
    LOG_COUNTER,
    PerRequestStatements,
    Sandbox,
    StatementCounter,
    create_bookings,
    fresh_host,
    grant_counts,
    peak_rss_mb,
    reset_peak_rss,
    run_client,
    seed_world,
    serving,
    set_status_request,
    settings_record,
    summary,
)

NAME = "status_latency"
TITLE = "2. setBookingStatus latency"
DEFAULT_SIZE = 40  # timed calls per variant (p99 of 40 is close to the maximum: see the raw figures)
LATENCIES_MS = (0.0, 50.0)
WARMUP_CALLS = 5


def warmup_size(size: int) -> int:
    return max(1, min(size, 10))


def default_size(options) -> int:
    return options.samples or DEFAULT_SIZE


async def bare_change(host, booking_id: int) -> None:
    async with host.database.session() as session:
        await services.set_booking_status(host, session, booking_id, "confirmed", actor="bench")
        await commit(session)


async def run_once(env, size: int) -> dict:
    n = size
    per_series = n + WARMUP_CALLS
    async with fresh_host(env.backend, env.workdir) as host:
        world = await seed_world(host)
        ids = await create_bookings(host, world, per_series * 2 * len(LATENCIES_MS), status="option")
        chunks = [ids[i:i + per_series] for i in range(0, len(ids), per_series)]
        sandbox = Sandbox()
        sandbox.connect(host)
        reset_peak_rss()
        counter = StatementCounter(host.database)
        LOG_COUNTER.take()
        variants: dict = {}
        raw: dict = {}
        wrapper = {}
        try:
            async with serving(host, wrap=lambda app: wrapper.setdefault("w", PerRequestStatements(app, counter))) as (url, _):
                per_request = wrapper["w"]
                for index, latency in enumerate(LATENCIES_MS):
                    await sandbox.latency(latency)
                    bare_ids, api_ids = chunks[2 * index], chunks[2 * index + 1]

                    for booking_id in bare_ids[:WARMUP_CALLS]:
                        await bare_change(host, booking_id)
                    bare_ms = []
                    before, began, opened = counter.n, counter.transactions, counter.connections_opened
                    for booking_id in bare_ids[WARMUP_CALLS:]:
                        started = time.perf_counter()
                        await bare_change(host, booking_id)
                        bare_ms.append((time.perf_counter() - started) * 1000)
                    bare_sql = (counter.n - before) / n
                    bare_transactions = (counter.transactions - began) / n
                    bare_connections = counter.connections_opened - opened
                    opened = counter.connections_opened

                    per_request.per_request.clear()
                    per_request.transactions_per_request.clear()
                    client = await run_client({
                        "url": url, "token": world.token, "concurrency": 1,
                        "warmup": [set_status_request(b, "confirmed") for b in api_ids[:WARMUP_CALLS]],
                        "requests": [set_status_request(b, "confirmed") for b in api_ids[WARMUP_CALLS:]],
                        "extract": [["data", "setBookingStatus", "booking", "access", 0, "state"]],
                    })
                    api_ms = client["latencies_ms"]
                    api_connections = counter.connections_opened - opened
                    api_sql = per_request.per_request[-n:]
                    api_transactions = per_request.transactions_per_request[-n:]
                    states = [row[0] if row else None for row in client["extracts"]]
                    api, bare = summary(api_ms), summary(bare_ms)
                    key = f"latency_{latency:g}ms"
                    variants[key] = {
                        "graphql_http_ms": api,
                        "bare_service_ms": bare,
                        "overhead_ms": {q: api[q] - bare[q] for q in ("p50", "p95", "p99")},
                        "sql_per_call_graphql_http": sum(api_sql) / len(api_sql) if api_sql else None,
                        "sql_per_call_bare_service": bare_sql,
                        "transactions_per_call_graphql_http": (sum(api_transactions) / len(api_transactions)
                                                               if api_transactions else None),
                        "transactions_per_call_bare_service": bare_transactions,
                        "db_connections_opened_graphql_http": api_connections,
                        "db_connections_opened_bare_service": bare_connections,
                        "graphql_answers_active": states.count("ACTIVE"),
                        "graphql_errors": client["graphql_errors"] + client["http_errors"],
                        "first_error": client["first_error"],
                    }
                    raw[key] = {"graphql_http_ms": api_ms, "bare_service_ms": bare_ms,
                                "sql_per_graphql_request": api_sql,
                                "transactions_per_graphql_request": api_transactions}
                counts = await grant_counts(host.database)
        finally:
            counter.close()
            await sandbox.aclose()
        settings = settings_record(host)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "calls_per_variant": n,
        **variants,
        "grant_states_at_end": counts,
        "log_warnings": LOG_COUNTER.take(),
        "raw": raw,
        "_settings": {**settings, "sandbox_latencies_ms": list(LATENCIES_MS),
                      "client_concurrency": 1, "warmup_calls_per_series": WARMUP_CALLS},
    }


def table_rows(m: dict) -> list[tuple[str, str]]:
    rows = []
    for latency in LATENCIES_MS:
        v = m.get(f"latency_{latency:g}ms")
        if not v:
            continue
        api, bare, over = v["graphql_http_ms"], v["bare_service_ms"], v["overhead_ms"]
        tag = f"Resivo {latency:g} ms"
        rows += [
            (f"{tag}: GraphQL/HTTP p50/p95/p99", f"{api['p50']:.1f} / {api['p95']:.1f} / {api['p99']:.1f} ms"),
            (f"{tag}: bare service p50/p95/p99", f"{bare['p50']:.1f} / {bare['p95']:.1f} / {bare['p99']:.1f} ms"),
            (f"{tag}: overhead p50/p95/p99", f"{over['p50']:.1f} / {over['p95']:.1f} / {over['p99']:.1f} ms"),
            (f"{tag}: SQL per call GraphQL / bare", f"{v['sql_per_call_graphql_http']:.1f} / {v['sql_per_call_bare_service']:.1f}"),
            (f"{tag}: transactions per call GraphQL / bare",
             f"{v['transactions_per_call_graphql_http']:.1f} / {v['transactions_per_call_bare_service']:.1f}"),
        ]
    if m.get("peak_rss_mb") is not None:
        rows.append(("peak RSS of the server process", f"{m['peak_rss_mb']:.0f} MB"))
    return rows
