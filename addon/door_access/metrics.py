"""Door-access metrics: lock-vendor calls and sweep findings as they happen (in each process),
grants by state and the due backlog read from the database when /metrics is scraped."""

from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from addon.base.public import Host

from .models import AccessGrant

VENDOR_CALL_DURATION = Histogram(
    "ireserve_vendor_call_duration_seconds", "Calls to the lock vendor by operation and outcome (ok, transient, "
    "permanent)", ["operation", "outcome"])
SWEEP_FINDINGS = Counter("ireserve_sweep_findings_total",
                         "What the drift sweep found: grants checked, drifted (repaired), errors", ["kind"])


async def collect_access_metrics(host: Host) -> list:
    now = host.clock.now()
    async with host.database.session(read_only=True) as session:
        by_state = (await session.execute(
            select(AccessGrant.state, func.count()).group_by(AccessGrant.state))).all()
        due, oldest = (await session.execute(
            select(func.count(), func.min(AccessGrant.next_attempt_at))
            .where(AccessGrant.next_attempt_at.is_not(None), AccessGrant.next_attempt_at <= now))).one()
        await session.rollback()
    grants = GaugeMetricFamily("ireserve_access_grants", "Access grants by state", labels=["state"])
    for state, count in sorted(by_state):
        grants.add_metric([str(state)], count)
    backlog = GaugeMetricFamily("ireserve_access_due_grants", "Grants due for the access worker now")
    backlog.add_metric([], due)
    age = GaugeMetricFamily("ireserve_access_oldest_due_seconds",
                            "How long the oldest due grant has been waiting (0 when none is due)")
    age.add_metric([], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else 0.0)
    return [grants, backlog, age]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
