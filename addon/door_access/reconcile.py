"""Reconcile one access grant: compare what the booking wants with what the lock vendor has, and act.

Idempotent: running it twice never makes a second access set. Each run
1. holds the grant's lease (``leases``), so no other worker acts on it meanwhile,
2. reads booking, integration, mapping and the backend's credentials in a short transaction,
3. observes, decides (``decide``) and acts through the backend (``apply``) with no transaction open,
4. writes the outcome in a short transaction and gives up the lease.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from addon.base.host import Host
from addon.base.i18n import Message
from addon.booking.models import Booking, BookingField
from addon.booking.services import write_field_value

from .apply import Outcome, make_active, make_revoked
from .backend import BackendError, DoorConnection, TransientBackendError, backends
from .decide import state_while_waiting
from .leases import backoff_seconds, claim_one, give_back, lease_seconds, start_attempt, vendor_slots
from .models import AccessGrant, Desired, DoorIntegration, GrantState
from .plan import AccessPlan, plan_access
from .settings import door_settings

log = logging.getLogger(__name__)


@dataclass
class Snapshot:
    """What was read at the start of a run; the outcome is written against it."""

    grant: AccessGrant
    integration: DoorIntegration
    booking: Booking
    plan: AccessPlan | None
    field_id: int | None
    connection: DoorConnection


def claim_lease(host: Host) -> float:
    """The lease a claim takes: long enough for the slowest backend's reconcile."""
    return max([lease_seconds(b) for b in backends(host).all()] or [60.0])


async def _read(host: Host, grant_id: int, worker_id: str) -> Snapshot | None:
    """Read what the run needs, if this worker holds the lease (no lock: ``start_attempt`` checks
    that nothing changed before anything is sent)."""
    async with host.database.session() as session:
        grant = await session.get(AccessGrant, grant_id)
        if grant is None or grant.claimed_by != worker_id:
            await session.rollback()
            return None
        integration = await session.get(DoorIntegration, grant.integration_id)
        booking = await session.get(Booking, grant.booking_id)
        plan = None
        if grant.desired == Desired.ACTIVE:
            plan = await plan_access(session, integration, booking, host.clock.now(), ignore_status=True)
        field_id = None
        if integration.authorization_id_field:
            field_id = (await session.execute(
                select(BookingField.id).where(BookingField.code == integration.authorization_id_field)
            )).scalar_one_or_none()
        connection = await backends(host)[integration.backend].connect(host, session, integration, grant.booking_id)
        await session.commit()
        return Snapshot(grant, integration, booking, plan, field_id, connection)


async def reconcile_grant(host: Host, grant_id: int, worker_id: str, backend_name: str) -> str | None:
    """Reconcile a grant this worker has claimed; returns the resulting state (``None``: the
    grant is gone or its lease was lost to another worker, which finishes it)."""
    backend = backends(host)[backend_name]
    slots = vendor_slots(host).of(backend)
    # On PostgreSQL reading happens before taking a slot towards the vendor, so the slots are spent
    # on the vendor. SQLite has one writer at a time: there, reads outside the slots only queue up
    # on its lock, so they stay inside.
    read_in_slot = host.database.is_sqlite
    for _ in range(3):
        if read_in_slot:
            await slots.acquire()
        snapshot = await _read(host, grant_id, worker_id)
        if snapshot is None:
            if read_in_slot:
                slots.release()
            log.info("access grant %s: gone or its lease lost before %s started; left alone", grant_id, worker_id)
            return None
        if not read_in_slot:
            await slots.acquire()
        if await start_attempt(host, grant_id, snapshot.grant.intent_version, worker_id, lease_seconds(backend)):
            snapshot.grant.attempts += 1
            break
        slots.release()  # the booking changed while we read (or the lease went): read again
    else:
        await give_back(host, grant_id, worker_id)
        return None
    try:
        outcome = await _act(snapshot)
    except BackendError as exc:
        outcome = _failure(snapshot, exc)
    except Exception as exc:  # a bug must not leave the grant leased forever
        log.exception("reconcile of access grant %s failed", grant_id)
        outcome = Outcome(state_while_waiting(snapshot.grant), Message("Internal error: {kind}",
                                                                         {"kind": type(exc).__name__}), wait=True)
    finally:
        slots.release()
    if outcome.wait and outcome.retry_in is None:
        outcome.retry_in = backoff_seconds(host, snapshot.grant.attempts, outcome.retry_after)
    return await _write(host, snapshot, outcome, worker_id)


async def _act(snap: Snapshot) -> Outcome:
    if snap.grant.desired == Desired.ACTIVE:
        return await make_active(snap.connection, snap.grant, snap.plan, snap.integration.active)
    return await make_revoked(snap.connection, snap.grant)


def _failure(snap: Snapshot, exc: BackendError) -> Outcome:
    if isinstance(exc, TransientBackendError):
        return Outcome(state_while_waiting(snap.grant), Message.verbatim(str(exc)), wait=True,
                       retry_after=exc.retry_after)
    return Outcome(GrantState.FAILED, snap.connection.explain(exc))


async def _write(host: Host, snap: Snapshot, outcome: Outcome, worker_id: str) -> str | None:
    async with host.database.session() as session:
        grant = (await session.execute(
            select(AccessGrant).where(AccessGrant.id == snap.grant.id).with_for_update()
        )).scalar_one_or_none()
        if grant is None:
            return None
        if grant.claimed_by != worker_id:
            log.warning("access grant %s: lease lost to %s; outcome of %s not written", grant.id, grant.claimed_by, worker_id)
            await session.rollback()
            return None
        now = host.clock.now()
        for key, value in (outcome.fields or {}).items():
            setattr(grant, key, value)
        if outcome.authorization is not None:
            grant.authorization_id = outcome.authorization.id
            if snap.field_id is not None:
                await write_field_value(session, grant.booking_id, await session.get(BookingField, snap.field_id),
                                        outcome.authorization.id)
        if outcome.clear_superseded:
            grant.superseded_authorization_id = None
        if outcome.state in (GrantState.ACTIVE, GrantState.REVOKED) and outcome.retry_in is None:
            grant.attempts = 0
        grant.state = outcome.state
        # English for whoever reads the table; the template for readers in other languages.
        grant.last_error = str(outcome.error) if outcome.error else None
        grant.last_error_i18n = outcome.error.as_json() if outcome.error else None
        grant.next_attempt_at = now + timedelta(seconds=outcome.retry_in) if outcome.retry_in is not None else None
        if grant.intent_version != snap.grant.intent_version:
            grant.next_attempt_at = now  # the booking changed meanwhile: look again at once
        grant.claimed_until = None
        grant.claimed_by = None
        grant.updated_at = now
        await session.commit()
        return grant.state


# -- running reconciles -----------------------------------------------------------------------

class BackgroundReconciles:
    """Reconciles started by requests that outlived the request's bounded wait."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task] = set()

    def add(self, task: asyncio.Task) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def background(host: Host) -> BackgroundReconciles:
    return host.service(BackgroundReconciles, BackgroundReconciles)


async def backends_of(host: Host, grant_ids: list[int]) -> dict[int, str]:
    """The backend name of each grant."""
    async with host.database.session() as session:
        rows = (await session.execute(
            select(AccessGrant.id, DoorIntegration.backend)
            .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
            .where(AccessGrant.id.in_(grant_ids))
        )).all()
        await session.commit()
    return dict(rows)


async def reconcile_now(host: Host, grant_ids: list[int], only_due: bool = False) -> None:
    """Claim and reconcile the given grants (those another worker holds are left to it)."""
    if not grant_ids:
        return
    worker_id = f"request-{uuid.uuid4().hex[:8]}"
    lease = claim_lease(host)
    names = await backends_of(host, grant_ids)

    async def one(grant_id: int) -> None:
        if grant_id in names and await claim_one(host, grant_id, worker_id, lease, only_due):
            await reconcile_grant(host, grant_id, worker_id, names[grant_id])

    await asyncio.gather(*(one(i) for i in grant_ids))


async def reconcile_soon(host: Host, grant_ids: list[int]) -> bool:
    """After a commit: reconcile at once, waiting at most IRESERVE_RECONCILE_WAIT seconds for the
    answer; a slower reconcile goes on in the background (and the worker is the safety net).
    Returns whether it finished within the wait."""
    task = asyncio.get_running_loop().create_task(reconcile_now(host, grant_ids, only_due=True))
    background(host).add(task)
    wait = door_settings(host).reconcile_wait_seconds
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=wait)
        return True
    except asyncio.TimeoutError:
        log.info("access grants %s still reconciling after %.1f s; answering with their current state", grant_ids, wait)
        return False


async def drain_background(host: Host) -> None:
    """Wait for reconciles started by requests (shutdown, tests)."""
    tasks = list(background(host).tasks)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
