"""What door access a booking should get from one integration right now: whether it is entitled
(``entitlement``), doors, window, language, recipients and anything that would stop it. Shared by
the preview and the engine; read from the database as it is when asked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import LanguageChoice, Message, choose_language
from addon.booking.public import BookableObject, Booking, BookingStatus, BookingStatusHistory, Customer

from .backend import AccessModel, Door, Recipient
from .entitlement import Facts, Want, decided_by_statuses, is_decisive, want
from .guest_message import guest_message
from .mapping import mapping_for_object, resolve_names
from .models import AccessGrant, DoorIntegration


class PlanAction:
    GRANT, REVOKE, NONE = "GRANT", "REVOKE", "NONE"


@dataclass
class AccessPlan:
    integration: DoorIntegration
    booking: Booking
    action: str
    reason: Message
    booked_object: BookableObject | None = None
    mapped_object: BookableObject | None = None  # whose mapping applies (the object itself or a parent)
    door_names: list[str] = field(default_factory=list)
    doors: list[Door] = field(default_factory=list)
    location_id: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    time_zone: str | None = None
    language: LanguageChoice | None = None
    recipients: list[Recipient] = field(default_factory=list)
    display_name: str | None = None
    message: str | None = None
    problems: list[Message] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)
    doors_refused: bool = False  # the vendor refused the door list: a problem asking again may solve
    # What the engine must bring about (``entitlement``), and why.
    want: Want = Want.NONE
    want_reason: Message | None = None

    @property
    def applies(self) -> bool:
        """An integration opens doors only for objects it maps (or whose parent it maps)."""
        return self.mapped_object is not None


def desired_action(integration: DoorIntegration, status_code: str) -> tuple[str, Message]:
    if not integration.active:
        return PlanAction.NONE, Message("Integration {name!r} is not active.", {"name": integration.name})
    if status_code in (integration.trigger_statuses or []):
        return PlanAction.GRANT, Message("Status {status!r} is a trigger status.", {"status": status_code})
    if status_code in (integration.revoke_statuses or []):
        return PlanAction.REVOKE, Message("Status {status!r} is a revoke status.", {"status": status_code})
    return PlanAction.NONE, Message("Status {status!r} is neither a trigger nor a revoke status.", {"status": status_code})


def access_window(booking: Booking, integration: DoorIntegration) -> tuple[datetime, datetime]:
    """``start − time before`` until ``end``, in UTC (absolute instants: DST cannot shift them)."""
    start = booking.start_at.astimezone(timezone.utc)
    return start - timedelta(minutes=integration.time_before_minutes or 0), booking.end_at.astimezone(timezone.utc)


def external_reference(integration_id: int, booking_id: int, generation: int) -> str:
    """Our idempotency key of one access set: the same booking × integration × generation is
    never made twice (a lost create answer is found again by it)."""
    return f"ireserve-i{integration_id}-b{booking_id}-g{generation}"


async def status_history(session: AsyncSession, booking_id: int) -> list[str]:
    """The codes of the statuses the booking went through, oldest first (the current one last)."""
    return list((await session.execute(
        select(BookingStatus.code).join(BookingStatusHistory, BookingStatusHistory.to_status_id == BookingStatus.id)
        .where(BookingStatusHistory.booking_id == booking_id).order_by(BookingStatusHistory.id)
    )).scalars().all())


def sticky_statuses(integration: DoorIntegration) -> bool:
    """Whether a status that neither grants nor revokes keeps what the last one that did decided:
    yes for a credential given for a window; no for a lock that opens on request (it opens only
    at the statuses it may open from)."""
    return integration.access_model != AccessModel.OPENS_ON_REQUEST


async def statuses_grant(session: AsyncSession, integration: DoorIntegration, booking_id: int, current: str) -> bool:
    """Whether the booking's statuses entitle it to access through ``integration`` (the history is
    read only when the current status does not decide by itself)."""
    trigger, revoke = integration.trigger_statuses or [], integration.revoke_statuses or []
    sticky = sticky_statuses(integration)
    history = [] if is_decisive(current, trigger, revoke, sticky) else await status_history(session, booking_id)
    return decided_by_statuses(current, history, trigger, revoke, sticky)


def runs(integration: DoorIntegration) -> bool:
    return integration.active and integration.archived_at is None


def archived_revoking(integration: DoorIntegration) -> bool:
    return integration.archived_at is not None and integration.archived_live_access == "revoke_now"


async def want_of(session: AsyncSession, integration: DoorIntegration, booking: Booking, status_code: str,
                  grant: AccessGrant | None, mapped: bool, now: datetime) -> Want:
    """Entitlement alone (no doors, window texts or recipients): for bookkeeping that only decides
    whether to look at a grant."""
    try:
        window_over = access_window(booking, integration)[1] <= now
    except (OverflowError, ValueError):
        window_over = False  # the reconcile fails it, visibly
    return want(Facts(
        statuses_grant=await statuses_grant(session, integration, booking.id, status_code),
        revoke_requested=grant is not None and grant.revoke_requested_at is not None,
        mapped=mapped, integration_runs=runs(integration), archived_revoking=archived_revoking(integration),
        window_over=window_over))


def _want_reason(plan: "AccessPlan", facts: Facts, grant: AccessGrant | None, status: str,
                 unmapped: Message | None) -> Message:
    integration = plan.integration
    if facts.revoke_requested:
        return Message("Door access was revoked by {who}.", {"who": grant.revoke_requested_by or "-"})
    if facts.archived_revoking:
        return Message("Integration {name!r} was archived with its door access revoked.", {"name": integration.name})
    if not facts.statuses_grant:
        return Message("Status {status!r} gives no door access.", {"status": status})
    if not facts.mapped:
        return unmapped
    if facts.window_over:
        return Message("The booking has ended; its door access ended with it.")
    if not facts.integration_runs:
        return Message("Integration {name!r} is not active: nothing new is sent to the lock system.",
                       {"name": integration.name})
    return Message("Status {status!r} gives door access.", {"status": status})


async def plan_access(session: AsyncSession, integration: DoorIntegration, booking: Booking, now: datetime,
                      grant: AccessGrant | None = None) -> AccessPlan:
    """Work out a grant from the database alone; :func:`resolve_doors` then adds the live doors
    (fetched by the caller outside any transaction). ``grant``: the booking's grant through this
    integration, if it has one (a revoke staff asked for is on it)."""
    status = await session.get(BookingStatus, booking.status_id)
    action, reason = desired_action(integration, status.code)
    plan = AccessPlan(integration=integration, booking=booking, action=action, reason=reason)
    obj = await session.get(BookableObject, booking.object_id)
    customer = await session.get(Customer, booking.customer_id)
    plan.booked_object = obj
    plan.time_zone = obj.time_zone
    plan.language = choose_language(customer.language, integration.default_language)
    plan.display_name = f"{booking.reference} – {obj.name}"[:100]
    try:
        plan.valid_from, plan.valid_to = access_window(booking, integration)
        plan.message = guest_message(plan.language.language, obj.name, plan.valid_from, plan.valid_to, obj.time_zone)
    except (OverflowError, ValueError):
        # Dates beyond what date arithmetic can hold (year 1, 9999) stop this booking, visibly, and
        # nothing else: they are refused at the door of the booking API since, but may be stored.
        plan.valid_from = plan.valid_to = None
        plan.message = ""
        plan.problems.append(Message("The booking's dates ({start} – {end}) are outside what door access supports.",
                                     {"start": booking.start_at.isoformat(), "end": booking.end_at.isoformat()}))
    if customer.email or customer.phone:
        plan.recipients = [Recipient(email=customer.email or None, phone_number=customer.phone or None)]
    else:
        plan.problems.append(Message("Customer {name!r} has neither an e-mail address nor a phone number to send the "
                                     "door link to.", {"name": customer.name}))
    window_over = plan.valid_to is not None and plan.valid_to <= now
    if window_over:
        plan.problems.append(Message("The booking has already ended; door access can only be given for a window "
                                     "that ends in the future."))

    mapping, mapped_object = await mapping_for_object(session, integration.id, obj)
    unmapped = None
    if mapping is None:
        # Not a problem: an integration applies only where it maps (several may run side by side).
        unmapped = Message("Integration {name!r} maps no doors for object {object!r} (nor its parent objects); "
                           "it does not apply to this booking.", {"name": integration.name, "object": obj.name})
        if plan.action == PlanAction.GRANT:
            plan.action, plan.reason = PlanAction.NONE, unmapped
    else:
        plan.mapped_object = mapped_object
        plan.door_names = list(mapping.door_names)
    facts = Facts(
        statuses_grant=await statuses_grant(session, integration, booking.id, status.code),
        revoke_requested=grant is not None and grant.revoke_requested_at is not None,
        mapped=mapping is not None,
        integration_runs=runs(integration),
        archived_revoking=archived_revoking(integration),
        window_over=window_over,
    )
    plan.want = want(facts)
    plan.want_reason = _want_reason(plan, facts, grant, status.code, unmapped)
    return plan


def resolve_doors(plan: AccessPlan, doors: list[Door] | None, where: Message | None = None,
                  unreachable: Message | None = None) -> AccessPlan:
    """Resolve the mapped names against the live door list (``None``: the vendor could not be
    asked, ``unreachable`` says why)."""
    if plan.mapped_object is None:
        return plan
    if doors is None:
        plan.problems.append(Message("The doors could not be looked up: {error}", {"error": unreachable}))
        plan.doors_refused = True
        return plan
    resolution = resolve_names(plan.door_names, doors, where or Message("the lock system"))
    plan.doors = resolution.doors
    plan.location_id = resolution.location_id
    plan.problems += resolution.problems
    plan.warnings += resolution.warnings
    return plan
