"""Reconcile one access grant: derive what the booking is entitled to now, compare it with what
the lock vendor has, and act — level-triggered, like a controller: the grant only says *when* to
look, never what to do.

Idempotent: running it twice never makes a second access set. Each run
1. holds the grant's lease (``leases``), so no other worker acts on it meanwhile,
2. reads booking, its statuses, integration, mapping, the journal's open sets and the backend's
   credentials in a short transaction (``plan.plan_access``, ``journal.open_entries``),
3. observes, decides and acts through the backend (``apply.Attempt``) with no transaction open —
   a create is journaled (its own short transaction) before it is sent,
4. writes what the journal learned and the grant's outcome in a short transaction and gives up
   the lease.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from functools import cache

from sqlalchemy import bindparam, select, update

from addon.base.public import Host, Message, log_fields
from addon.booking.public import BookableObject, Booking, BookingField, BookingStatus, Customer, write_field_value

from .apply import Attempt, LeaseLost, Outcome, UnknownLocation
from .backend import BackendError, DoorBackend, DoorConnection, TransientBackendError, backends
from .connect import connect_for_access
from .directory import IntegrationDoors, door_directory
from .entitlement import Want
from .grants import desired_for
from .journal import Delivery, Entry, apply_changes, journal_create, open_entries
from .leases import backoff_seconds, claimable, give_back, heartbeat, lease_seconds, start_attempt, vendor_slots
from .live import announce
from .metrics import count_resolutions
from .models import UNRESOLVED, AccessGrant, Desired, DoorIntegration, GrantState
from .plan import AccessPlan, plan_access
from .settings import door_settings

log = logging.getLogger(__name__)
ANSWER_MARGIN_SECONDS = 5.0


@dataclass
class Snapshot:
    """What was read at the start of a run; the outcome is written against it."""

    grant: AccessGrant
    integration: DoorIntegration
    booking: Booking
    plan: AccessPlan
    entries: list[Entry]
    field_id: int | None
    connection: DoorConnection


class DatabaseJournal:
    """Journals a create under this worker's lease, committed before the create is sent."""

    def __init__(self, host: Host, snap: Snapshot, worker_id: str, deadline_seconds: float) -> None:
        self.host, self.snap, self.worker_id, self.deadline_seconds = host, snap, worker_id, deadline_seconds

    async def create(self, location_id: str | None, delivery: Delivery) -> Entry:
        now = self.host.clock.now()
        async with self.host.database.session() as session:
            entry = await journal_create(session, self.snap.grant.id, self.worker_id, self.snap.integration.id,
                                         self.snap.booking.id, location_id, now,
                                         now + timedelta(seconds=self.deadline_seconds), delivery)
            if entry is None:
                await session.rollback()
                raise LeaseLost()
            await session.commit()
            return entry


@dataclass(frozen=True)
class Claim:
    """Take the lease in the read's own transaction (a request reconciling what it changed):
    ``only_due``: only while the grant still needs work."""

    lease: float
    only_due: bool = False


# The statements every run sends, built once: building one and its cache key costs more CPU than
# SQLite takes to run it (the id goes in as a bound parameter).
@cache
def _snapshot_query():
    return (select(AccessGrant, DoorIntegration, Booking, BookingStatus, BookableObject, Customer, BookingField.id)
            .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
            .join(Booking, Booking.id == AccessGrant.booking_id)
            .join(BookingStatus, BookingStatus.id == Booking.status_id)
            .join(BookableObject, BookableObject.id == Booking.object_id)
            .join(Customer, Customer.id == Booking.customer_id)
            .outerjoin(BookingField, BookingField.code == DoorIntegration.authorization_id_field)
            .where(AccessGrant.id == bindparam("grant_id")))


@cache
def _grant_to_write_query():
    return select(AccessGrant).where(AccessGrant.id == bindparam("grant_id")).with_for_update()


async def _read(host: Host, grant_id: int, worker_id: str, claim: Claim | None = None) -> Snapshot | None:
    """Read what the run needs, if this worker holds the lease — or, with ``claim``, takes it in
    the same transaction (counting the attempt). The grant, its integration, the booking with its
    status, object and customer, and the booking field's id come in one statement and are held
    here, so that everything that reads them afterwards (the plan) finds them in the session."""
    now = host.clock.now()
    async with host.database.session(read_only=claim is None) as session:  # SQLite: a read is a snapshot
        if claim is not None:
            taken = await session.execute(
                update(AccessGrant).where(AccessGrant.id == grant_id, claimable(now),
                                          *([AccessGrant.next_attempt_at.is_not(None)] if claim.only_due else []))
                .values(claimed_until=now + timedelta(seconds=claim.lease), claimed_by=worker_id,
                        attempts=AccessGrant.attempts + 1)  # counted before acting: a crash still counts
                .execution_options(synchronize_session=False))
            if taken.rowcount != 1:
                await session.rollback()
                return None
        row = (await session.execute(_snapshot_query(), {"grant_id": grant_id})).first()
        if row is None or row[0].claimed_by != worker_id:
            await session.rollback()
            return None
        grant, integration, booking, *held, field_id = row  # held: status, object, customer (the plan reads them)
        plan = await plan_access(session, integration, booking, now, grant)
        entries = await open_entries(session, grant.id)
        connection = await connect_for_access(host, session, integration, grant.booking_id)
        await session.commit()
        return Snapshot(grant, integration, booking, plan, entries, field_id if integration.authorization_id_field
                        else None, connection)


async def reconcile_grant(host: Host, grant_id: int, worker_id: str, backend_name: str,
                          claim: Claim | None = None) -> str | None:
    """Reconcile a grant this worker has claimed (``claim``: take the lease while reading); returns
    the resulting state (``None``: the grant is gone or its lease was lost to another worker, which
    finishes it).

    Whatever goes wrong, the slot towards the vendor and the lease are given back and the grant
    ends in a state a person can see: FAILED with a reason, or waiting with a backoff and its last
    error. One bad booking never stops the others."""
    try:
        backend = backends(host)[backend_name]
    except LookupError as exc:
        if claim is None:
            await _write_failure(host, grant_id, worker_id, Message.verbatim(str(exc)))
        return None
    slots = vendor_slots(host).of(backend)
    for round_ in range(3):
        claiming = claim if round_ == 0 else None
        try:
            # Reading happens before taking a slot towards the vendor (a read waits for no writer),
            # so the slots are spent on the vendor; the slot is given back however the block ends.
            snapshot = await _read(host, grant_id, worker_id, claiming)
            if snapshot is None:
                if claiming is None:
                    log.info("access grant %s: gone or its lease lost before %s started; left alone", grant_id,
                             worker_id)
                return None
            free = not slots.locked()
            async with slots:
                # A lease taken in the read, with a slot free at once, is as fresh as it gets; after a
                # wait for a slot it is renewed (and the intent checked) before anything is sent.
                if not (claiming is not None and free):
                    if not await start_attempt(host, grant_id, snapshot.grant.intent_version, worker_id,
                                               lease_seconds(host)):
                        continue  # the booking changed while we read (or the lease went): read again
                    snapshot.grant.attempts += 1
                # Every vendor call of this attempt logs the grant and attempt it was made for.
                with log_fields(grant_id=grant_id, attempt=snapshot.grant.attempts,
                                integration_id=snapshot.integration.id):
                    async with heartbeat(host, grant_id, worker_id):
                        outcome = await _act(host, snapshot, worker_id, backend)
        except Exception as exc:  # reading failed: a bug, or data nothing can be made of
            log.exception("access grant %s could not be read for its reconcile", grant_id)
            await _write_failure(host, grant_id, worker_id, _internal(exc))
            return None
        return await _write(host, snapshot, outcome, worker_id)
    await give_back(host, grant_id, worker_id)
    return None


def _internal(exc: BaseException) -> Message:
    return Message("Internal error: {kind}", {"kind": type(exc).__name__})


def _waiting_state(want: Want, attempt: Attempt) -> GrantState:
    """The state a grant shows while its work waits for a retry."""
    if want == Want.NONE:
        return GrantState.REVOKING
    return GrantState.ACTIVE if attempt.current() is not None else GrantState.PENDING


async def _act(host: Host, snap: Snapshot, worker_id: str, backend: DoorBackend) -> Outcome:
    # A create's answer can come until the call's deadline, and a little later on a busy machine.
    deadline = backend.call_deadline_seconds + ANSWER_MARGIN_SECONDS
    attempt = Attempt(snap.connection, snap.grant, snap.plan, snap.entries,
                      DatabaseJournal(host, snap, worker_id, deadline), host.clock.now,
                      IntegrationDoors(host, snap.integration.id, snap.connection))
    want = snap.plan.want
    try:
        outcome = await attempt.carry_out(attempt.decide(await attempt.observe()))
    except LeaseLost:
        log.info("access grant %s: lease lost before a create was sent; left to its new holder", snap.grant.id)
        outcome = Outcome(_waiting_state(want, attempt), current=attempt.current())
    except BackendError as exc:
        if not isinstance(exc, TransientBackendError):
            door_directory(host).forget(snap.integration.id)  # e.g. a door the vendor no longer has
        outcome = _failure(snap, want, attempt, exc)
    except UnknownLocation as exc:
        outcome = Outcome(GrantState.FAILED, exc.message, wait=True, current=attempt.current())
    except Exception as exc:  # a bug must not leave the grant leased or the worker stuck
        log.exception("reconcile of access grant %s failed", snap.grant.id)
        outcome = Outcome(_waiting_state(want, attempt), _internal(exc), wait=True, current=attempt.current())
    outcome.changes = attempt.changes()
    if not outcome.wait and any(i.status in UNRESOLVED for i in attempt.items):
        outcome.wait = True  # never at rest while the journal names a set still to settle
    if outcome.wait and outcome.retry_in is None:
        outcome.retry_in = backoff_seconds(host, snap.grant.attempts, outcome.retry_after)
    return outcome


def _failure(snap: Snapshot, want: Want, attempt: Attempt, exc: BackendError) -> Outcome:
    current = attempt.current()
    if isinstance(exc, TransientBackendError):
        return Outcome(_waiting_state(want, attempt), Message.verbatim(str(exc)), wait=True,
                       retry_after=exc.retry_after, current=current)
    if want == Want.NONE or attempt.looking:
        # A refused revoke fails visibly but is never given up on: it is tried again with backoff,
        # so a guest does not keep access once a person has fixed what the vendor refused. So is a
        # refused look-up: it changed nothing, and what the vendor holds is still to be found out.
        return Outcome(GrantState.FAILED, snap.connection.explain(exc), wait=True, current=current)
    return Outcome(GrantState.FAILED, snap.connection.explain(exc), current=current)


async def _write(host: Host, snap: Snapshot, outcome: Outcome, worker_id: str) -> str | None:
    async with host.database.session() as session:
        grant = (await session.execute(_grant_to_write_query(), {"grant_id": snap.grant.id})).scalar_one_or_none()
        if grant is None:
            return None
        now = host.clock.now()
        # What the vendor answered is a fact, written whoever holds the lease now.
        await apply_changes(session, grant.id, outcome.changes, now)
        if grant.claimed_by != worker_id:
            log.warning("access grant %s: lease lost to %s; outcome of %s not written", grant.id, grant.claimed_by,
                        worker_id)
            if outcome.changes:
                grant.intent_version += 1  # its holder looks again, with what this run learned
                grant.next_attempt_at = now
            await session.commit()
            count_resolutions(outcome.changes, grant.id)
            return None
        plan = snap.plan
        current = outcome.current
        set_id = current.set_id if current is not None else None
        if set_id is not None and set_id != grant.authorization_id and snap.field_id is not None:
            # First, so that the grant's changes below go out in one UPDATE (its select flushes).
            await write_field_value(session, grant.booking_id, snap.field_id, set_id)
        grant.desired = desired_for(plan.want)
        grant.authorization_id = set_id
        if current is not None and current.location_id:
            grant.location_id = current.location_id
        if outcome.wanted is not None:
            for key, value in outcome.wanted.as_fields().items():
                setattr(grant, key, value)
        if outcome.state in (GrantState.ACTIVE, GrantState.REVOKED) and not outcome.wait:
            grant.attempts = 0
        if outcome.state == GrantState.ACTIVE and outcome.verified:
            grant.verified_at = now  # the vendor has just confirmed the set (made, kept or adopted)
            grant.warnings = [w.as_json() for w in plan.warnings]
        elif outcome.state != GrantState.ACTIVE:
            grant.warnings = []
        grant.state = outcome.state
        # English for whoever reads the table; the template for readers in other languages.
        grant.last_error = str(outcome.error) if outcome.error else None
        grant.last_error_i18n = outcome.error.as_json() if outcome.error else None
        grant.next_attempt_at = now + timedelta(seconds=outcome.retry_in) if outcome.wait else None
        if grant.intent_version != snap.grant.intent_version:
            grant.next_attempt_at = now  # the booking changed meanwhile: look again at once
        grant.claimed_until = None
        grant.claimed_by = None
        grant.updated_at = now
        await announce(host, session, [grant])  # heard by subscribers once this commits
        await session.commit()
        count_resolutions(outcome.changes, grant.id)
        return grant.state


async def _write_failure(host: Host, grant_id: int, worker_id: str, error: Message) -> None:
    """When a run could not even be read: count the attempt, say why, wait with backoff, and give
    the lease back (this worker's, if it still holds it)."""
    async with host.database.session() as session:
        grant = await session.get(AccessGrant, grant_id, with_for_update=True)
        if grant is None or grant.claimed_by != worker_id:
            await session.rollback()
            return
        now = host.clock.now()
        grant.attempts += 1
        if grant.desired == Desired.REVOKED:
            grant.state = GrantState.REVOKING
        elif grant.state != GrantState.ACTIVE:
            grant.state = GrantState.PENDING
        grant.last_error = str(error)
        grant.last_error_i18n = error.as_json()
        grant.next_attempt_at = now + timedelta(seconds=backoff_seconds(host, grant.attempts))
        grant.claimed_until = None
        grant.claimed_by = None
        grant.updated_at = now
        await announce(host, session, [grant])
        await session.commit()


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


async def reconcile_now(host: Host, grant_ids: list[int], only_due: bool = False,
                        names: dict[int, str] | None = None) -> None:
    """Claim and reconcile the given grants (those another worker holds are left to it);
    ``names``: each grant's backend name, when the caller knows it."""
    if not grant_ids:
        return
    worker_id = f"request-{uuid.uuid4().hex[:8]}"
    lease = lease_seconds(host)
    if names is None or not set(grant_ids) <= names.keys():
        names = await backends_of(host, grant_ids)

    async def one(grant_id: int) -> None:
        if grant_id in names:
            await reconcile_grant(host, grant_id, worker_id, names[grant_id], Claim(lease, only_due))

    results = await asyncio.gather(*(one(i) for i in grant_ids), return_exceptions=True)
    for grant_id, result in zip(grant_ids, results):
        if isinstance(result, Exception):  # the grant's lease runs out and the worker takes it over
            log.error("reconcile of access grant %s failed", grant_id, exc_info=result)


async def reconcile_soon(host: Host, grant_ids: list[int], names: dict[int, str] | None = None) -> bool:
    """After a commit: reconcile at once, waiting at most IRESERVE_RECONCILE_WAIT seconds for the
    answer; a slower reconcile goes on in the background (and the worker is the safety net).
    Returns whether it finished within the wait."""
    task = asyncio.get_running_loop().create_task(reconcile_now(host, grant_ids, only_due=True, names=names))
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
