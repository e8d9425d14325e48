"""Door-access metrics: lock-vendor calls and sweep findings as they happen (in each process),
grants by state, the due backlog and the workers' heartbeat read from the database when /metrics
is scraped."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from addon.base.public import Host

from .heartbeat import read_rounds
from .journal import Change
from .models import UNRESOLVED, AccessGrant, AccessSetRecord, Resolution

log = logging.getLogger(__name__)

VENDOR_CALL_DURATION = Histogram(
    "ireserve_vendor_call_duration_seconds", "Calls to the lock vendor by operation and outcome (ok, transient, "
    "permanent)", ["operation", "outcome"])
SWEEP_FINDINGS = Counter("ireserve_sweep_findings_total",
                         "What the drift sweep found: grants checked, drifted (repaired), errors, unresolved "
                         "(queued to settle a journal record)", ["kind"])
SET_RESOLUTIONS = Counter("ireserve_access_set_resolutions_total",
                          "How access sets the engine asked for came to rest: created, adopted (found after a lost "
                          "answer and kept), orphan_revoked (found and revoked), replaced, revoked, vanished, "
                          "never_made", ["resolution"])
# Repairs an operator hears of: the engine found a set it had not known of.
REPAIRS = {Resolution.ADOPTED: "adopted a set whose create answer was lost",
           Resolution.ORPHAN_REVOKED: "revoked a set no grant wanted (its create answer was lost)"}


def count_resolutions(changes: Iterable[Change], grant_id: int) -> None:
    """Count (and log, for repairs) how journal records came to rest; called once they are written."""
    for change in changes:
        if change.resolution is None:
            continue
        SET_RESOLUTIONS.labels(resolution=change.resolution.lower()).inc()
        if change.resolution in REPAIRS:
            log.warning("access grant %s: %s (set %s)", grant_id, REPAIRS[change.resolution], change.set_id)


async def collect_access_metrics(host: Host) -> list:
    now = host.clock.now()
    async with host.database.session(read_only=True) as session:
        by_state = (await session.execute(
            select(AccessGrant.state, func.count()).group_by(AccessGrant.state))).all()
        due, oldest = (await session.execute(
            select(func.count(), func.min(AccessGrant.next_attempt_at))
            .where(AccessGrant.next_attempt_at.is_not(None), AccessGrant.next_attempt_at <= now))).one()
        unresolved = (await session.execute(
            select(func.count()).where(AccessSetRecord.status.in_(UNRESOLVED)))).scalar_one()
        rounds = await read_rounds(host, session)
        await session.rollback()
    grants = GaugeMetricFamily("ireserve_access_grants", "Access grants by state", labels=["state"])
    for state, count in sorted(by_state):
        grants.add_metric([str(state)], count)
    backlog = GaugeMetricFamily("ireserve_access_due_grants", "Grants due for the access worker now")
    backlog.add_metric([], due)
    age = GaugeMetricFamily("ireserve_access_oldest_due_seconds",
                            "How long the oldest due grant has been waiting (0 when none is due)")
    age.add_metric([], max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else 0.0)
    open_sets = GaugeMetricFamily("ireserve_access_unresolved_sets",
                                  "Access sets the journal names that are not settled yet (a create whose answer "
                                  "is unknown, or a set still to revoke)")
    open_sets.add_metric([], unresolved)
    alive = GaugeMetricFamily("ireserve_workers_alive",
                              "Access workers whose last round is at most IRESERVE_WORKER_MISSING_AFTER old")
    alive.add_metric([], rounds.alive)
    last_round = GaugeMetricFamily("ireserve_worker_last_round_seconds",
                                   "Seconds since each access worker's last round (workers heard of within the hour)",
                                   labels=["worker"])
    for worker in sorted(rounds.last_rounds):
        last_round.add_metric([worker], rounds.seconds_since(worker))
    return [grants, backlog, age, open_sets, alive, last_round]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
