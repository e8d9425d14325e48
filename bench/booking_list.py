"""Scenario 3 — booking list: the staff planner's page of bookings.

``bookings(first: N)`` selecting each booking's object with its parent, customer, status,
booking fields and door access, sent one request at a time from the client process to uvicorn
on 127.0.0.1, at two page sizes (N/10 and N, default 20 and 200). Every booking has a
booking-field value and an ACTIVE access grant; bookings lie on sub-objects (with a parent) and
on a main object. The database holds 2N+1 bookings, so a page is never the whole table.

Figures: p50/p95 latency in the client; SQL statements of each request (counted on the server's
engine with a ``before_cursor_execute`` listener while requests come one at a time; BEGIN /
COMMIT / ROLLBACK not counted) at both page sizes — the DataLoaders should keep this constant —
and the ratio to one hand-written SQL query that fetches the same rows with joins (run in the
server process on the same engine: connection checkout, execute, fetch all rows).
"""

from __future__ import annotations

import statistics
import time

from sqlalchemy import text

from .harness import (
    LOG_COUNTER,
    GCWatch,
    PerRequestStatements,
    StatementCounter,
    activate_grants_directly,
    cpu_seconds,
    create_bookings,
    fresh_host,
    peak_rss_mb,
    reset_peak_rss,
    run_client,
    seed_world,
    serving,
    settings_record,
    summary,
)

NAME = "booking_list"
TITLE = "3. Booking list bookings(first: N)"
DEFAULT_SIZE = 200  # the large page; the small one is a tenth of it
DEFAULT_SAMPLES = 40
WARMUP_REQUESTS = 5

QUERY = """query($first: Int!) { bookings(first: $first) { edges { cursor node {
  id reference start end
  object { id code name timeZone parent { id code name } }
  customer { id name email phone language }
  status { code name }
  fields { code value }
  access { state authorizationId doors { id name } validFrom validTo locale }
} } pageInfo { hasNextPage endCursor } } }"""

HAND_WRITTEN_SQL = text("""
SELECT b.id, b.reference, b.start_at, b.end_at,
       o.id AS object_id, o.code AS object_code, o.name AS object_name, o.time_zone,
       p.id AS parent_id, p.code AS parent_code, p.name AS parent_name,
       c.id AS customer_id, c.name AS customer_name, c.email, c.phone, c.language,
       s.code AS status_code, s.name AS status_name,
       f.code AS field_code, fv.value AS field_value,
       g.state, g.authorization_id, g.doors, g.valid_from, g.valid_to, g.locale
FROM (SELECT * FROM booking_booking ORDER BY start_at, id LIMIT :n) AS b
JOIN booking_object o ON o.id = b.object_id
LEFT JOIN booking_object p ON p.id = o.parent_id
JOIN booking_customer c ON c.id = b.customer_id
JOIN booking_status s ON s.id = b.status_id
LEFT JOIN booking_field_value fv ON fv.booking_id = b.id
LEFT JOIN booking_field f ON f.id = fv.field_id
LEFT JOIN door_access_grant g ON g.booking_id = b.id
ORDER BY b.start_at, b.id, f.code, g.integration_id
""")


def default_size(options) -> int:
    return DEFAULT_SIZE


def warmup_size(size: int) -> int:
    return max(2, min(size, 20))


def page_sizes(size: int) -> list[int]:
    return sorted({max(1, size // 10), size})


async def hand_written(host, first: int) -> int:
    async with host.database.engine.connect() as connection:
        rows = (await connection.execute(HAND_WRITTEN_SQL, {"n": first})).all()
    return len(rows)


# The planner's page of 200 costs 61,205 (addon/base/server/query_cost.py), over the staff role's default
# budget of 50,000: without this the large page would measure the refusal, not the page.
OVERRIDES = {"IRESERVE_COST_BUDGET_STAFF": "100000"}


async def run_once(env, size: int) -> dict:
    samples = env.options.samples or DEFAULT_SAMPLES
    async with fresh_host(env.backend, env.workdir, **OVERRIDES) as host:
        world = await seed_world(host)
        await create_bookings(host, world, 2 * size + 1, status="confirmed")
        await activate_grants_directly(host)
        reset_peak_rss()
        counter = StatementCounter(host.database)
        collections = GCWatch()
        LOG_COUNTER.take()
        pages: dict = {}
        raw: dict = {}
        wrapper = {}
        try:
            async with serving(host, wrap=lambda app: wrapper.setdefault("w", PerRequestStatements(app, counter))) as (url, _):
                per_request = wrapper["w"]
                for first in page_sizes(size):
                    request = {"query": QUERY, "variables": {"first": first}}
                    per_request.per_request.clear()
                    per_request.capture_next = True  # keep the SQL text of the first (warm-up) request
                    opened = counter.connections_opened
                    collections.take()
                    cpu_before = cpu_seconds()
                    client = await run_client({
                        "url": url, "token": world.token, "concurrency": 1,
                        "warmup": [request] * WARMUP_REQUESTS, "requests": [request] * samples,
                        "extract": [["data", "bookings", "edges", "#len"]],
                    })
                    # The server's CPU (this process) per request, warm-up requests included.
                    cpu_ms = (cpu_seconds() - cpu_before) * 1000 / (samples + WARMUP_REQUESTS)
                    statements = per_request.per_request[-samples:]
                    connections = counter.connections_opened - opened
                    full_gcs, gc_seconds = collections.take()
                    rows_seen = {row[0] if row else None for row in client["extracts"]}

                    for _ in range(WARMUP_REQUESTS):
                        await hand_written(host, first)
                    sql_ms, sql_rows = [], set()
                    for _ in range(samples):
                        started = time.perf_counter()
                        sql_rows.add(await hand_written(host, first))
                        sql_ms.append((time.perf_counter() - started) * 1000)

                    api, sql = summary(client["latencies_ms"]), summary(sql_ms)
                    key = f"first_{first}"
                    pages[key] = {
                        "graphql_http_ms": api,
                        "hand_written_sql_ms": sql,
                        "ratio_p50": api["p50"] / sql["p50"],
                        "ratio_p95": api["p95"] / sql["p95"],
                        "p95_over_p50": api["p95"] / api["p50"],
                        "server_cpu_ms_per_request": cpu_ms,
                        "sql_statements_per_request": sum(statements) / len(statements) if statements else None,
                        "sql_statements_median": statistics.median(statements) if statements else None,
                        "sql_statements_min": min(statements) if statements else None,
                        "sql_statements_max": max(statements) if statements else None,
                        "db_connections_opened": connections,
                        # Server side, during the timed and warm-up requests of this page size.
                        "full_gc_runs_per_request": full_gcs / (samples + WARMUP_REQUESTS),
                        "full_gc_ms_mean": (gc_seconds * 1000 / full_gcs) if full_gcs else 0.0,
                        "edges_returned_ok": rows_seen == {first},
                        "hand_written_rows_ok": sql_rows == {first},
                        "errors": client["graphql_errors"] + client["http_errors"],
                        "first_error": client["first_error"],
                    }
                    raw[key] = {"graphql_http_ms": client["latencies_ms"], "hand_written_sql_ms": sql_ms,
                                "sql_statements_per_request": statements,
                                "statements_of_one_request": per_request.captured}
        finally:
            counter.close()
            collections.close()
        settings = settings_record(host)
    peak_rss = peak_rss_mb()
    ordered = [pages[f"first_{f}"] for f in page_sizes(size)]
    small, large = ordered[0], ordered[-1]
    return {
        "page_sizes": page_sizes(size),
        "bookings_in_database": 2 * size + 1,
        "samples_per_page_size": samples,
        **pages,
        # DataLoader batches are cut by the event loop, so a request now and then needs one more
        # statement; what matters is that the count does not follow the page size.
        "statements_grow_with_page_size": large["sql_statements_median"] > small["sql_statements_median"],
        "peak_rss_mb": peak_rss,
        "log_warnings": LOG_COUNTER.take(),
        "raw": raw,
        "_settings": {**settings, "client_concurrency": 1, "warmup_requests": WARMUP_REQUESTS},
    }


def table_rows(m: dict) -> list[tuple[str, str]]:
    rows = []
    for key, v in m.items():
        if not key.startswith("first_") or not isinstance(v, dict):
            continue
        api, sql = v["graphql_http_ms"], v["hand_written_sql_ms"]
        tag = key.replace("first_", "first: ")
        rows += [
            (f"{tag}: GraphQL/HTTP p50 / p95 (p95/p50)", f"{api['p50']:.1f} / {api['p95']:.1f} ms "
                                                        f"({v['p95_over_p50']:.2f})"),
            (f"{tag}: server CPU per request", f"{v['server_cpu_ms_per_request']:.1f} ms"),
            (f"{tag}: SQL statements per request (min-max)",
             f"{v['sql_statements_median']:.0f} ({v['sql_statements_min']:.0f}-{v['sql_statements_max']:.0f})"),
            (f"{tag}: hand-written SQL p50 / p95", f"{sql['p50']:.2f} / {sql['p95']:.2f} ms"),
            (f"{tag}: ratio GraphQL / SQL p50 (p95)", f"{v['ratio_p50']:.1f} ({v['ratio_p95']:.1f})"),
            (f"{tag}: full GCs per request, ms each", f"{v['full_gc_runs_per_request']:.2f}, {v['full_gc_ms_mean']:.0f} ms"),
        ]
    if m.get("peak_rss_mb") is not None:
        rows.append(("peak RSS of the server process", f"{m['peak_rss_mb']:.0f} MB"))
    return rows
