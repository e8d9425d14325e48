"""Erasing a customer's personal data (name, e-mail, phone, language) on request.

In two steps, each its own transaction:

1. :func:`request_erasure` tells the addons that copied the data to stop using it (door access
   revokes the customer's live door access: the lock vendor must hear the revoke while it still
   can be sent, before the data goes);
2. :func:`erase_customer` lets them remove their copies (door access refuses while access is
   still live: the revoke stays queued and the erasure can be asked again), replaces the
   customer's own data with a placeholder and records the erasure without the erased values.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    PLACEHOLDER,
    Host,
    audit,
    get_row,
    scrub_audit_trail,
    scrub_rows,
)

from .models import Booking, BookingFieldValue, Customer

ERASE_REQUESTED = "booking.customer_erase_requested"
ERASING = "booking.customer_erasing"


@dataclass(frozen=True)
class Erasure:
    """What handlers of both events get: whose data, their bookings, and the values to remove."""

    customer_id: int
    booking_ids: tuple[int, ...]
    values: tuple[str, ...]  # name, e-mail, phone: searched for in free text (a language code is not)
    actor: str


async def _erasure(session: AsyncSession, customer_id, actor: str) -> tuple[Customer, Erasure]:
    customer = await get_row(session, Customer, customer_id, "customerId", N_("Customer {id} does not exist."),
                             lock=True, type_name="Customer")
    bookings = tuple((await session.execute(
        select(Booking.id).where(Booking.customer_id == customer.id).order_by(Booking.id))).scalars().all())
    values = () if customer.erased_at else tuple(v for v in (customer.name, customer.email, customer.phone) if v)
    return customer, Erasure(customer.id, bookings, values, actor)


async def request_erasure(host: Host, session: AsyncSession, customer_id, actor: str) -> Customer:
    customer, erasure = await _erasure(session, customer_id, actor)
    if customer.erased_at is None:
        await host.events.emit(ERASE_REQUESTED, session, erasure=erasure)
    return customer


async def erase_customer(host: Host, session: AsyncSession, customer_id, actor: str) -> Customer:
    customer, erasure = await _erasure(session, customer_id, actor)
    if customer.erased_at is not None:
        return customer  # asked twice: done already
    await host.events.emit(ERASING, session, erasure=erasure)  # may refuse: nothing is erased then
    if erasure.booking_ids:
        await scrub_rows(session, BookingFieldValue, ("value",), erasure.values,
                         BookingFieldValue.booking_id.in_(erasure.booking_ids))
    await scrub_audit_trail(session, erasure.values)
    customer.name = PLACEHOLDER
    customer.email = customer.phone = customer.language = None
    customer.erased_at = host.clock.now()
    await session.flush()
    await audit.record(session, "customer.erase", "customer", customer.id,
                       {"bookings": [None, len(erasure.booking_ids)]})
    return customer
