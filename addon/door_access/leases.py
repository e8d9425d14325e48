"""Leasing grants: whoever works on a grant holds a lease on it (a conditional update), so two
workers — in one process or several — never act on the same grant at once."""

from __future__ import annotations

import asyncio
import logging
import random
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from addon.base.public import Host

from .backend import DoorBackend
from .models import AccessGrant, DoorIntegration
from .settings import door_settings

log = logging.getLogger(__name__)

def lease_seconds(host: Host) -> float:
    """How long a lease lasts without a heartbeat (IRESERVE_LEASE_SECONDS)."""
    return door_settings(host).lease_seconds


@asynccontextmanager
async def heartbeat(host: Host, grant_id: int, worker_id: str):
    """Renew this worker's lease on a grant every third of a lease while the block runs, so a
    slow vendor never makes a live worker lose its work, and a dead one's runs out soon."""
    lease = lease_seconds(host)

    async def beat() -> None:
        while True:
            await asyncio.sleep(lease / 3)
            try:
                async with host.database.session() as session:
                    await session.execute(
                        update(AccessGrant).where(AccessGrant.id == grant_id, AccessGrant.claimed_by == worker_id)
                        .values(claimed_until=host.clock.now() + timedelta(seconds=lease))
                    )
                    await session.commit()
            except Exception:  # the next beat tries again; the outcome's write checks the lease
                log.warning("could not renew the lease on access grant %s", grant_id, exc_info=True)

    task = asyncio.get_running_loop().create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


def backoff_seconds(host: Host, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; never sooner than the vendor's Retry-After."""
    settings = door_settings(host)
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * (2 ** max(attempts - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


class VendorSlots:
    """Bounds the reconciles in flight towards each lock vendor in this process (a semaphore per
    backend, sized by the backend's own concurrency setting)."""

    def __init__(self) -> None:
        self._by_backend: dict[str, asyncio.Semaphore] = {}

    def of(self, backend: DoorBackend) -> asyncio.Semaphore:
        slots = self._by_backend.get(backend.name)
        if slots is None:
            slots = self._by_backend[backend.name] = asyncio.Semaphore(backend.max_concurrency)
        return slots


def vendor_slots(host: Host) -> VendorSlots:
    return host.service(VendorSlots, VendorSlots)


def claimable(now: datetime):
    """Nobody holds the grant's lease (or it ran out)."""
    return or_(AccessGrant.claimed_until.is_(None), AccessGrant.claimed_until < now)


async def claim_one(host: Host, grant_id: int, worker_id: str, lease: float, only_due: bool = False) -> bool:
    """Take the lease on one grant if nobody holds it. ``only_due``: and if it still needs work
    (after a commit the worker may have finished it already); an explicit repair takes it anyway."""
    now = host.clock.now()
    conditions = [AccessGrant.id == grant_id, claimable(now)]
    if only_due:
        conditions.append(AccessGrant.next_attempt_at.is_not(None))
    async with host.database.session() as session:
        result = await session.execute(
            update(AccessGrant).where(*conditions)
            .values(claimed_until=now + timedelta(seconds=lease), claimed_by=worker_id)
        )
        await session.commit()
        return result.rowcount == 1


async def claim_due(host: Host, worker_id: str, limit: int, lease: float) -> list[tuple[int, str]]:
    """Lease up to ``limit`` due grants; returns (grant id, backend name) pairs. PostgreSQL: FOR
    UPDATE SKIP LOCKED, so workers never wait on or take each other's rows. SQLite: the
    transaction holds the write lock (BEGIN IMMEDIATE), so claims are serialized."""
    now = host.clock.now()
    async with host.database.session() as session:
        query = (
            select(AccessGrant.id, DoorIntegration.backend)
            .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
            .where(AccessGrant.next_attempt_at.is_not(None), AccessGrant.next_attempt_at <= now, claimable(now))
            .order_by(AccessGrant.next_attempt_at, AccessGrant.id)
            .limit(limit)
        )
        if not host.database.is_sqlite:
            query = query.with_for_update(of=AccessGrant, skip_locked=True)
        claimed = [(row.id, row.backend) for row in (await session.execute(query)).all()]
        ids = [grant_id for grant_id, _ in claimed]
        if ids:
            await session.execute(
                update(AccessGrant).where(AccessGrant.id.in_(ids))
                .values(claimed_until=now + timedelta(seconds=lease), claimed_by=worker_id)
            )
        await session.commit()
        return claimed


async def start_attempt(host: Host, grant_id: int, intent_version: int, worker_id: str, lease: float) -> bool:
    """Renew the lease and count the attempt, in one statement, if this worker still holds the
    lease and the intent is the one read. The lease then counts from the start of the work, not
    from the claim (which may have waited for a slot longer than a lease lasts)."""
    async with host.database.session() as session:
        result = await session.execute(
            update(AccessGrant)
            .where(AccessGrant.id == grant_id, AccessGrant.claimed_by == worker_id,
                   AccessGrant.intent_version == intent_version)
            .values(claimed_until=host.clock.now() + timedelta(seconds=lease),
                    # counted before acting: a crash mid-call still counts as tried
                    attempts=AccessGrant.attempts + 1)
        )
        await session.commit()
    return result.rowcount == 1


async def give_back(host: Host, grant_id: int, worker_id: str) -> None:
    """Release a lease without acting; the grant stays due for the next round."""
    async with host.database.session() as session:
        await session.execute(
            update(AccessGrant).where(AccessGrant.id == grant_id, AccessGrant.claimed_by == worker_id)
            .values(claimed_until=None, claimed_by=None, next_attempt_at=host.clock.now())
        )
        await session.commit()
