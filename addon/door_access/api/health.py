"""Health at a glance: per integration, where its grants stand, what waits and since when, why
grants failed, what the last drift sweep found and how the lock vendor answered in the last hour;
and whether any access worker is at work (their heartbeat)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

import strawberry
from sqlalchemy import case, func, select
from strawberry.types import Info

from addon.base.public import CodedError, IsAdmin, Message, ValidationFailed

from ..heartbeat import read_rounds
from ..models import UNRESOLVED, AccessCallLog, AccessGrant, AccessSetRecord, DoorIntegration, GrantState, Resolution, SweepRun
from ..policy import get_integration
from .access_types import GrantStateType
from .types import DoorIntegrationType

VENDOR_WINDOW = timedelta(hours=1)
REPAIR_WINDOW = timedelta(days=1)


@strawberry.type(name="AccessStateCount")
class AccessStateCountType:
    state: GrantStateType
    count: int


@strawberry.type(name="FailedAccessReason", description="FAILED grants that share one reason.")
class FailedAccessReasonType:
    reason: Optional[str] = strawberry.field(description="The grants' last error; null when none was recorded.")
    count: int


@strawberry.type(name="DoorSweepRun", description="One round of the drift sweep over an integration's active grants.")
class DoorSweepRunType:
    started_at: datetime
    finished_at: Optional[datetime]
    checked: int = strawberry.field(description="Access sets read at the lock vendor.")
    drifted: int = strawberry.field(description="Found revoked, gone or changed, and queued for repair.")
    errors: int = strawberry.field(description="Could not be checked (the vendor failed); checked again next round.")
    unresolved: int = strawberry.field(description=(
        "Grants found at rest with an unresolved access set in the journal, queued so that it is settled."))

    @classmethod
    def from_model(cls, row: SweepRun) -> "DoorSweepRunType":
        return cls(started_at=row.started_at, finished_at=row.finished_at, checked=row.checked,
                   drifted=row.drifted, errors=row.errors, unresolved=row.unresolved)


@strawberry.type(name="AccessJournalStats", description=(
    "The journal of access sets the engine asked the lock vendor for: what is unsettled now, and the repairs of "
    "the last day."))
class AccessJournalStatsType:
    unresolved: int = strawberry.field(description=(
        "Access sets not settled yet: a create whose answer is unknown, or a set still to revoke."))
    since: datetime
    sets_adopted: int = strawberry.field(description=(
        "Sets whose create answer was lost, found by their reference and kept (since `since`)."))
    orphans_revoked: int = strawberry.field(description=(
        "Sets whose create answer was lost, found and revoked because no booking wanted them (since `since`)."))


@strawberry.type(name="VendorCallStats", description="Calls made to the lock vendor since a moment.")
class VendorCallStatsType:
    since: datetime
    calls: int
    failed: int = strawberry.field(description="Calls that did not answer ok (transient or permanent).")
    error_rate: float = strawberry.field(description="failed / calls; 0 without calls.")


@strawberry.type(name="AccessWorkers", description=(
    "The access workers (`ireserve worker` processes, or web processes running the worker), from the heartbeat "
    "each records every round."))
class AccessWorkersType:
    alive: int = strawberry.field(description=(
        "Workers whose last round is at most `missingAfterSeconds` old. 0: nobody finishes door access that waits "
        "(retries, repairs, the sweep) until a worker runs again."))
    last_round_at: Optional[datetime] = strawberry.field(description=(
        "The latest round of any worker heard of within the hour; null when none was."))
    missing_after_seconds: int = strawberry.field(description=(
        "How old a worker's last round may be while it counts as alive (IRESERVE_WORKER_MISSING_AFTER)."))


@strawberry.type(name="DoorAccessHealth", description="How an integration's door access stands, at a glance.")
class DoorAccessHealthType:
    integration: DoorIntegrationType
    at: datetime = strawberry.field(description="When these figures were taken.")
    grants_by_state: list[AccessStateCountType] = strawberry.field(description="Every state, also those with none.")
    due_now: int = strawberry.field(description="Grants waiting for the worker now (a first try, a retry, a repair).")
    oldest_due_seconds: Optional[int] = strawberry.field(description=(
        "How long the grant that is due longest has been waiting; null when none is due."))
    failed_by_reason: list[FailedAccessReasonType] = strawberry.field(description="Most frequent first.")
    last_sweep: Optional[DoorSweepRunType] = strawberry.field(description=(
        "The last finished drift-sweep round; null before the first."))
    journal: AccessJournalStatsType
    vendor_last_hour: VendorCallStatsType
    workers: AccessWorkersType = strawberry.field(description="Whether any access worker is at work (all integrations).")


async def health_of(host, session, integration: DoorIntegration, now: datetime) -> DoorAccessHealthType:
    mine = AccessGrant.integration_id == integration.id
    by_state = dict((await session.execute(
        select(AccessGrant.state, func.count()).where(mine).group_by(AccessGrant.state))).all())
    due_count, oldest_due = (await session.execute(
        select(func.count(), func.min(AccessGrant.next_attempt_at))
        .where(mine, AccessGrant.next_attempt_at.is_not(None), AccessGrant.next_attempt_at <= now))).one()
    failed = (await session.execute(
        select(AccessGrant.last_error, func.count(), func.min(AccessGrant.id))
        .where(mine, AccessGrant.state == GrantState.FAILED)
        .group_by(AccessGrant.last_error)
        .order_by(func.count().desc(), AccessGrant.last_error))).all()
    # Our own reasons are shown in the reader's language: the template of one grant of each group.
    templates = dict((await session.execute(
        select(AccessGrant.id, AccessGrant.last_error_i18n).where(AccessGrant.id.in_([row[2] for row in failed]))
    )).all()) if failed else {}
    last_run = (await session.execute(
        select(SweepRun).where(SweepRun.integration_id == integration.id, SweepRun.finished_at.is_not(None))
        .order_by(SweepRun.id.desc()).limit(1))).scalar_one_or_none()
    since = now - VENDOR_WINDOW
    calls, failed_calls = (await session.execute(
        select(func.count(), func.coalesce(func.sum(case((AccessCallLog.outcome != "ok", 1), else_=0)), 0))
        .where(AccessCallLog.integration_id == integration.id, AccessCallLog.at >= since))).one()

    records = select(AccessSetRecord.id).join(AccessGrant, AccessGrant.id == AccessSetRecord.grant_id).where(mine)
    unresolved = (await session.execute(
        select(func.count()).select_from(records.where(AccessSetRecord.status.in_(UNRESOLVED)).subquery()))).scalar_one()
    repairs_since = now - REPAIR_WINDOW
    repairs = dict((await session.execute(
        select(AccessSetRecord.resolution, func.count()).join(AccessGrant, AccessGrant.id == AccessSetRecord.grant_id)
        .where(mine, AccessSetRecord.observed_at >= repairs_since,
               AccessSetRecord.resolution.in_((Resolution.ADOPTED, Resolution.ORPHAN_REVOKED)))
        .group_by(AccessSetRecord.resolution))).all())

    rounds = await read_rounds(host, session)

    def reason(last_error, sample_id) -> Optional[str]:
        template = templates.get(sample_id)
        return Message.from_json(template).text() if template else last_error

    return DoorAccessHealthType(
        integration=DoorIntegrationType.from_model(integration),
        at=now,
        grants_by_state=[AccessStateCountType(state=s, count=by_state.get(s, 0)) for s in GrantState],
        due_now=due_count,
        oldest_due_seconds=max(0, int((now - oldest_due).total_seconds())) if oldest_due is not None else None,
        failed_by_reason=[FailedAccessReasonType(reason=reason(text, sample), count=count)
                          for text, count, sample in failed],
        last_sweep=DoorSweepRunType.from_model(last_run) if last_run else None,
        journal=AccessJournalStatsType(unresolved=unresolved, since=repairs_since,
                                       sets_adopted=repairs.get(Resolution.ADOPTED, 0),
                                       orphans_revoked=repairs.get(Resolution.ORPHAN_REVOKED, 0)),
        vendor_last_hour=VendorCallStatsType(since=since, calls=calls, failed=int(failed_calls),
                                             error_rate=(int(failed_calls) / calls) if calls else 0.0),
        workers=AccessWorkersType(alive=rounds.alive, last_round_at=rounds.last_round_at,
                                  missing_after_seconds=round(rounds.missing_after_seconds)),
    )


@strawberry.type
class DoorAccessHealthQuery:
    @strawberry.field(permission_classes=[IsAdmin], description=(
        "An integration's door access at a glance: grants by state, what is due and since when, failures by "
        "reason, the last drift sweep, the journal's unsettled sets and repairs, the lock vendor's error rate "
        "over the last hour, and whether any access worker is at work."))
    async def door_access_health(self, info: Info, integration_id: strawberry.ID) -> DoorAccessHealthType:
        session = info.context.session
        try:
            integration = await get_integration(session, integration_id)
        except ValidationFailed as exc:
            raise CodedError.from_problem(exc.problems[0]) from None
        host = info.context.host
        return await health_of(host, session, integration, host.clock.now())
