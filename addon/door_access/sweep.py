"""The drift sweep and the pre-arrival check: the worker re-reads ACTIVE grants' access sets at the
lock vendor, so a set revoked, lost or changed behind our back — or whose doors now have other ids
at the vendor — is renewed or replaced before a guest stands at a locked door. Each round first
queues every grant, in whatever state, whose journal still names an unresolved set (a create whose
answer was lost, a set still to revoke) and that nobody is working on: the reconcile settles it.

A round checks the grants whose last confirmation is stale (never, or older than half the sweep
interval): first those whose window starts within ``IRESERVE_PREARRIVAL_HOURS`` (or has started),
then the oldest confirmation first. A check is one read of the set, made under a short lease (so
no reconcile runs on the grant meanwhile) with no transaction open; it either confirms the set
(``verified_at``), or marks the grant due so the normal reconcile renews it (set gone) or replaces
it (new set first, then the old one revoked), or counts as an error of the round and leaves the
grant alone. Rounds make one call at a time, at most ``IRESERVE_SWEEP_CALLS_PER_MINUTE`` a
minute, in a task of their own: the worker's claim loop, and so every trigger, never waits on them.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, or_, select, update

from addon.base.public import Host

from .backend import AccessSet, BackendError, DoorConnection
from .connect import connect_for_access
from .decide import Wanted, set_matches
from .directory import IntegrationDoors
from .grants import mark_due
from .leases import claimable, heartbeat, lease_seconds
from .metrics import SWEEP_FINDINGS
from .models import UNRESOLVED, AccessGrant, AccessSetRecord, Desired, DoorIntegration, GrantState, SweepRun
from .settings import DoorAccessSettings, door_settings

log = logging.getLogger(__name__)

# Rounds are kept this long (the health query shows the last one).
SWEEP_RUNS_KEPT = timedelta(days=30)
# Without a schedule (IRESERVE_SWEEP_INTERVAL=0, a round started by hand) a confirmation stands this long.
UNSCHEDULED_INTERVAL = 900.0


class Verdict:
    MATCHES = "MATCHES"  # the set gives the stored doors and window
    DRIFTED = "DRIFTED"  # revoked, gone or changed at the vendor: due for repair
    ERROR = "ERROR"  # could not be checked this round


def calls_per_round(settings: DoorAccessSettings) -> int:
    """The round's budget: what the per-minute bound allows over one interval."""
    minutes = (settings.sweep_interval_seconds or 60.0) / 60.0
    return max(1, int(settings.sweep_calls_per_minute * minutes))


def fresh_for(settings: DoorAccessSettings) -> timedelta:
    """How long a confirmation stands before the sweep looks again: half an interval, so each
    grant is read about once per round, and several workers' rounds do not read it twice."""
    return timedelta(seconds=(settings.sweep_interval_seconds or UNSCHEDULED_INTERVAL) / 2)


def _checkable(now: datetime, stale_before: datetime) -> list:
    """An ACTIVE grant with a set, not due, not leased, window not over, not confirmed lately."""
    return [
        AccessGrant.desired == Desired.ACTIVE,
        AccessGrant.state == GrantState.ACTIVE,
        AccessGrant.authorization_id.is_not(None),
        AccessGrant.next_attempt_at.is_(None),
        claimable(now),
        or_(AccessGrant.valid_to.is_(None), AccessGrant.valid_to > now),
        or_(AccessGrant.verified_at.is_(None), AccessGrant.verified_at < stale_before),
    ]


def doors_moved(grant: AccessGrant, doors_by_name: dict[str, list[str]]) -> bool:
    """Whether a recorded door's name no longer names exactly that door at the vendor (its id
    changed, it is gone or its name is now ambiguous): the set opens the wrong door, or none."""
    return any(doors_by_name.get(d["name"]) != [d["id"]] for d in grant.doors)


def matches(found: AccessSet, grant: AccessGrant) -> bool:
    """Whether a live set still gives the doors and window the grant recorded (a vendor that
    does not report the window is compared by doors only)."""
    if found.valid_from is None or found.valid_to is None or grant.valid_from is None or grant.valid_to is None:
        return sorted(found.door_ids) == sorted(d["id"] for d in grant.doors)
    wanted = Wanted(location_id=grant.location_id, doors=list(grant.doors), valid_from=grant.valid_from,
                    valid_to=grant.valid_to, locale=grant.locale or "")
    return set_matches(found, wanted)


# -- one round --------------------------------------------------------------------------------

@dataclass
class _Check:
    grant: AccessGrant  # as read when the lease was taken
    location_id: str | None
    connection: DoorConnection


class Round:
    """One sweep round: the candidates in order, a bounded number of checks, a SweepRun per
    active integration."""

    def __init__(self, host: Host, sweeper_id: str, budget: int, pace: Callable[[], Awaitable[None]] | None,
                 stop: asyncio.Event | None, wake: Callable[[], None] | None) -> None:
        self.host = host
        self.sweeper_id = sweeper_id
        self.budget = budget
        self.pace = pace
        self.stop = stop
        self.wake = wake
        self.settings = door_settings(host)
        self.runs: dict[int, SweepRun] = {}
        self.calls = 0

    def _stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def run(self) -> list[SweepRun]:
        await self._open_runs()
        if not self.runs:
            return []
        try:
            await self._queue_unresolved()
            tried: set[int] = set()
            while self.calls < self.budget and not self._stopped():
                batch = await self._candidates(self.budget - self.calls, tried)
                if not batch:
                    break
                for grant_id, integration_id in batch:
                    if self.calls >= self.budget or self._stopped():
                        break
                    tried.add(grant_id)
                    if integration_id in self.runs:  # one activated since the round began waits for the next
                        await self._check(grant_id, integration_id)
        finally:
            await self._close_runs()
        return list(self.runs.values())

    async def _open_runs(self) -> None:
        now = self.host.clock.now()
        async with self.host.database.session() as session:
            await session.execute(delete(SweepRun).where(SweepRun.started_at < now - SWEEP_RUNS_KEPT))
            ids = set((await session.execute(
                select(DoorIntegration.id).where(DoorIntegration.active.is_(True)))).scalars().all())
            ids |= set((await session.execute(
                select(AccessGrant.integration_id).where(self._unresolved_and_idle(now)).distinct())).scalars().all())
            for integration_id in sorted(ids):
                self.runs[integration_id] = SweepRun(integration_id=integration_id, started_at=now, unresolved=0)
            session.add_all(self.runs.values())
            await session.commit()  # ids are known from here on (objects are not expired on commit)

    @staticmethod
    def _unresolved_and_idle(now: datetime):
        """A grant nobody works on (not due, not leased) whose journal names an unresolved set."""
        return (AccessGrant.next_attempt_at.is_(None) & claimable(now) & AccessGrant.id.in_(
            select(AccessSetRecord.grant_id).where(AccessSetRecord.status.in_(UNRESOLVED))))

    async def _queue_unresolved(self) -> None:
        """Grants at rest with something unsettled (left by a crash, or an older version) are due
        now; the reconcile adopts, revokes or rules out the sets their journal names."""
        now = self.host.clock.now()
        async with self.host.database.session() as session:
            grants = (await session.execute(
                select(AccessGrant).where(self._unresolved_and_idle(now)).with_for_update())).scalars().all()
            for grant in grants:
                mark_due(grant, now)
                if grant.integration_id in self.runs:
                    self.runs[grant.integration_id].unresolved += 1
            await session.commit()
        if grants:
            log.warning("drift sweep: %d access grants had an unresolved access set and were queued: %s",
                        len(grants), ", ".join(str(g.id) for g in grants[:20]))
            if self.wake is not None:
                self.wake()

    async def _close_runs(self) -> None:
        now = self.host.clock.now()
        async with self.host.database.session() as session:
            for run in self.runs.values():
                run.finished_at = now
                for kind in ("checked", "drifted", "errors", "unresolved"):
                    SWEEP_FINDINGS.labels(kind=kind).inc(getattr(run, kind) or 0)
                await session.execute(update(SweepRun).where(SweepRun.id == run.id).values(
                    finished_at=now, checked=run.checked, drifted=run.drifted, errors=run.errors,
                    unresolved=run.unresolved))
            await session.commit()

    async def _candidates(self, limit: int, tried: set[int]) -> list[tuple[int, int]]:
        now = self.host.clock.now()
        prearrival_until = now + timedelta(hours=self.settings.prearrival_hours)
        query = (
            select(AccessGrant.id, AccessGrant.integration_id)
            .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
            .where(DoorIntegration.active.is_(True), *_checkable(now, now - fresh_for(self.settings)))
            .order_by(
                # pre-arrival (or under way) first, then never confirmed, then the oldest confirmation
                case((and_(AccessGrant.valid_from.is_not(None), AccessGrant.valid_from <= prearrival_until), 0),
                     else_=1),
                case((AccessGrant.verified_at.is_(None), 0), else_=1),
                AccessGrant.verified_at,
                AccessGrant.id,
            )
            .limit(limit)
        )
        if tried:
            query = query.where(AccessGrant.id.not_in(tried))
        async with self.host.database.session() as session:
            rows = (await session.execute(query)).all()
            await session.commit()
        return [(row.id, row.integration_id) for row in rows]

    async def _check(self, grant_id: int, integration_id: int) -> None:
        run = self.runs[integration_id]
        if self.pace is not None:
            await self.pace()  # before the lease: waiting for the rate never holds a grant
            if self._stopped():
                return
        try:
            check = await self._lease(grant_id)
        except Exception:
            log.exception("drift sweep: access grant %s could not be leased", grant_id)
            run.errors += 1
            return
        if check is None:
            return  # taken by a reconcile, due, or confirmed by another worker meanwhile
        self.calls += 1
        verdict = await self._read(check)
        try:
            due = await self._write(check, verdict)
        except Exception:
            log.exception("drift sweep: the check of access grant %s could not be written", grant_id)
            due, verdict = None, Verdict.ERROR
        if verdict == Verdict.ERROR:
            run.errors += 1
        elif due is not None:  # else the lease was lost: whoever holds it now finishes the grant
            run.checked += 1
            run.drifted += verdict == Verdict.DRIFTED
        if due and self.wake is not None:
            self.wake()  # drifted, or a trigger came while we read: the worker takes it now

    async def _lease(self, grant_id: int) -> _Check | None:
        """Lease the grant if it is still a candidate, and load its backend's connection, in one
        short transaction."""
        now = self.host.clock.now()
        async with self.host.database.session() as session:
            result = await session.execute(
                update(AccessGrant)
                .where(AccessGrant.id == grant_id, *_checkable(now, now - fresh_for(self.settings)))
                .values(claimed_until=now + timedelta(seconds=lease_seconds(self.host)), claimed_by=self.sweeper_id)
            )
            if result.rowcount != 1:
                await session.rollback()
                return None
            grant = await session.get(AccessGrant, grant_id)
            integration = await session.get(DoorIntegration, grant.integration_id)
            try:
                connection = await connect_for_access(self.host, session, integration, grant.booking_id)
            except Exception:
                await session.rollback()  # the lease goes with it
                raise
            await session.commit()
            session.expunge(grant)
            return _Check(grant, grant.location_id or connection.default_location_id, connection)

    async def _read(self, check: _Check) -> str:
        grant = check.grant
        if not check.location_id:
            log.warning("drift sweep: access grant %s has no location to read its set at", grant.id)
            return Verdict.ERROR
        try:
            async with heartbeat(self.host, grant.id, self.sweeper_id):
                return await self._verdict(check)
        except BackendError as exc:
            # Transient or not, the set's state is unknown: left alone, checked again next round.
            log.info("drift sweep: access set %s of grant %s could not be checked: %s", grant.authorization_id,
                     grant.id, exc)
            return Verdict.ERROR
        except Exception:
            log.exception("drift sweep: checking access set %s of grant %s failed", grant.authorization_id, grant.id)
            return Verdict.ERROR

    async def _verdict(self, check: _Check) -> str:
        grant = check.grant
        found = await check.connection.read_access_set(check.location_id, grant.authorization_id)
        if found is None or not found.active:
            log.warning("drift sweep: access set %s of grant %s is gone at the lock vendor; renewing it",
                        grant.authorization_id, grant.id)
            return Verdict.DRIFTED
        if not matches(found, grant):
            log.warning("drift sweep: access set %s of grant %s was changed at the lock vendor; replacing it",
                        grant.authorization_id, grant.id)
            return Verdict.DRIFTED
        # The shared door list (no call while it is fresh): a door whose id changed at the vendor
        # leaves a set that opens nothing, though the set itself is untouched.
        doors, _ = await IntegrationDoors(self.host, grant.integration_id, check.connection).get()
        by_name: dict[str, list[str]] = {}
        for door in doors:
            by_name.setdefault(door.name, []).append(door.id)
        if found.door_names is None and doors_moved(grant, by_name):  # a set by name opens doors by name
            log.warning("drift sweep: a door of access set %s of grant %s has another id at the lock vendor now; "
                        "replacing the set", grant.authorization_id, grant.id)
            return Verdict.DRIFTED
        return Verdict.MATCHES

    async def _write(self, check: _Check, verdict: str) -> bool | None:
        """Release the lease with the finding; returns whether the grant is due now (``None``: the
        lease was lost)."""
        async with self.host.database.session() as session:
            grant = (await session.execute(
                select(AccessGrant).where(AccessGrant.id == check.grant.id).with_for_update()
            )).scalar_one_or_none()
            if grant is None or grant.claimed_by != self.sweeper_id:
                await session.rollback()
                return None
            now = self.host.clock.now()
            if verdict == Verdict.MATCHES:
                grant.verified_at = now
            elif verdict == Verdict.DRIFTED:
                mark_due(grant, now)  # the reconcile renews (gone) or replaces (changed) the set
                grant.verified_at = None  # what was confirmed no longer holds
            grant.claimed_until = None
            grant.claimed_by = None
            due = grant.next_attempt_at is not None
            await session.commit()
        return due


async def sweep_once(host: Host, budget: int | None = None, *, pace: Callable[[], Awaitable[None]] | None = None,
                     stop: asyncio.Event | None = None, wake: Callable[[], None] | None = None,
                     sweeper_id: str | None = None) -> list[SweepRun]:
    """One round over every active integration: at most ``budget`` checks (default: what
    IRESERVE_SWEEP_CALLS_PER_MINUTE allows over one interval); ``pace`` is awaited before each
    (the rate bound's wait); ``wake`` is called when a grant became due. Returns the round's
    SweepRun rows."""
    settings = door_settings(host)
    sweeper_id = sweeper_id or f"sweep-{uuid.uuid4().hex[:8]}"
    return await Round(host, sweeper_id, calls_per_round(settings) if budget is None else budget,
                       pace, stop, wake).run()


# -- the schedule -----------------------------------------------------------------------------

class Pacer:
    """Spaces calls ``60 / calls_per_minute`` seconds apart (real time; a stop ends the wait)."""

    def __init__(self, calls_per_minute: int, stop: asyncio.Event | None = None,
                 now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] | None = None) -> None:
        self.spacing = 60.0 / calls_per_minute
        self.stop = stop
        self.now = now
        self.sleep = sleep or self._sleep
        self.last: float | None = None

    async def _sleep(self, seconds: float) -> None:
        if self.stop is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def __call__(self) -> None:
        if self.last is not None:
            wait = self.last + self.spacing - self.now()
            if wait > 0:
                await self.sleep(wait)
        self.last = self.now()


async def sweep_forever(host: Host, stop: asyncio.Event, wake: Callable[[], None] | None = None,
                        sweeper_id: str | None = None) -> None:
    """Rounds every IRESERVE_SWEEP_INTERVAL seconds until ``stop`` (beside the worker's loop)."""
    settings = door_settings(host)
    interval = settings.sweep_interval_seconds
    if interval <= 0:
        return
    pace = Pacer(settings.sweep_calls_per_minute, stop)
    sweeper_id = sweeper_id or f"sweep-{uuid.uuid4().hex[:8]}"
    log.info("drift sweep every %.0f s, at most %d calls a minute", interval, settings.sweep_calls_per_minute)
    while not stop.is_set():
        began = time.monotonic()
        try:
            runs = await sweep_once(host, pace=pace, stop=stop, wake=wake, sweeper_id=sweeper_id)
            if any(r.drifted or r.errors for r in runs):
                log.info("drift sweep: %s", ", ".join(
                    f"integration {r.integration_id}: {r.checked} checked, {r.drifted} drifted, {r.errors} errors"
                    for r in runs))
        except Exception:  # the database may be briefly away; the next round tries again
            log.exception("drift sweep round failed")
        rest = interval - (time.monotonic() - began)
        if rest > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=rest)
            except asyncio.TimeoutError:
                pass
        else:
            await asyncio.sleep(0)
