"""The access workers' heartbeat: each worker (``ireserve worker``, or ``serve`` running the worker
inside) records when it last went round, one row per worker (``door_worker``). From those rows,
any process tells whether a worker is at work: the metrics (``ireserve_workers_alive``,
``ireserve_worker_last_round_seconds``), ``/readyz`` of a web process that runs no worker itself,
and ``doorAccessHealth.workers``.

A worker counts as alive while its last round is at most ``IRESERVE_WORKER_MISSING_AFTER`` old.
A worker that stops removes its row; the row of one that died stays, and is left out (and
deleted) once it is an hour old. Times are the host's clock, so tests move them by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from addon.base.public import Host

from .models import WorkerHeartbeat
from .settings import door_settings

# A worker writes its heartbeat at most this often (and at least three times within the limit).
HEARTBEAT_SECONDS = 5.0
# Rows of workers silent for this long are dropped from the figures and deleted.
GONE_AFTER = timedelta(hours=1)
READINESS_CHECK = "access_workers"


def missing_after(host: Host) -> float:
    return door_settings(host).worker_missing_after_seconds


class Heartbeat:
    """One worker's heartbeat: :meth:`beat` each round (written when due), :meth:`stop` at the end."""

    def __init__(self, host: Host, worker_id: str) -> None:
        self.host = host
        self.worker_id = worker_id
        self.started_at = host.clock.now()
        self._written_at: datetime | None = None

    @property
    def every(self) -> timedelta:
        return timedelta(seconds=min(HEARTBEAT_SECONDS, missing_after(self.host) / 3))

    async def beat(self) -> bool:
        """Record a round now, unless one was recorded moments ago; whether it wrote."""
        now = self.host.clock.now()
        if self._written_at is not None and timedelta(0) <= now - self._written_at < self.every:
            return False
        async with self.host.database.session() as session:
            changed = await session.execute(update(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                                            .values(last_round_at=now))
            if changed.rowcount == 0:
                session.add(WorkerHeartbeat(worker_id=self.worker_id, started_at=self.started_at, last_round_at=now))
            await session.commit()
        self._written_at = now
        return True

    async def stop(self) -> None:
        """This worker ends (gracefully): it is not missing, it is gone."""
        async with self.host.database.session() as session:
            await session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id))
            await session.commit()


@dataclass(frozen=True)
class WorkerRounds:
    """The last round of every worker heard of within the hour, as read at ``at``."""

    at: datetime
    last_rounds: dict[str, datetime]
    missing_after_seconds: float

    def seconds_since(self, worker_id: str) -> float:
        return max(0.0, (self.at - self.last_rounds[worker_id]).total_seconds())

    @property
    def alive(self) -> int:
        return sum(1 for worker in self.last_rounds if self.seconds_since(worker) <= self.missing_after_seconds)

    @property
    def last_round_at(self) -> datetime | None:
        return max(self.last_rounds.values(), default=None)


async def read_rounds(host: Host, session) -> WorkerRounds:
    now = host.clock.now()
    rows = (await session.execute(select(WorkerHeartbeat.worker_id, WorkerHeartbeat.last_round_at)
                                  .where(WorkerHeartbeat.last_round_at >= now - GONE_AFTER))).all()
    return WorkerRounds(now, {worker: _aware(at) for worker, at in rows}, missing_after(host))


async def forget_gone_workers(host: Host) -> int:
    """Delete the rows of workers not heard of for an hour (they died); how many went."""
    async with host.database.session() as session:
        gone = await session.execute(delete(WorkerHeartbeat)
                                     .where(WorkerHeartbeat.last_round_at < host.clock.now() - GONE_AFTER))
        await session.commit()
    return gone.rowcount or 0


@dataclass(frozen=True)
class ServingSince:
    """When this process began serving: a web process that has just started gives the workers
    the limit's time to be heard of before it calls them missing."""

    at: datetime


async def workers_readiness(host: Host) -> tuple[str, str | None]:
    """For a process that runs no worker itself: has any worker gone round lately? A missing
    worker degrades the process (it still serves; the access work waits), see runtime/health.py."""
    from addon.base.public import Degraded

    async with host.database.session(read_only=True) as session:
        rounds = await read_rounds(host, session)
        await session.rollback()
    if rounds.alive:
        return READINESS_CHECK, None
    serving = host.service(ServingSince)
    latest = max((moment for moment in (rounds.last_round_at, serving.at if serving else None) if moment is not None),
                 default=None)
    if latest is not None and (rounds.at - latest).total_seconds() <= rounds.missing_after_seconds:
        return READINESS_CHECK, None  # just started: the workers may not have been heard of yet
    if rounds.last_round_at is None:
        return READINESS_CHECK, Degraded("no access worker has gone round: door access waits (PENDING) until one "
                                         "runs")
    quiet = (rounds.at - rounds.last_round_at).total_seconds()
    return READINESS_CHECK, Degraded(f"no access worker has gone round for {quiet:.0f} s: door access waits "
                                     "(PENDING) until one runs")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
