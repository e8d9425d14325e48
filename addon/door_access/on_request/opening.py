"""Opening a lock on request: for the guest through their open link, or for staff on the guest's
behalf. Every request is checked against the booking as it is at that moment — the same
entitlement as everywhere (``plan.plan_access``): an allowed status, the window (start − time
before … end), the object's mapping, the integration active — and refused with a reason the guest
understands otherwise. A request that may go out is journaled first (its reference is the
vendor's idempotency key, so a retried command opens nothing more), then sent; the lock's own entry
confirms it. The first confirmed opening of a booking writes its time into the open-action field
and moves the booking to the check-in status, through the booking domain's rules (a refused move is
recorded, never silent); later openings only log. Every opening and refusal is audited.

Openings whose answer was lost, or that the lock had not confirmed yet, are looked up in the
lock's entries by the worker (:func:`confirm_openings`), so a check-in is never missed and never
made twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, Message, Moment, ValidationFailed, audit, commit
from addon.booking.public import (
    BookableObject,
    Booking,
    BookingField,
    BookingStatus,
    get_booking,
    read_field_value,
    set_booking_status,
    write_field_value,
)

from ..backend import AccessModel, BackendError, DoorConnection, PermanentBackendError, TransientBackendError, backends
from ..directory import IntegrationDoors
from ..entitlement import Want
from ..models import AccessGrant, DoorIntegration
from ..plan import AccessPlan, plan_access
from .links import token_hash
from .models import DoorOpening, GuestLink, OpeningResult
from .settings import guest_settings

log = logging.getLogger(__name__)

GUEST = audit.Actor("guest", "open link")
# An opening not confirmed within this long stays as it is: the lock did not report it.
CONFIRM_FOR = timedelta(hours=1)
ENTRIES_BEFORE = timedelta(minutes=1)  # the vendor's clock may run a little behind ours


class Refusal:
    """Why a request to open was not sent (a code for programs, a message for people)."""

    NO_SUCH_LINK = "NO_SUCH_LINK"
    LINK_REVOKED = "LINK_REVOKED"
    NOT_ON_REQUEST = "NOT_ON_REQUEST"
    NOT_YET = "NOT_YET"
    ENDED = "ENDED"
    STATUS = "STATUS"
    INACTIVE = "INACTIVE"
    NO_SUCH_DOOR = "NO_SUCH_DOOR"
    RATE_LIMITED = "RATE_LIMITED"


@dataclass
class OpenOutcome:
    result: OpeningResult
    message: Message
    refusal: str | None = None
    retry_after: float | None = None
    opening_id: int | None = None
    checked_in: bool = False


@dataclass
class _Request:
    grant: AccessGrant
    integration: DoorIntegration
    booking: Booking
    plan: AccessPlan
    link: GuestLink | None
    connection: DoorConnection | None


def status_name(status: BookingStatus, language: str) -> str:
    return (status.names or {}).get(language) or status.name


def _local(plan: AccessPlan, moment: datetime) -> Moment:
    # Shown at the object's wall time in whoever reads it's language (the guest, a staff member).
    return Moment(moment, plan.time_zone or "UTC")


async def _grant_for(session: AsyncSession, booking_id, integration_id, door: str) -> AccessGrant | None:
    """The booking's grant through an integration that opens on request (the one given, else the
    one whose doors include ``door``, else the only one)."""
    query = (select(AccessGrant).join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
             .where(AccessGrant.booking_id == booking_id,
                    DoorIntegration.access_model == AccessModel.OPENS_ON_REQUEST).order_by(AccessGrant.id))
    if integration_id is not None:
        query = query.where(AccessGrant.integration_id == integration_id)
    grants = (await session.execute(query)).scalars().all()
    named = [g for g in grants if door in [d.get("name") for d in g.doors or []]]
    return (named or grants or [None])[0]


async def _read(host: Host, session: AsyncSession, token: str | None, booking_id, integration_id,
                door: str) -> tuple[_Request | None, OpenOutcome | None]:
    link = None
    if token is not None:
        link = (await session.execute(select(GuestLink).where(GuestLink.token_hash == token_hash(token)))).scalar_one_or_none()
        if link is None:
            return None, OpenOutcome(OpeningResult.REFUSED, Message("This link is not known."), Refusal.NO_SUCH_LINK)
        grant = (await session.execute(select(AccessGrant).where(
            AccessGrant.booking_id == link.booking_id, AccessGrant.integration_id == link.integration_id))
        ).scalar_one_or_none()
    else:
        booking = await get_booking(session, booking_id)
        grant = await _grant_for(session, booking.id, integration_id, door)
    if grant is None:
        return None, OpenOutcome(OpeningResult.REFUSED, Message(
            "This booking has no door access that opens on request."), Refusal.NOT_ON_REQUEST)
    integration = await session.get(DoorIntegration, grant.integration_id)
    booking = await session.get(Booking, grant.booking_id)
    plan = await plan_access(session, integration, booking, host.clock.now(), grant)
    connection = None
    if integration.backend in backends(host).names():
        connection = await backends(host)[integration.backend].connect(host, session, integration, booking.id)
    return _Request(grant, integration, booking, plan, link, connection), None


async def _refusal(host: Host, session: AsyncSession, request: _Request, door: str | None) -> OpenOutcome | None:
    """Why the request may not go out now, if it may not (``door`` None: whatever the door, and
    without counting the attempt against the rate limit)."""
    plan, now = request.plan, host.clock.now()
    replaced = request.link is not None and (request.link.revoked_at is not None
                                             or request.grant.authorization_id != str(request.link.id))
    no_longer = OpenOutcome(OpeningResult.REFUSED, Message("This link no longer works."), Refusal.LINK_REVOKED)
    if plan.want != Want.LIVE:
        # Why the doors stay shut says more than that the link was revoked with the entitlement.
        if plan.want == Want.ENDED:
            return OpenOutcome(OpeningResult.REFUSED, Message("Your door access ended at {end}.",
                                                              {"end": _local(plan, plan.valid_to)}), Refusal.ENDED)
        if plan.want == Want.KEEP:
            return no_longer if replaced else OpenOutcome(
                OpeningResult.REFUSED, Message("Opening doors is switched off at the moment."), Refusal.INACTIVE)
        # The booking's status, whether or not the worker has revoked the link yet: the same answer
        # before and after.
        status = await session.get(BookingStatus, request.booking.status_id)
        language = plan.language.language if plan.language else "en"
        return OpenOutcome(OpeningResult.REFUSED, Message("This booking is {status}: the doors do not open.",
                                                          {"status": status_name(status, language)}), Refusal.STATUS)
    if replaced:
        return no_longer
    if plan.valid_from is not None and now < plan.valid_from:
        return OpenOutcome(OpeningResult.REFUSED, Message("The doors open from {start}.",
                                                          {"start": _local(plan, plan.valid_from)}), Refusal.NOT_YET)
    if door is None:
        return None
    if door not in plan.door_names:
        return OpenOutcome(OpeningResult.REFUSED, Message("Door {door!r} is not one of this booking's doors.",
                                                          {"door": door}), Refusal.NO_SUCH_DOOR)
    limit = guest_settings(host).opens_per_minute
    recent = (await session.execute(select(func.count()).where(
        DoorOpening.grant_id == request.grant.id, DoorOpening.requested_at > now - timedelta(minutes=1)))).scalar_one()
    if recent >= limit:
        return OpenOutcome(OpeningResult.REFUSED, Message("Too many attempts: try again in a minute."),
                           Refusal.RATE_LIMITED, retry_after=60.0)
    return None


async def open_door(host: Host, *, door: str, token: str | None = None, booking_id=None, integration_id=None,
                    actor: audit.Actor = GUEST) -> OpenOutcome:
    """Open ``door`` for the booking of the open link ``token`` (the guest), or of ``booking_id``
    (staff); answers whether the lock confirmed it, or why nothing was sent."""
    now = host.clock.now()
    async with host.database.session() as session:
        request, outcome = await _read(host, session, token, booking_id, integration_id, door)
        if request is not None:
            outcome = await _refusal(host, session, request, door)
        if outcome is not None:
            if request is not None:  # a refusal of a known booking is recorded and audited
                outcome.opening_id = await _record(session, request, door, now, actor, outcome)
            await commit(session)
            return outcome
        opening = DoorOpening(grant_id=request.grant.id, link_id=request.link.id if request.link else None,
                              door_name=door, reference=f"ireserve-open-{uuid.uuid4().hex}", requested_at=now,
                              requested_by=actor.label[:100], result=OpeningResult.SENDING)
        session.add(opening)
        await commit(session)  # journaled before the command goes out
    outcome = await _send(host, request, opening)
    outcome.opening_id = opening.id
    async with host.database.session() as session:
        row = await session.get(DoorOpening, opening.id, with_for_update=True)
        row.result = outcome.result
        row.lock_id = opening.lock_id
        row.error_i18n = outcome.message.as_json() if outcome.result == OpeningResult.FAILED else None
        row.confirmed_at = now if outcome.result == OpeningResult.CONFIRMED else None
        await audit.record(session, "door.open", "booking", request.booking.id, _facts(request, door, outcome),
                           actor=actor)
        await commit(session)
    if outcome.result == OpeningResult.CONFIRMED:
        outcome.checked_in = await check_in(host, opening.id)
    return outcome


@dataclass
class LinkView:
    """What the guest open page shows for a link: in the guest's language, the object, the window,
    the doors, and why they do not open now (if they do not)."""

    language: str
    object_name: str
    window: str | None
    doors: list[str]
    refusal: OpenOutcome | None


async def link_view(host: Host, token: str) -> LinkView | None:
    async with host.database.session(read_only=True) as session:
        request, outcome = await _read(host, session, token, None, None, "")
        if request is None:
            await session.commit()
            return None
        outcome = await _refusal(host, session, request, None)
        obj = await session.get(BookableObject, request.booking.object_id)
        await session.commit()
    plan = request.plan
    window = None
    if plan.valid_from is not None and plan.valid_to is not None:
        window = Message("From {start} until {end}.", {"start": _local(plan, plan.valid_from),
                                                        "end": _local(plan, plan.valid_to)}).text(
            plan.language.language)
    return LinkView(language=plan.language.language, object_name=obj.name, window=window,
                    doors=list(plan.door_names), refusal=outcome)


def _facts(request: _Request, door: str, outcome: OpenOutcome) -> dict:
    return {"reference": [None, request.booking.reference], "door": [None, door],
            "result": [None, outcome.result.value], "refusal": [None, outcome.refusal]}


async def _record(session: AsyncSession, request: _Request, door: str, now: datetime, actor: audit.Actor,
                  outcome: OpenOutcome) -> int:
    row = DoorOpening(grant_id=request.grant.id, link_id=request.link.id if request.link else None, door_name=door,
                      requested_at=now, requested_by=actor.label[:100], result=OpeningResult.REFUSED,
                      refusal=outcome.refusal, error_i18n=outcome.message.as_json())
    session.add(row)
    await session.flush()
    await audit.record(session, "door.open_refused", "booking", request.booking.id, _facts(request, door, outcome),
                       actor=actor)
    return row.id


async def _lock_id(host: Host, request: _Request, door: str) -> str | None:
    doors = IntegrationDoors(host, request.integration.id, request.connection)
    found, fetched = await doors.get()
    matches = [d for d in found if d.name == door]
    if len(matches) != 1 and not fetched:
        doors.forget()  # the lock may have been renamed or re-registered: ask again
        found, _ = await doors.get()
        matches = [d for d in found if d.name == door]
    return matches[0].id if len(matches) == 1 else None


async def _send(host: Host, request: _Request, opening: DoorOpening) -> OpenOutcome:
    if request.connection is None:
        return OpenOutcome(OpeningResult.FAILED, Message("The lock system of this integration is not available."))
    try:
        lock_id = await _lock_id(host, request, opening.door_name)
        if lock_id is None:
            return OpenOutcome(OpeningResult.FAILED, Message("Door {door!r} is not at the lock system any more.",
                                                             {"door": opening.door_name}))
        opening.lock_id = lock_id
        accepted = await request.connection.open_lock(lock_id, opening.reference)
    except TransientBackendError as exc:
        if exc.unprocessed or exc.status is not None and exc.status not in (502, 504):
            # Answered, nothing done (busy, the IQ offline …): what the vendor said, to try again later.
            return OpenOutcome(OpeningResult.FAILED, request.connection.explain(exc), retry_after=exc.retry_after)
        # No answer: the command may have gone through. The worker looks for the lock's entry.
        return OpenOutcome(OpeningResult.SENDING, Message("No answer from the lock system: the door may have opened. "
                                                          "If it did not, try again."))
    except PermanentBackendError as exc:
        return OpenOutcome(OpeningResult.FAILED, request.connection.explain(exc))
    except BackendError as exc:
        return OpenOutcome(OpeningResult.FAILED, Message.verbatim(str(exc)))
    if not accepted.accepted:
        return OpenOutcome(OpeningResult.FAILED, Message("The lock system did not take the command."))
    if await _confirmed(host, request.connection, opening):
        return OpenOutcome(OpeningResult.CONFIRMED, Message("The door is open."))
    return OpenOutcome(OpeningResult.ACCEPTED, Message("The command was sent; the lock has not confirmed it yet."))


async def _confirmed(host: Host, connection: DoorConnection, opening: DoorOpening) -> bool:
    """Whether the lock reports the opening, waiting up to IRESERVE_OPEN_CONFIRM_SECONDS."""
    wait = guest_settings(host).open_confirm_seconds
    step = 0.25
    waited = 0.0
    while True:
        try:
            entries = await connection.entries(opening.requested_at - ENTRIES_BEFORE, opening.lock_id)
        except BackendError:
            return False  # unknown: the worker looks again
        if any(e.reference == opening.reference and e.opened for e in entries):
            return True
        if waited >= wait:
            return False
        await asyncio.sleep(step)
        waited += step


async def check_in(host: Host, opening_id: int) -> bool:
    """The first confirmed opening of a booking: its time into the open-action field, the booking to
    the check-in status. Returns whether this opening did it (later ones only log)."""
    async with host.database.session() as session:
        opening = await session.get(DoorOpening, opening_id, with_for_update=True)
        grant = await session.get(AccessGrant, opening.grant_id)
        integration = await session.get(DoorIntegration, grant.integration_id)
        booking = await get_booking(session, grant.booking_id, lock=True)  # one check-in, whoever confirms
        field = integration.open_action_field
        if not field or await read_field_value(session, booking.id, field):
            await session.rollback()
            return False
        field_id = (await session.execute(select(BookingField.id).where(BookingField.code == field))).scalar_one()
        await write_field_value(session, booking.id, field_id, opening.confirmed_at.isoformat())
        opening.checked_in = True
        status = await session.get(BookingStatus, booking.status_id)
        if integration.checkin_status and status.code != integration.checkin_status:
            try:
                async with session.begin_nested():
                    await set_booking_status(host, session, booking.id, integration.checkin_status,
                                             actor="door opening")
            except ValidationFailed as exc:
                # The move is not allowed from the booking's status: visible on the opening and in the trail.
                problem = exc.problems[0]
                opening.checkin_error_i18n = Message(
                    "The booking could not be checked in ({status} → {checkin}): {reason}",
                    {"status": status.code, "checkin": integration.checkin_status,
                     "reason": Message(problem.template, problem.params)}).as_json()
                await audit.record(session, "booking.checkin_refused", "booking", booking.id,
                                   {"status": [status.code, integration.checkin_status]})
        await commit(session)
        return True


async def confirm_openings(host: Host) -> int:
    """Look up openings sent without a confirmation (a lost answer, a slow lock) in the locks'
    entries; confirm (and check in) those found. Returns how many were confirmed."""
    now = host.clock.now()
    async with host.database.session() as session:
        rows = (await session.execute(
            select(DoorOpening, AccessGrant, DoorIntegration)
            .join(AccessGrant, AccessGrant.id == DoorOpening.grant_id)
            .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
            .where(DoorOpening.result.in_((OpeningResult.SENDING, OpeningResult.ACCEPTED)),
                   DoorOpening.requested_at > now - CONFIRM_FOR, DoorOpening.lock_id.is_not(None))
            .order_by(DoorOpening.id))).all()
        connections: dict[int, DoorConnection] = {}
        for _, grant, integration in rows:
            if integration.id not in connections and integration.backend in backends(host).names():
                connections[integration.id] = await backends(host)[integration.backend].connect(
                    host, session, integration, None)
        await session.commit()
    confirmed = 0
    for opening, _, integration in rows:
        connection = connections.get(integration.id)
        if connection is None or not await _confirmed_once(connection, opening):
            continue
        async with host.database.session() as session:
            row = await session.get(DoorOpening, opening.id, with_for_update=True)
            row.result = OpeningResult.CONFIRMED
            row.confirmed_at = now
            await commit(session)
        confirmed += 1
        log.info("door opening %s was confirmed by the lock afterwards", opening.id)
        await check_in(host, opening.id)
    return confirmed


async def _confirmed_once(connection: DoorConnection, opening: DoorOpening) -> bool:
    try:
        entries = await connection.entries(opening.requested_at - ENTRIES_BEFORE, opening.lock_id)
    except BackendError:
        return False
    return any(e.reference == opening.reference and e.opened for e in entries)

