"""Scenario 5 — bulk confirmation where Resivo is the limit: scenario 1 with every Resivo call
answered after 200 ms instead of 50 ms. At this latency a grant's necessary call dominates, so
the ratio to the lower bound (grants × latency / RESIVO_CONCURRENCY) shows how close the engine
comes to doing one call per grant, RESIVO_CONCURRENCY at a time."""

from __future__ import annotations

from . import bulk_confirmation

NAME = "bulk_confirmation_slow"
TITLE = "5. Bulk confirmation, Resivo at 200 ms"
LATENCY_MS = 200.0
default_size = bulk_confirmation.default_size
warmup_size = bulk_confirmation.warmup_size
table_rows = bulk_confirmation.table_rows


async def run_once(env, size: int) -> dict:
    return await bulk_confirmation.run_once(env, size, latency_ms=LATENCY_MS)
