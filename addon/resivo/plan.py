"""What door access a booking should get from one integration right now: doors, window,
language, recipients and anything that would stop it. Shared by the preview and the grant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.host import Host
from addon.base.i18n import LanguageChoice, Message, choose_language
from addon.booking.models import BookableObject, Booking, BookingStatus, Customer

from .client import Recipient
from .config import mapping_for_object
from .directory import Door, resolve_names, site_label
from .guest_message import guest_message
from .models import ResivoIntegration

GRANT, REVOKE, NONE = "GRANT", "REVOKE", "NONE"


@dataclass
class AccessPlan:
    integration: ResivoIntegration
    booking: Booking
    action: str
    reason: Message
    booked_object: BookableObject | None = None
    mapped_object: BookableObject | None = None  # whose mapping applies (the object itself or a parent)
    component_names: list[str] = field(default_factory=list)
    doors: list[Door] = field(default_factory=list)
    site_id: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    time_zone: str | None = None
    language: LanguageChoice | None = None
    recipients: list[Recipient] = field(default_factory=list)
    display_name: str | None = None
    message: str | None = None
    problems: list[Message] = field(default_factory=list)
    warnings: list[Message] = field(default_factory=list)


def desired_action(integration: ResivoIntegration, status_code: str) -> tuple[str, Message]:
    if not integration.active:
        return NONE, Message("Integration {name!r} is not active.", {"name": integration.name})
    if status_code in (integration.trigger_statuses or []):
        return GRANT, Message("Status {status!r} is a trigger status.", {"status": status_code})
    if status_code in (integration.revoke_statuses or []):
        return REVOKE, Message("Status {status!r} is a revoke status.", {"status": status_code})
    return NONE, Message("Status {status!r} is neither a trigger nor a revoke status.", {"status": status_code})


def access_window(booking: Booking, integration: ResivoIntegration) -> tuple[datetime, datetime]:
    """``start − time before`` until ``end``, in UTC (absolute instants: DST cannot shift them)."""
    start = booking.start_at.astimezone(timezone.utc)
    return start - timedelta(minutes=integration.time_before_minutes or 0), booking.end_at.astimezone(timezone.utc)


def external_reference(integration_id: int, booking_id: int, generation: int) -> str:
    return f"ireserve-i{integration_id}-b{booking_id}-g{generation}"


async def plan_access(host: Host, session: AsyncSession, integration: ResivoIntegration, booking: Booking,
                      ignore_status: bool = False) -> AccessPlan:
    """Work out a grant from the database alone; :func:`resolve_doors` then adds the live doors
    (fetched by the caller outside any transaction)."""
    status = await session.get(BookingStatus, booking.status_id)
    action, reason = (GRANT, Message("Requested by an admin.")) if ignore_status else desired_action(integration, status.code)
    plan = AccessPlan(integration=integration, booking=booking, action=action, reason=reason)
    obj = await session.get(BookableObject, booking.object_id)
    customer = await session.get(Customer, booking.customer_id)
    plan.booked_object = obj
    plan.time_zone = obj.time_zone
    plan.valid_from, plan.valid_to = access_window(booking, integration)
    plan.language = choose_language(customer.language, integration.default_language)
    plan.display_name = f"{booking.reference} – {obj.name}"[:100]
    plan.message = guest_message(plan.language.language, obj.name, plan.valid_from, plan.valid_to, obj.time_zone)
    if customer.email or customer.phone:
        plan.recipients = [Recipient(email=customer.email or None, phone_number=customer.phone or None)]
    else:
        plan.problems.append(Message("Customer {name!r} has neither an e-mail address nor a phone number to send the "
                                     "door link to.", {"name": customer.name}))
    if plan.valid_to <= datetime.now(timezone.utc):
        plan.problems.append(Message("The booking has already ended; Resivo only accepts a validity end in the "
                                     "future."))

    mapping, mapped_object = await mapping_for_object(session, integration.id, obj)
    if mapping is None:
        plan.problems.append(Message("Object {name!r} (and its parent objects) has no door mapping.",
                                     {"name": obj.name}))
        return plan
    plan.mapped_object = mapped_object
    plan.component_names = list(mapping.component_names)
    return plan


def resolve_doors(plan: AccessPlan, doors: list[Door] | None, unreachable: Message | None = None) -> AccessPlan:
    """Resolve the mapped names against the live door list (``None``: Resivo unreachable)."""
    if plan.mapped_object is None:
        return plan
    if doors is None:
        plan.problems.append(Message("The doors could not be looked up at Resivo: {error}", {"error": unreachable}))
        return plan
    resolution = resolve_names(plan.component_names, doors, site_label(plan.integration, doors))
    plan.doors = resolution.doors
    plan.site_id = resolution.site_id
    plan.problems += resolution.problems
    plan.warnings += resolution.warnings
    return plan
