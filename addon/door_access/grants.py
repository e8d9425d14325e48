"""Grant bookkeeping, in one place: when to look at a booking's access again.

A grant records what was last derived for one booking × integration and where the vendor was; it
is *due* while ``next_attempt_at`` is set. Nothing here calls a vendor or decides what access a
booking gets — the reconcile derives that from the booking as it is when it runs
(``entitlement``). What is here only says *when* to look:

* :func:`touch_booking` — a booking changed (status, dates, object, contact details): its grants
  with every integration that holds one or applies to it now (active or not) are looked at;
* :func:`rederive` — an integration changed (activation, statuses, time before, mapping,
  archiving): every grant it holds that may need work is looked at, and bookings entitled now
  that have none get one (the backfill);
* :func:`request_revoke` — staff (or an erasure) revoke a booking's access whatever its status;
* :func:`request_new_set` — staff ask for a new link: the live set is replaced (a new one first,
  then the old one revoked).

Every write here runs inside the caller's transaction, so a change and the look it asks for
commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.booking.public import BookableObject, Booking, BookingStatus, BookingStatusHistory, read_field_value

from .entitlement import Want, decided_by_statuses, is_decisive
from .mapping import door_names_by_object, mapping_for_object, objects_following
from .models import UNRESOLVED, AccessGrant, AccessSetRecord, Desired, DoorIntegration, GrantState, SetStatus
from .plan import access_window, archived_revoking, runs, sticky_statuses, want_of

# Booking changes that may change doors or window of its access (or let a failed grant succeed).
ACCESS_RELEVANT_CHANGES = {"start", "end", "object"}
CONTACT_CHANGES = {"customer.email", "customer.phone"}


async def grant_of(session: AsyncSession, booking_id: int, integration_id: int, lock: bool = False) -> AccessGrant | None:
    query = select(AccessGrant).where(AccessGrant.booking_id == booking_id, AccessGrant.integration_id == integration_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


def mark_due(grant: AccessGrant, now: datetime) -> None:
    """Look at the grant now; a reconcile under way with an older intent looks again after it."""
    grant.intent_version += 1
    grant.next_attempt_at = now
    grant.updated_at = now


def desired_for(want: Want) -> Desired:
    return Desired.REVOKED if want == Want.NONE else Desired.ACTIVE


def record_want(grant: AccessGrant, want: Want, now: datetime) -> None:
    """Show at once what the change asks for (the reconcile confirms it): a revoke on its way, or
    access on its way again after a revoke or a failure."""
    desired = desired_for(want)
    if desired == Desired.REVOKED and grant.state != GrantState.REVOKED:
        grant.state = GrantState.REVOKING
    elif desired == Desired.ACTIVE and want == Want.LIVE and grant.state in (GrantState.REVOKED, GrantState.FAILED,
                                                                          GrantState.REVOKING):
        grant.state = GrantState.PENDING
        grant.attempts = 0
        grant.last_error = grant.last_error_i18n = None
    grant.desired = desired
    mark_due(grant, now)


def new_grant(booking_id: int, integration_id: int, now: datetime) -> AccessGrant:
    return AccessGrant(booking_id=booking_id, integration_id=integration_id, desired=Desired.ACTIVE,
                       state=GrantState.PENDING, next_attempt_at=now, created_at=now, updated_at=now)


# Statements every status change sends, built once (the id goes in as a bound parameter).
@cache
def _grants_of_booking_query():
    return select(AccessGrant).where(AccessGrant.booking_id == bindparam("booking_id")).with_for_update()


@cache
def _integrations_query():
    return select(DoorIntegration).order_by(DoorIntegration.id)


async def _grants_of_booking(session: AsyncSession, booking_id: int) -> dict[int, AccessGrant]:
    rows = (await session.execute(_grants_of_booking_query(), {"booking_id": booking_id})).scalars().all()
    return {g.integration_id: g for g in rows}


@dataclass
class Touched:
    """The grants a change made due, and each one's backend (for the reconcile right after)."""

    grants: list[AccessGrant] = field(default_factory=list)
    backends: dict[int, str] = field(default_factory=dict)


async def touch_booking(session: AsyncSession, booking: Booking, now: datetime, *, new_status: str | None = None,
                        changes: Iterable[str] = (), force: bool = False) -> Touched:
    """The booking changed (``new_status``: it moved to that status; ``changes``: these properties
    changed; ``force``: look at every grant against the vendor, e.g. a staff resync). Returns the
    grants that are due now."""
    changes = set(changes)
    grants = await _grants_of_booking(session, booking.id)
    integrations = (await session.execute(_integrations_query())).scalars().all()
    status_code = new_status or (await session.get(BookingStatus, booking.status_id)).code
    obj = await session.get(BookableObject, booking.object_id)
    touched, backends = [], []
    for integration in integrations:
        grant = grants.get(integration.id)
        if grant is None and not runs(integration):
            continue  # gives nothing new, and holds nothing for this booking
        trigger, revoke = integration.trigger_statuses or [], integration.revoke_statuses or []
        if grant is not None and new_status is not None and is_decisive(new_status, trigger, revoke,
                                                                          sticky_statuses(integration)):
            grant.revoke_requested_by = grant.revoke_requested_at = None  # a new decision replaces staff's revoke
        mapping, _ = await mapping_for_object(session, integration.id, obj)
        wanted = await want_of(session, integration, booking, status_code, grant, mapping is not None, now)
        if grant is None:
            if wanted != Want.LIVE:
                continue
            grant = new_grant(booking.id, integration.id, now)
            session.add(grant)
        elif not (force or changes & ACCESS_RELEVANT_CHANGES or _looks_different(grant, wanted)
                  or (changes & CONTACT_CHANGES and grant.state == GrantState.FAILED)):
            continue  # at rest with what it has: nothing to look at
        record_want(grant, wanted, now)
        touched.append(grant)
        backends.append(integration.backend)
    if touched:
        await session.flush()
    return Touched(touched, {g.id: name for g, name in zip(touched, backends)})


def _looks_different(grant: AccessGrant, wanted: Want) -> bool:
    """Whether the grant, as recorded, may not give what ``wanted`` asks for (then it is looked at)."""
    if grant.next_attempt_at is not None:
        return True  # on its way: the reconcile must see the change (its intent moves on)
    if desired_for(wanted) != grant.desired:
        return True
    if wanted == Want.LIVE:
        return grant.state != GrantState.ACTIVE
    if wanted == Want.NONE:
        return grant.state != GrantState.REVOKED
    return False  # KEEP / ENDED: nothing new is made; what is there stays


async def request_revoke(session: AsyncSession, booking: Booking, integration: DoorIntegration, now: datetime,
                         actor: str) -> AccessGrant | None:
    """Revoke the booking's access through ``integration`` whatever its status (until its next
    trigger or revoke status, or a resync); ``None`` when there is nothing to revoke."""
    grant = await grant_of(session, booking.id, integration.id, lock=True)
    if grant is None:
        # Access given before this grant existed (or entered by hand): the booking field has the id.
        existing_id = None
        if integration.authorization_id_field:
            existing_id = await read_field_value(session, booking.id, integration.authorization_id_field)
        if not existing_id:
            return None
        grant = AccessGrant(booking_id=booking.id, integration_id=integration.id, desired=Desired.REVOKED,
                            state=GrantState.REVOKING, authorization_id=existing_id, next_attempt_at=now,
                            created_at=now, updated_at=now)
        session.add(grant)
        await session.flush()
        session.add(AccessSetRecord(grant_id=grant.id, set_id=existing_id, status=SetStatus.LIVE, created_at=now))
    else:
        record_want(grant, Want.NONE, now)
    grant.revoke_requested_by = actor
    grant.revoke_requested_at = now
    await session.flush()
    return grant


async def current_record(session: AsyncSession, grant_id: int) -> AccessSetRecord | None:
    """The journal's record of the grant's live set (CURRENT), locked for the caller's change."""
    return (await session.execute(
        select(AccessSetRecord).where(AccessSetRecord.grant_id == grant_id, AccessSetRecord.status == SetStatus.CURRENT)
        .order_by(AccessSetRecord.id.desc()).limit(1).with_for_update()
    )).scalar_one_or_none()


async def entitled_now(session: AsyncSession, integration: DoorIntegration, booking: Booking, grant: AccessGrant,
                       now: datetime) -> bool:
    """Whether the booking is entitled, now, to access through ``integration`` that can be made."""
    status_code = (await session.get(BookingStatus, booking.status_id)).code
    mapping, _ = await mapping_for_object(session, integration.id, await session.get(BookableObject, booking.object_id))
    return await want_of(session, integration, booking, status_code, grant, mapping is not None, now) == Want.LIVE


async def request_new_set(session: AsyncSession, grant: AccessGrant, now: datetime) -> AccessSetRecord | None:
    """A new link for the guest: the grant's live set is no longer its own but one to revoke (LIVE),
    and the grant is due — the reconcile then makes a new set (sent to the guest) before it revokes
    the old one, so the guest is never without access. Returns the replaced record (``None``: the
    grant has no live set; nothing changed). The caller checks that the grant is ACTIVE and the
    booking entitled now."""
    record = await current_record(session, grant.id)
    if record is None:
        return None
    record.status = SetStatus.LIVE
    record_want(grant, Want.LIVE, now)
    await session.flush()
    return record


async def clear_revoke_requests(session: AsyncSession, booking_id: int) -> None:
    """A resync follows the booking's status again: revokes staff asked for are forgotten."""
    for grant in (await _grants_of_booking(session, booking_id)).values():
        grant.revoke_requested_by = grant.revoke_requested_at = None


# -- an integration changed -------------------------------------------------------------------

async def _histories(session: AsyncSession, booking_ids: list[int]) -> dict[int, list[str]]:
    """Status codes each booking went through, oldest first (one statement for all)."""
    found: dict[int, list[str]] = {}
    if booking_ids:
        for booking_id, code in (await session.execute(
                select(BookingStatusHistory.booking_id, BookingStatus.code)
                .join(BookingStatus, BookingStatus.id == BookingStatusHistory.to_status_id)
                .where(BookingStatusHistory.booking_id.in_(booking_ids))
                .order_by(BookingStatusHistory.booking_id, BookingStatusHistory.id))).all():
            found.setdefault(booking_id, []).append(code)
    return found


def _want_for(integration: DoorIntegration, booking: Booking, code: str, history: list[str],
              grant: AccessGrant | None, mapped: bool, now: datetime, running: bool) -> Want:
    trigger, revoke = integration.trigger_statuses or [], integration.revoke_statuses or []
    if grant is not None and grant.revoke_requested_at is not None:
        return Want.NONE
    if archived_revoking(integration) or not mapped or not decided_by_statuses(
            code, history, trigger, revoke, sticky_statuses(integration)):
        return Want.NONE
    try:
        if access_window(booking, integration)[1] <= now:
            return Want.ENDED
    except (OverflowError, ValueError):
        pass  # the reconcile fails it, visibly
    return Want.LIVE if running else Want.KEEP


async def rederive(session: AsyncSession, integration: DoorIntegration, now: datetime,
                   object_ids: set[int] | None = None, *, dry_run: bool = False, as_if_active: bool = False,
                   proposed: dict[int, list[str]] | None = None) -> int:
    """After ``integration`` changed (or only its mapping of ``object_ids``): every grant it holds
    there whose access may no longer be what the booking is entitled to is marked due, and every
    booking entitled now that has no grant gets one. Returns how many bookings are queued
    (``dry_run``: counted, nothing written; ``as_if_active``: as activating it would;
    ``proposed``: with these objects' own mappings instead of the stored ones, for a dry run)."""
    if proposed is not None and not dry_run:
        raise ValueError("a proposed mapping is only ever counted (dry_run)")
    running = runs(integration) or as_if_active
    names_by_object = await door_names_by_object(session, integration.id, proposed)
    mapped = set(names_by_object)
    query = (select(Booking, BookingStatus.code, AccessGrant)
             .join(BookingStatus, BookingStatus.id == Booking.status_id)
             .outerjoin(AccessGrant, (AccessGrant.booking_id == Booking.id)
                        & (AccessGrant.integration_id == integration.id))
             .where((AccessGrant.id.is_not(None)) | (Booking.object_id.in_(mapped) & (Booking.end_at > now)))
             .order_by(Booking.start_at, Booking.id))
    if object_ids is not None:
        query = query.where(Booking.object_id.in_(object_ids))
    rows = (await session.execute(query)).all()
    trigger, revoke = integration.trigger_statuses or [], integration.revoke_statuses or []
    sticky = sticky_statuses(integration)
    histories = await _histories(session, [b.id for b, code, _ in rows if not is_decisive(code, trigger, revoke, sticky)])
    unresolved = await _with_unresolved_records(session, [g.id for _, _, g in rows if g is not None])
    queued = 0
    for booking, code, grant in rows:
        wanted = _want_for(integration, booking, code, histories.get(booking.id, []), grant,
                           booking.object_id in mapped, now, running)
        if grant is None:
            if wanted != Want.LIVE:
                continue
            queued += 1
            if not dry_run:
                session.add(new_grant(booking.id, integration.id, now))
            continue
        needs_look = grant.id in unresolved or _looks_different(grant, wanted) or (
            wanted == Want.LIVE and _recorded_access_differs(grant, booking, integration,
                                                             names_by_object.get(booking.object_id, [])))
        if grant.state == GrantState.FAILED and desired_for(wanted) == grant.desired and grant.id not in unresolved:
            needs_look = False  # failed for a reason a person fixes; retryFailedAccess queues it again
        if not needs_look:
            continue
        queued += 1
        if not dry_run:
            record_want(grant, wanted, now)
    if not dry_run:
        await session.flush()
    return queued


def _recorded_access_differs(grant: AccessGrant, booking: Booking, integration: DoorIntegration,
                             door_names: list[str]) -> bool:
    """Whether the access the grant records is not what the integration defines now (another
    window, other doors): the live set is then replaced. Decided from the database alone."""
    try:
        window = access_window(booking, integration)
    except (OverflowError, ValueError):
        return True
    if (grant.valid_from, grant.valid_to) != window:
        return True
    return sorted(d["name"] for d in grant.doors or []) != sorted(set(door_names))


async def _with_unresolved_records(session: AsyncSession, grant_ids: list[int]) -> set[int]:
    if not grant_ids:
        return set()
    return set((await session.execute(
        select(AccessSetRecord.grant_id).where(AccessSetRecord.grant_id.in_(grant_ids),
                                               AccessSetRecord.status.in_(UNRESOLVED)).distinct()
    )).scalars().all())


async def preview_mapping(session: AsyncSession, integration: DoorIntegration, object_id: int, door_names: list[str],
                          now: datetime) -> int:
    """How many bookings saving ``door_names`` as the own mapping of ``object_id`` would queue
    (as :func:`follow_mapping` would after the save); nothing is written."""
    following = await objects_following(session, integration.id, object_id)
    return await rederive(session, integration, now, following, dry_run=True, proposed={object_id: door_names})


async def follow_mapping(session: AsyncSession, integration: DoorIntegration, object_id: int, now: datetime) -> int:
    """After the mapping of ``object_id`` changed: the bookings whose doors come from it (on the
    object, and on its sub-objects that inherit it) are looked at — live sets are replaced (the
    new one first, then the old one revoked), access a removed mapping gave is revoked, and
    bookings there entitled now get access. Returns how many bookings."""
    return await rederive(session, integration, now, await objects_following(session, integration.id, object_id))
