"""Scenario 4 — worker drain under faults: N due grants and a flaky Resivo.

Set-up (not timed): N bookings created in status ``confirmed`` through the booking service, so
the access intent makes each one's grant (PENDING, due now) exactly as in production; their
after-commit reconciles are dropped, as if Resivo had been down when they were confirmed. The
sandbox fails calls at random — 20 % with 503, 5 % with 429 (Retry-After 0.2 s) — and answers
the others after the drain latency (default 20 ms).

Timed: ``addon.door_access.worker.Worker.run_forever`` (the loop the server runs) from start until
every grant is ACTIVE (polled on a separate engine every 0.1 s). Backoff is shortened so the run
finishes: IRESERVE_RETRY_BASE 0.1 s, IRESERVE_RETRY_MAX 2 s, IRESERVE_WORKER_INTERVAL 0.1 s (the
loop only sleeps when nothing is due); batch size and concurrency are the defaults.

Figures: time to drain; attempts per grant (one attempt = one reconcile run, counted where the
engine starts it, whatever calls it makes); Resivo calls by operation and by answer, and per
grant; the lower bound grants × latency / RESIVO_CONCURRENCY (one necessary call per grant), and
the bound that includes the retry schedule the engine runs with (see ``retry_schedule_bound``);
SQL statements and server CPU per grant; the process's peak RSS; and the check that every
booking ends with exactly one active authorisation set, named by its grant and its booking
field, with no orphan set in the sandbox.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections import Counter

from sqlalchemy import func, select

from addon.base.public import Database
from addon.door_access.call_log import call_log
from addon.door_access.models import AccessCallLog, GrantState
from addon.door_access.worker import Worker
from addon.resivo.settings import resivo_settings

from .harness import (
    LOG_COUNTER,
    AttemptCounter,
    Sandbox,
    StatementCounter,
    access_check,
    cpu_seconds,
    create_bookings,
    field_values,
    fresh_host,
    grant_counts,
    grants,
    machine_busy,
    machine_cpu,
    peak_rss_mb,
    reset_peak_rss,
    seed_world,
    settings_record,
    summary,
    time_to_fraction,
    wait_until_active,
)

NAME = "worker_drain"
TITLE = "4. Worker drain under faults"
DEFAULT_SIZE = 1000
DEFAULT_LATENCY_MS = 20.0
FAULT_RATES = {"503": 0.20, "429": 0.05}
RETRY_AFTER_S = 0.2
OVERRIDES = {"IRESERVE_RETRY_BASE": "0.1", "IRESERVE_RETRY_MAX": "2", "IRESERVE_WORKER_INTERVAL": "0.1"}
_seeds = itertools.count(1)


def default_size(options) -> int:
    return DEFAULT_SIZE


def warmup_size(size: int) -> int:
    return max(1, min(size, 50))


def retry_schedule_bound(attempts_per_grant: list[int], latency_s: float, base_s: float, max_s: float,
                         concurrency: int) -> float:
    """No schedule drains faster than this, given the attempts each grant needed and the backoff the
    engine is configured with: a grant's attempts run one after the other, each takes at least one
    call (the latency), and before its n-th retry the grant waits at least half of
    min(max, base × 2^(n-1)) (the lowest draw of the full jitter, see leases.backoff_seconds); and
    all the calls share RESIVO_CONCURRENCY slots. The larger of the two."""
    def one_grant(attempts: int) -> float:
        waits = sum(min(max_s, base_s * 2 ** (n - 1)) / 2 for n in range(1, attempts))
        return attempts * latency_s + waits
    slowest = max((one_grant(a) for a in attempts_per_grant), default=0.0)
    return max(slowest, sum(attempts_per_grant) * latency_s / concurrency)


async def answers_by_status(host) -> dict[str, int]:
    async with host.database.session() as session:
        rows = (await session.execute(
            select(AccessCallLog.http_status, func.count()).group_by(AccessCallLog.http_status)
        )).all()
    return {str(status): n for status, n in sorted(rows, key=lambda r: r[0] or 0)}


async def run_once(env, size: int) -> dict:
    latency = env.options.drain_latency_ms
    seed = next(_seeds)
    async with fresh_host(env.backend, env.workdir, **OVERRIDES) as host:
        world = await seed_world(host)
        booking_ids = await create_bookings(host, world, size, status="confirmed")
        due_at_start = (await grant_counts(host.database)).get(GrantState.PENDING, 0)
        sandbox = Sandbox()
        await sandbox.latency(latency)
        await sandbox.add_fault({"mode": "random", "rates": FAULT_RATES, "retryAfter": RETRY_AFTER_S, "seed": seed})
        connector = sandbox.connect(host)
        reset_peak_rss()
        attempt_counter = AttemptCounter()
        counter = StatementCounter(host.database)
        monitor = Database(host.settings.database_url)
        LOG_COUNTER.take()
        try:
            stop = asyncio.Event()
            cpu_before, machine_before = cpu_seconds(), machine_cpu()
            started = time.monotonic()
            worker = asyncio.get_running_loop().create_task(Worker(host).run_forever(stop))
            done_at, counts, progress = await wait_until_active(monitor, size, timeout=max(180.0, size * 0.5),
                                                                since=started)
            cpu = cpu_seconds() - cpu_before
            machine = machine_busy(machine_before, machine_cpu())
            stop.set()
            await worker
            stats = await sandbox.stats()
            faults = await sandbox.faults()
            sets = await sandbox.authorizations()
            await call_log(host).flush()
            statements, connections = counter.n, counter.connections_opened
        finally:
            attempt_counter.close()
            counter.close()
            await connector.aclose()
            await monitor.dispose()
            await sandbox.aclose()
        statuses = await answers_by_status(host)
        grant_rows = await grants(host)
        attempts = attempt_counter.per_booking(grant_rows)
        check = access_check(sets, grant_rows, await field_values(host), booking_ids)
        settings = settings_record(host)
        concurrency = resivo_settings(host).concurrency
    peak_rss = peak_rss_mb()

    per_grant = [attempts.get(b, 0) for b in booking_ids]
    calls = stats["calls"]
    total_calls = sum(calls.values())
    lower_bound = size * latency / 1000 / concurrency  # one necessary call per grant
    retry_bound = retry_schedule_bound(per_grant, latency / 1000, float(OVERRIDES["IRESERVE_RETRY_BASE"]),
                                       float(OVERRIDES["IRESERVE_RETRY_MAX"]), concurrency)
    drain = (done_at - started) if done_at else None
    fired = next((f.get("fired") for f in faults if f.get("mode") == "random"), None)
    return {
        "grants": size,
        "due_at_start": due_at_start,
        "completed": done_at is not None,
        "drain_s": drain,
        "grants_per_s": (size / drain) if drain else None,
        "time_to_50pct_active_s": time_to_fraction(progress, size, 0.5),
        "time_to_90pct_active_s": time_to_fraction(progress, size, 0.9),
        "time_to_99pct_active_s": time_to_fraction(progress, size, 0.99),
        "server_cpu_s": cpu,
        "server_cpu_share_of_drain": (cpu / drain) if drain else None,
        "machine_cpu_busy_share": machine,
        "attempts_per_grant_mean": statistics.fmean(per_grant) if per_grant else None,
        "attempts_per_grant_max": max(per_grant) if per_grant else None,
        "attempts_per_grant": summary([float(a) for a in per_grant]),
        "attempts_histogram": {str(k): v for k, v in sorted(Counter(per_grant).items())},
        "reconcile_runs": sum(per_grant),
        "resivo_calls_total": total_calls,
        "resivo_calls": dict(sorted(calls.items())),
        "token_requests": stats["tokenRequests"],
        "faults_fired": fired,
        "answers_by_http_status": statuses,
        "resivo_calls_per_grant": total_calls / size,
        "lower_bound_s": lower_bound,
        "ratio_to_lower_bound": (drain / lower_bound) if drain and lower_bound else None,
        "calls_based_bound_s": total_calls * latency / 1000 / concurrency,
        "retry_schedule_bound_s": retry_bound,
        "ratio_to_retry_schedule_bound": (drain / retry_bound) if drain and retry_bound else None,
        "sql_statements_per_reconcile": statements / max(1, sum(per_grant)),
        "sql_statements_per_grant": statements / size,
        "server_cpu_ms_per_grant": cpu * 1000 / size,
        "peak_rss_mb": peak_rss,
        "db_connections_opened": connections,
        "grant_states_at_end": counts,
        "access_check": check,
        "log_warnings": LOG_COUNTER.take(),
        "raw": {"attempts_per_grant": per_grant, "progress_s_active": progress},
        "_settings": {**settings, "sandbox_latency_ms": latency,
                      "fault_rates": FAULT_RATES, "retry_after_s": RETRY_AFTER_S, "fault_seed": seed},
    }


def table_rows(m: dict) -> list[tuple[str, str]]:
    statuses = m.get("answers_by_http_status", {})
    return [
        ("time to drain", f"{m['drain_s']:.2f} s" if m.get("drain_s") is not None else "incomplete"),
        ("attempts per grant mean / max", f"{m['attempts_per_grant_mean']:.2f} / {m['attempts_per_grant_max']:.0f}"),
        ("Resivo calls (by operation)", f"{m['resivo_calls_total']:.0f} ("
         + ", ".join(f"{k} {v:.0f}" for k, v in m["resivo_calls"].items()) + ")"),
        ("answers by HTTP status", ", ".join(f"{k}: {v:.0f}" for k, v in statuses.items())),
        ("time to 50% / 90% / 99% ACTIVE", " / ".join(
            f"{m[k]:.1f}" if m.get(k) is not None else "-"
            for k in ("time_to_50pct_active_s", "time_to_90pct_active_s", "time_to_99pct_active_s")) + " s"),
        ("Resivo calls per grant", f"{m['resivo_calls_per_grant']:.2f}"),
        ("lower bound grants×latency/concurrency", f"{m['lower_bound_s']:.2f} s"),
        ("ratio measured / lower bound", f"{m['ratio_to_lower_bound']:.2f}" if m.get("ratio_to_lower_bound") else "-"),
        ("bound with the retry schedule / ratio", f"{m['retry_schedule_bound_s']:.2f} s / "
         f"{m['ratio_to_retry_schedule_bound']:.2f}" if m.get("ratio_to_retry_schedule_bound") else "-"),
        ("server CPU / DB connections opened", f"{m['server_cpu_s']:.1f} s / {m['db_connections_opened']:.0f}"),
        ("server CPU / SQL statements per grant", f"{m['server_cpu_ms_per_grant']:.1f} ms / "
         f"{m['sql_statements_per_grant']:.1f}"),
        ("peak RSS of the server process", f"{m['peak_rss_mb']:.0f} MB"),
        ("1 active set per booking, no orphans", "ok" if m["access_check"]["ok"] else "FAILED"),
    ]
