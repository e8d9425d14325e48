"""Reconcile one access grant: compare what the booking wants with what Resivo has, and act.

Idempotent: running it twice never makes a second authorization set. Each run
1. claims the grant (a lease, so no other worker acts on it meanwhile),
2. reads booking, integration and mapping in a short transaction,
3. talks to Resivo with no transaction open,
4. writes the outcome in a short transaction and gives up the lease.
A create whose answer was lost is adopted on the next attempt through its external reference.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from addon.base.db import utcnow
from addon.base.host import Host
from addon.base.i18n import Message
from addon.booking.models import Booking, BookingField
from addon.booking.services import write_field_value

from .client import Authorization, RemoteAccessRequest, ResivoClient
from .connection import client_for, explain
from .errors import ResivoError, ResivoPermanentError, ResivoTransientError
from .models import DESIRED_ACTIVE, GrantState, ResivoAccessGrant, ResivoIntegration
from .plan import AccessPlan, external_reference, plan_access, resolve_doors

log = logging.getLogger(__name__)
SEMAPHORE_KEY = "resivo.semaphore"
TASKS_KEY = "resivo.tasks"


def lease_seconds(host: Host) -> float:
    # Long enough for a full reconcile (a handful of calls, each bounded by the timeouts).
    return max(60.0, 8 * (host.settings.resivo_connect_timeout + host.settings.resivo_read_timeout))


def backoff_seconds(host: Host, attempts: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter; never sooner than Resivo's Retry-After."""
    settings = host.settings
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * (2 ** max(attempts - 1, 0)))
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def semaphore(host: Host) -> asyncio.Semaphore:
    """Bounds concurrent reconciles towards Resivo in this process (RESIVO_CONCURRENCY)."""
    sem = host.services.get(SEMAPHORE_KEY)
    if sem is None:
        sem = host.services[SEMAPHORE_KEY] = asyncio.Semaphore(host.settings.resivo_concurrency)
    return sem


# -- claiming ---------------------------------------------------------------------------------

def _claimable(now: datetime):
    return or_(ResivoAccessGrant.claimed_until.is_(None), ResivoAccessGrant.claimed_until < now)


async def claim_one(host: Host, grant_id: int, worker_id: str, only_due: bool = False) -> bool:
    """Take the lease on one grant if nobody holds it. ``only_due``: and if it still needs work
    (after a commit the worker may have finished it already); an explicit repair takes it anyway."""
    now = utcnow()
    conditions = [ResivoAccessGrant.id == grant_id, _claimable(now)]
    if only_due:
        conditions.append(ResivoAccessGrant.next_attempt_at.is_not(None))
    async with host.database.session() as session:
        result = await session.execute(
            update(ResivoAccessGrant)
            .where(*conditions)
            .values(claimed_until=now + timedelta(seconds=lease_seconds(host)), claimed_by=worker_id)
        )
        await session.commit()
        return result.rowcount == 1


async def claim_due(host: Host, worker_id: str, limit: int) -> list[int]:
    """Lease up to ``limit`` due grants. PostgreSQL: FOR UPDATE SKIP LOCKED, so workers never
    wait on or take each other's rows. SQLite: the transaction holds the write lock
    (BEGIN IMMEDIATE), so claims are serialized."""
    now = utcnow()
    async with host.database.session() as session:
        query = (
            select(ResivoAccessGrant.id)
            .where(ResivoAccessGrant.next_attempt_at.is_not(None), ResivoAccessGrant.next_attempt_at <= now,
                   _claimable(now))
            .order_by(ResivoAccessGrant.next_attempt_at, ResivoAccessGrant.id)
            .limit(limit)
        )
        if not host.database.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        ids = list((await session.execute(query)).scalars().all())
        if ids:
            await session.execute(
                update(ResivoAccessGrant)
                .where(ResivoAccessGrant.id.in_(ids))
                .values(claimed_until=now + timedelta(seconds=lease_seconds(host)), claimed_by=worker_id)
            )
        await session.commit()
        return ids


# -- the reconcile ----------------------------------------------------------------------------

@dataclass
class Snapshot:
    """What was read at the start of a run; the outcome is written against it."""

    grant: ResivoAccessGrant
    integration: ResivoIntegration
    booking: Booking
    plan: AccessPlan | None
    field_id: int | None


async def _read(host: Host, grant_id: int, worker_id: str) -> Snapshot | None:
    """Read what the run needs, if this worker holds the lease (no lock: :func:`_start` checks
    that nothing changed before anything is sent)."""
    async with host.database.session() as session:
        grant = await session.get(ResivoAccessGrant, grant_id)
        if grant is None or grant.claimed_by != worker_id:
            await session.rollback()
            return None
        integration = await session.get(ResivoIntegration, grant.integration_id)
        booking = await session.get(Booking, grant.booking_id)
        plan = None
        if grant.desired == DESIRED_ACTIVE:
            plan = await plan_access(host, session, integration, booking, ignore_status=True)
        field_id = None
        if integration.authorization_id_field:
            field_id = (await session.execute(
                select(BookingField.id).where(BookingField.code == integration.authorization_id_field)
            )).scalar_one_or_none()
        await session.commit()
        return Snapshot(grant, integration, booking, plan, field_id)


async def _start(host: Host, snapshot: Snapshot, worker_id: str) -> bool:
    """Renew the lease and count the attempt, in one statement, if this worker still holds the
    lease and the intent is the one read. The lease then counts from the start of the work, not
    from the claim (which may have waited for a slot longer than a lease lasts)."""
    grant = snapshot.grant
    async with host.database.session() as session:
        result = await session.execute(
            update(ResivoAccessGrant)
            .where(ResivoAccessGrant.id == grant.id, ResivoAccessGrant.claimed_by == worker_id,
                   ResivoAccessGrant.intent_version == grant.intent_version)
            .values(claimed_until=utcnow() + timedelta(seconds=lease_seconds(host)),
                    # counted before acting: a crash mid-call still counts as tried
                    attempts=ResivoAccessGrant.attempts + 1)
        )
        await session.commit()
    if result.rowcount == 1:
        grant.attempts += 1
        return True
    return False


@dataclass
class Outcome:
    state: str
    error: Message | None = None
    retry_in: float | None = None  # seconds; None = not due any more
    authorization: Authorization | None = None
    fields: dict | None = None  # grant columns to set
    clear_superseded: bool = False


async def reconcile_grant(host: Host, grant_id: int, worker_id: str) -> str | None:
    """Reconcile a grant this worker has claimed; returns the resulting state (``None``: the
    grant is gone or its lease was lost to another worker, which finishes it)."""
    slots = semaphore(host)
    # On PostgreSQL reading happens before taking a slot towards Resivo, so the slots are spent on
    # Resivo. SQLite has one writer at a time: there, reads outside the slots only queue up on
    # its lock, so they stay inside.
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
        if await _start(host, snapshot, worker_id):
            break
        slots.release()  # the booking changed while we read (or the lease went): read again
    else:
        await _give_back(host, grant_id, worker_id)
        return None
    try:
        outcome = await _act(host, snapshot)
    except ResivoError as exc:
        outcome = _failure(host, snapshot, exc)
    except Exception as exc:  # a bug must not leave the grant leased forever
        log.exception("reconcile of access grant %s failed", grant_id)
        outcome = Outcome(_waiting_state(snapshot.grant), Message("Internal error: {kind}", {"kind": type(exc).__name__}),
                          retry_in=backoff_seconds(host, snapshot.grant.attempts))
    finally:
        slots.release()
    return await _write(host, snapshot, outcome, worker_id)


async def _give_back(host: Host, grant_id: int, worker_id: str) -> None:
    """Release a lease without acting; the grant stays due for the next round."""
    async with host.database.session() as session:
        await session.execute(
            update(ResivoAccessGrant)
            .where(ResivoAccessGrant.id == grant_id, ResivoAccessGrant.claimed_by == worker_id)
            .values(claimed_until=None, claimed_by=None, next_attempt_at=utcnow())
        )
        await session.commit()


def _failure(host: Host, snapshot: Snapshot, exc: ResivoError) -> Outcome:
    if isinstance(exc, ResivoTransientError):
        return Outcome(_waiting_state(snapshot.grant), Message.verbatim(str(exc)),
                       retry_in=backoff_seconds(host, snapshot.grant.attempts, exc.retry_after))
    return Outcome(GrantState.FAILED, explain(exc, snapshot.integration))


def _waiting_state(grant: ResivoAccessGrant) -> str:
    if grant.desired == DESIRED_ACTIVE:
        return GrantState.ACTIVE if grant.state == GrantState.ACTIVE else GrantState.PENDING
    return GrantState.REVOKING


async def _act(host: Host, snap: Snapshot) -> Outcome:
    grant, integration = snap.grant, snap.integration
    client = client_for(host, integration, grant.booking_id)
    if grant.desired == DESIRED_ACTIVE:
        return await _make_active(host, snap, client)
    return await _make_revoked(snap, client)


async def _make_revoked(snap: Snapshot, client: ResivoClient) -> Outcome:
    grant = snap.grant
    site_id = grant.site_id or snap.integration.site_id
    ids = [i for i in (grant.authorization_id, grant.superseded_authorization_id) if i]
    if not ids and grant.attempts > 1 and site_id:
        # A create may have reached Resivo without us hearing back: cancel it too.
        ids = [a.id for a in await client.find_by_reference(site_id, external_reference(
            grant.integration_id, grant.booking_id, grant.generation)) if a.is_active]
    if ids and not site_id:
        return Outcome(GrantState.FAILED, Message("Cannot revoke: the site of the authorisation is unknown; set a "
                                                  "Site ID."))
    for authorization_id in ids:
        await client.revoke(site_id, authorization_id)  # already revoked/expired/unknown counts as done
    return Outcome(GrantState.REVOKED, clear_superseded=True)


async def _make_active(host: Host, snap: Snapshot, client: ResivoClient) -> Outcome:
    grant, integration, plan = snap.grant, snap.integration, snap.plan
    if not integration.active:
        # Deactivation is a rollback switch: nothing new goes to Resivo. The grant keeps its state
        # and stays due (with backoff), so it finishes by itself once the integration is active again.
        return Outcome(_waiting_state(grant), Message("The integration is not active."),
                       retry_in=backoff_seconds(host, grant.attempts))
    doors = None
    unreachable = None
    if plan.mapped_object is not None:
        from .directory import live_doors

        try:
            doors = await live_doors(client, integration)
        except ResivoTransientError:
            raise
        except ResivoError as exc:
            unreachable = explain(exc, integration)
            return Outcome(GrantState.FAILED, unreachable)
    resolve_doors(plan, doors, unreachable)
    if plan.problems:
        return Outcome(GrantState.FAILED, Message.join(plan.problems))

    wanted = _fields_of(plan)
    if grant.authorization_id:
        # Whatever the grant's state (ACTIVE, or FAILED/PENDING/REVOKING with a set still out
        # there), compare with what Resivo actually has: a live set that gives the wanted access
        # is kept, a live one that does not is replaced, one revoked or lost behind our back is
        # renewed; never a second live set beside the first.
        site_id = grant.site_id or wanted["site_id"]
        current = await _live_set(client, site_id, grant.authorization_id)
        if current is not None:
            if _set_matches(current, wanted) if _has_window(current) else _same_access(grant, wanted):
                if grant.superseded_authorization_id:
                    await client.revoke(site_id, grant.superseded_authorization_id)
                return Outcome(GrantState.ACTIVE, clear_superseded=True,
                               fields=None if grant.state == GrantState.ACTIVE else dict(wanted, site_id=site_id))
            return await _replace(snap, client, wanted, site_id)
        return await _renew(snap, client, wanted, site_id)
    return await _create(snap, client, wanted, grant.generation)


async def _live_set(client: ResivoClient, site_id: str | None, authorization_id: str) -> Authorization | None:
    """The set as Resivo has it while it is active; revoked, expired or unknown: ``None``."""
    if not site_id:
        return None
    try:
        found = await client.get_authorization(site_id, authorization_id)
    except ResivoPermanentError as exc:
        if exc.status == 404:
            return None
        raise
    return found if found.is_active else None


def _fields_of(plan: AccessPlan) -> dict:
    return {
        "site_id": plan.site_id,
        "doors": [{"id": d.id, "name": d.name} for d in plan.doors],
        "valid_from": plan.valid_from,
        "valid_to": plan.valid_to,
        "locale": plan.language.language,
    }


def _same_access(grant: ResivoAccessGrant, wanted: dict) -> bool:
    return (grant.site_id == wanted["site_id"]
            and sorted(d["id"] for d in grant.doors) == sorted(d["id"] for d in wanted["doors"])
            and grant.valid_from == wanted["valid_from"] and grant.valid_to == wanted["valid_to"])


def _has_window(found: Authorization) -> bool:
    return found.valid_from is not None and found.valid_to is not None


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)  # what goes over the wire (format_utc)


def _set_matches(found: Authorization, wanted: dict) -> bool:
    """Whether a set at Resivo gives exactly the wanted doors and window."""
    return (sorted(found.component_ids) == sorted(d["id"] for d in wanted["doors"])
            and _has_window(found)
            and _whole_seconds(found.valid_from) == _whole_seconds(wanted["valid_from"])
            and _whole_seconds(found.valid_to) == _whole_seconds(wanted["valid_to"]))


async def _create(snap: Snapshot, client: ResivoClient, wanted: dict, generation: int) -> Outcome:
    """A set for ``wanted`` under the external reference of ``generation``; the outcome's
    fields carry the generation of the set it made or adopted."""
    grant, plan = snap.grant, snap.plan
    reference = external_reference(grant.integration_id, grant.booking_id, generation)
    site_id = wanted["site_id"]
    if grant.attempts > 1:
        # An earlier attempt may have created the set and lost the answer: adopt it, if it still
        # gives the wanted access. One made for doors or a window that have changed since is
        # replaced by a set of the next generation, then revoked.
        found = [a for a in await client.find_by_reference(site_id, reference) if a.is_active]
        for candidate in found:
            if _set_matches(candidate, wanted):
                return Outcome(GrantState.ACTIVE, authorization=candidate, fields=dict(wanted, generation=generation))
        if found:
            outcome = await _create(snap, client, wanted, generation + 1)
            for stale in found:
                await client.revoke(site_id, stale.id)  # a transient error: the next attempt adopts and revokes
            return outcome
    created = await client.create_remote_access(site_id, RemoteAccessRequest(
        display_name=plan.display_name,
        component_ids=[d["id"] for d in wanted["doors"]],
        valid_from=wanted["valid_from"],
        valid_to=wanted["valid_to"],
        recipients=plan.recipients,
        locale=wanted["locale"],
        message=plan.message,
        legic_app_id=snap.integration.target_mobile_app_id,
        external_reference=reference,
    ))
    return Outcome(GrantState.ACTIVE, authorization=created, fields=dict(wanted, generation=generation))


async def _replace(snap: Snapshot, client: ResivoClient, wanted: dict, site_id: str) -> Outcome:
    """New set with the new doors/window first, then the old one revoked: no gap in access."""
    grant = snap.grant
    outcome = await _create(snap, client, wanted, grant.generation + 1)
    outcome.fields = dict(outcome.fields, superseded_authorization_id=grant.authorization_id)
    try:
        await client.revoke(site_id, grant.authorization_id)
        outcome.clear_superseded = True
    except ResivoTransientError as exc:
        # The new access stands; the old set is revoked on the next attempt.
        outcome.error = Message("Replaced; the old authorisation is still to be revoked: {error}", {"error": str(exc)})
        outcome.retry_in = 0.0
    return outcome


async def _renew(snap: Snapshot, client: ResivoClient, wanted: dict, site_id: str | None) -> Outcome:
    """The set is gone at Resivo (drift): a new one, with its own external reference."""
    grant = snap.grant
    outcome = await _create(snap, client, wanted, grant.generation + 1)
    outcome.clear_superseded = True
    if grant.superseded_authorization_id and site_id:
        try:
            await client.revoke(site_id, grant.superseded_authorization_id)
        except ResivoTransientError as exc:
            outcome.clear_superseded = False
            outcome.error = Message("Renewed; an older authorisation is still to be revoked: {error}",
                                    {"error": str(exc)})
            outcome.retry_in = 0.0
    return outcome


async def _write(host: Host, snap: Snapshot, outcome: Outcome, worker_id: str) -> str | None:
    async with host.database.session() as session:
        grant = (await session.execute(
            select(ResivoAccessGrant).where(ResivoAccessGrant.id == snap.grant.id).with_for_update()
        )).scalar_one_or_none()
        if grant is None:
            return None
        if grant.claimed_by != worker_id:
            log.warning("access grant %s: lease lost to %s; outcome of %s not written", grant.id, grant.claimed_by, worker_id)
            await session.rollback()
            return None
        now = utcnow()
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

async def reconcile_now(host: Host, grant_ids: list[int], only_due: bool = False) -> None:
    """Claim and reconcile the given grants (those another worker holds are left to it)."""
    worker_id = f"request-{uuid.uuid4().hex[:8]}"

    async def one(grant_id: int) -> None:
        if await claim_one(host, grant_id, worker_id, only_due):
            await reconcile_grant(host, grant_id, worker_id)

    await asyncio.gather(*(one(i) for i in grant_ids))


async def reconcile_soon(host: Host, grant_ids: list[int]) -> None:
    """After a commit: reconcile at once, waiting at most IRESERVE_RECONCILE_WAIT seconds for the
    answer; a slower reconcile goes on in the background (and the worker is the safety net)."""
    task = asyncio.get_running_loop().create_task(reconcile_now(host, grant_ids, only_due=True))
    tasks: set = host.services.setdefault(TASKS_KEY, set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=host.settings.reconcile_wait_seconds)
    except asyncio.TimeoutError:
        log.info("access grants %s still reconciling after %.1f s; answering with their current state",
                 grant_ids, host.settings.reconcile_wait_seconds)


async def drain_background(host: Host) -> None:
    """Wait for reconciles started by requests (shutdown, tests)."""
    tasks = list(host.services.get(TASKS_KEY, ()))
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
