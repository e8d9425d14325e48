"""Scenario 1 — bulk confirmation: N bookings confirmed through the GraphQL API, as an import
would do, against a Resivo that answers every call after 50 ms.

Set-up (not timed): a fresh migrated database with the integration of the acceptance test and
N bookings in status ``option``; a fresh sandbox (so the token cache starts empty) with 50 ms
latency; the app served by uvicorn on 127.0.0.1; the access worker running beside it, as the
default deployment does (IRESERVE_WORKER=true).

Timed: the client process sends ``setBookingStatus(confirmed)`` for every booking, 12 requests in
flight (an import script with a small pool). Each confirmation commits, then reconciles its
grant within the bounded wait (IRESERVE_RECONCILE_WAIT, default 3 s); what the wait does not
finish goes on in the background and the worker is the safety net. The clock stops when every
grant is ACTIVE (polled on a separate engine every 0.1 s).

Lower bound: each grant needs one Resivo call (its create) that costs the latency, and at most
RESIVO_CONCURRENCY reconciles talk to Resivo at once, so no schedule can finish faster than
grants × latency / concurrency. (Until November 2026 the bound was calls made × latency /
concurrency, which rewarded making more calls; it is still reported as "calls-based bound".)

Attempts are counted per grant where the engine starts one (``start_attempt``), whatever calls
it makes. Peak RSS is the benchmark process's (app, worker and sandbox) during the run.
"""

from __future__ import annotations

import asyncio
import time

from addon.base.public import Database
from addon.door_access.reconcile import drain_background
from addon.door_access.worker import Worker
from addon.resivo.settings import resivo_settings

from .harness import (
    LOG_COUNTER,
    WARMUP_QUERY,
    AttemptCounter,
    PerRequestStatements,
    Sandbox,
    StatementCounter,
    TransactionTimer,
    access_check,
    cpu_seconds,
    create_bookings,
    field_values,
    fresh_host,
    grants,
    machine_busy,
    machine_cpu,
    peak_rss_mb,
    reset_peak_rss,
    run_client,
    seed_world,
    serving,
    set_status_request,
    settings_record,
    summary,
    wait_until_active,
)

NAME = "bulk_confirmation"
TITLE = "1. Bulk confirmation over GraphQL/HTTP"
DEFAULT_SIZE = 1000
LATENCY_MS = 50.0


def default_size(options) -> int:
    return DEFAULT_SIZE


def warmup_size(size: int) -> int:
    return max(1, min(size, 50))


def overrides(options) -> dict:
    extra = {}
    if options.reconcile_wait is not None:
        extra["IRESERVE_RECONCILE_WAIT"] = str(options.reconcile_wait)
    return extra


async def run_once(env, size: int, latency_ms: float = LATENCY_MS) -> dict:
    options = env.options
    async with fresh_host(env.backend, env.workdir, **overrides(options)) as host:
        world = await seed_world(host)
        booking_ids = await create_bookings(host, world, size, status="option")
        sandbox = Sandbox()
        await sandbox.latency(latency_ms)
        sandbox.connect(host)
        reset_peak_rss()
        attempts = AttemptCounter()
        counter = StatementCounter(host.database)
        transactions = TransactionTimer(host.database)
        monitor = Database(host.settings.database_url)
        LOG_COUNTER.take()
        wrapper = {}
        try:
            async with serving(host, wrap=lambda app: wrapper.setdefault("w", PerRequestStatements(app, counter))) as (url, _):
                stop = asyncio.Event()
                worker = asyncio.get_running_loop().create_task(Worker(host).run_forever(stop))
                job = {
                    "url": url,
                    "token": world.token,
                    "concurrency": options.client_concurrency,
                    # Same HTTP path, no Resivo call: warms connections, auth and the SQL cache.
                    "warmup": [WARMUP_QUERY] * 10,
                    "requests": [set_status_request(b, "confirmed") for b in booking_ids],
                    "extract": [["data", "setBookingStatus", "booking", "access", 0, "state"],
                                ["data", "setBookingStatus", "errors", "#len"]],
                }
                statements_before = counter.n
                connections_before = counter.connections_opened
                cpu_before, machine_before = cpu_seconds(), machine_cpu()
                transactions.take()
                client = await run_client(job)
                client_done = time.monotonic()
                done_at, counts, progress = await wait_until_active(monitor, len(booking_ids),
                                                                    timeout=max(120.0, size * 0.5),
                                                                    since=client["started"])
                cpu = cpu_seconds() - cpu_before
                machine = machine_busy(machine_before, machine_cpu())
                held = transactions.take()
                await drain_background(host)
                stop.set()
                await worker
                statements = counter.n - statements_before
                connections = counter.connections_opened - connections_before
                stats = await sandbox.stats()
                sets = await sandbox.authorizations()
        finally:
            attempts.close()
            counter.close()
            transactions.close()
            await monitor.dispose()
            await sandbox.aclose()
        grant_rows = await grants(host)
        check = access_check(sets, grant_rows, await field_values(host), booking_ids)
        per_booking = attempts.per_booking(grant_rows)
        settings = settings_record(host)
        concurrency = resivo_settings(host).concurrency
    peak_rss = peak_rss_mb()

    calls = stats["calls"]
    total_calls = sum(calls.values())
    lower_bound = size * latency_ms / 1000 / concurrency  # one necessary call per grant
    per_grant = [per_booking.get(b, 0) for b in booking_ids]
    wall = (done_at - client["started"]) if done_at else None
    states = [row[0] if row else None for row in client["extracts"]]
    return {
        "bookings": size,
        "completed": done_at is not None,
        "wall_s": wall,
        "client_phase_s": client["finished"] - client["started"],
        "tail_after_last_answer_s": (done_at - client_done) if done_at else None,
        "resivo_calls_total": total_calls,
        "resivo_calls": dict(sorted(calls.items())),
        "resivo_calls_per_grant": total_calls / size,
        # What a grant costs once the door list is known: everything but the directory and the token.
        "resivo_calls_per_grant_after_directory": sum(
            n for op, n in calls.items() if op not in ("get_site", "list_sites", "list_components", "token")) / size,
        "token_requests": stats["tokenRequests"],
        "lower_bound_s": lower_bound,
        "ratio_to_lower_bound": (wall / lower_bound) if wall and lower_bound else None,
        "calls_based_bound_s": total_calls * latency_ms / 1000 / concurrency,
        "attempts_per_grant_mean": sum(per_grant) / size,
        "attempts_per_grant_max": max(per_grant) if per_grant else None,
        "peak_rss_mb": peak_rss,
        "confirmations_per_s": (size / wall) if wall else None,
        "server_cpu_s": cpu,
        "server_cpu_ms_per_confirmation": cpu * 1000 / size,
        "server_cpu_share_of_wall": (cpu / wall) if wall else None,
        "client_cpu_s": client["cpu_s"],
        "machine_cpu_busy_share": machine,
        "db_transactions": len(held),
        "db_transaction_ms": summary([d * 1000 for d in held]),
        "db_transaction_open_share_of_wall": (sum(held) / wall) if wall else None,
        "answered_active": states.count("ACTIVE"),
        "answered_pending": states.count("PENDING"),
        "answered_other": len(states) - states.count("ACTIVE") - states.count("PENDING"),
        "http_errors": client["http_errors"],
        "graphql_errors": client["graphql_errors"],
        "first_error": client["first_error"],
        "request_latency_ms": summary(client["latencies_ms"]),
        "sql_statements_total": statements,
        "sql_statements_per_confirmation": statements / size,
        "db_connections_opened": connections,
        "grant_states_at_end": counts,
        "access_check": check,
        "log_warnings": LOG_COUNTER.take(),
        "raw": {"request_latency_ms": client["latencies_ms"], "progress_s_active": progress},
        "_settings": {**settings, "sandbox_latency_ms": latency_ms,
                      "client_concurrency": options.client_concurrency},
    }


def table_rows(m: dict) -> list[tuple[str, str]]:
    return [
        ("wall time until all ACTIVE", f"{m['wall_s']:.2f} s" if m.get("wall_s") is not None else "incomplete"),
        ("lower bound grants×latency/concurrency", f"{m['lower_bound_s']:.2f} s"),
        ("ratio measured / lower bound", f"{m['ratio_to_lower_bound']:.2f}" if m.get("ratio_to_lower_bound") else "-"),
        ("Resivo calls (by operation)", f"{m['resivo_calls_total']:.0f} ("
         + ", ".join(f"{k} {v:.0f}" for k, v in m["resivo_calls"].items()) + ")"),
        ("Resivo calls per grant, all / after the door list",
         f"{m['resivo_calls_per_grant']:.2f} / {m['resivo_calls_per_grant_after_directory']:.2f}"),
        ("attempts per grant mean / max", f"{m['attempts_per_grant_mean']:.2f} / {m['attempts_per_grant_max']:.0f}"),
        ("token requests", f"{m['token_requests']:.0f}"),
        ("answers already ACTIVE / PENDING", f"{m['answered_active']:.0f} / {m['answered_pending']:.0f}"),
        ("request latency p50 / p95", f"{m['request_latency_ms']['p50']:.0f} / {m['request_latency_ms']['p95']:.0f} ms"),
        ("SQL statements per confirmation", f"{m['sql_statements_per_confirmation']:.1f}"),
        ("server CPU per confirmation", f"{m['server_cpu_ms_per_confirmation']:.1f} ms"),
        ("DB connections opened", f"{m['db_connections_opened']:.0f}"),
        ("DB transactions: open time / wall, p99", f"{m['db_transaction_open_share_of_wall']:.2f}, "
         f"{m['db_transaction_ms']['p99']:.0f} ms"),
        ("machine CPU busy (all cores)", f"{100 * m['machine_cpu_busy_share']:.0f} %"
         if m.get("machine_cpu_busy_share") is not None else "-"),
        ("peak RSS of the server process", f"{m['peak_rss_mb']:.0f} MB"),
        ("access check (1 set per booking, no orphans)", "ok" if m["access_check"]["ok"] else "FAILED"),
    ]
