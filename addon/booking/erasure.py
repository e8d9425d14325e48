"""Erasing a customer's personal data (name, e-mail, phone, language) on request.

In two steps, each its own transaction:

1. :func:`request_erasure` tells the addons that copied the data to stop using it (door access
   revokes the customer's live door access: the lock vendor must hear the revoke while it still
   can be sent, before the data goes);
2. :func:`erase_customer` lets them remove their copies (door access refuses while access is
   still live: the revoke stays queued and the erasure can be asked again), replaces the
   customer's own data with a placeholder, forgets the failed sign-ins counted for their e-mail
   address and records the erasure without the erased values. Once committed, the database
   drops the old versions of the pages it changed (SQLite's WAL), so a file backup taken after
   the erasure holds none of the values.

The same guest booking twice is two customers with one e-mail address: :func:`customers_by_email`
finds them all, and :func:`request_erasures` and :func:`erase_customers` take them together
(all erased, or none).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    PLACEHOLDER,
    Host,
    after_commit,
    audit,
    forget_signin_attempts,
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
    customer = await _erase(host, session, customer_id, actor)
    _drop_old_copies_after_commit(host, session)
    return customer


async def _erase(host: Host, session: AsyncSession, customer_id, actor: str) -> Customer:
    customer, erasure = await _erasure(session, customer_id, actor)
    if customer.erased_at is not None:
        return customer  # asked twice: done already
    await host.events.emit(ERASING, session, erasure=erasure)  # may refuse: nothing is erased then
    if erasure.booking_ids:
        await scrub_rows(session, BookingFieldValue, ("value",), erasure.values,
                         BookingFieldValue.booking_id.in_(erasure.booking_ids))
    await scrub_audit_trail(session, erasure.values)
    await forget_signin_attempts(session, [customer.email] if customer.email else [])
    customer.name = PLACEHOLDER
    customer.email = customer.phone = customer.language = None
    customer.erased_at = host.clock.now()
    await session.flush()
    await audit.record(session, "customer.erase", "customer", customer.id,
                       {"bookings": [None, len(erasure.booking_ids)]})
    return customer


def _drop_old_copies_after_commit(host: Host, session: AsyncSession) -> None:
    # Once the erasure is committed, not before: the old pages are what a rollback would need.
    after_commit(session, host.database.drop_old_page_versions)


# -- every customer with one e-mail address ------------------------------------------------------

def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def email_is(email: str):
    """SQL: the customer's e-mail address is ``email``, in any case. SQLite's lower() folds ASCII
    letters only, so the address is compared in the spellings it may take there; the caller
    compares the rows found in Python (:func:`same_email`)."""
    forms = {email, email.lower(), email.upper(), email.title()}
    return func.lower(Customer.email).in_({spelling for form in forms for spelling in (form.lower(), _ascii_lower(form))})


def same_email(a: str | None, b: str | None) -> bool:
    return bool(a and b) and a.strip().casefold() == b.strip().casefold()


async def customers_by_email(session: AsyncSession, email: str, lock: bool = False) -> list[Customer]:
    """The customers (not erased yet) whose e-mail address is ``email``, in any case; by id."""
    email = email.strip()
    query = select(Customer).where(email_is(email), Customer.erased_at.is_(None)).order_by(Customer.id)
    if lock:
        query = query.with_for_update()
    return [c for c in (await session.execute(query)).scalars().all() if same_email(c.email, email)]


async def request_erasures(host: Host, session: AsyncSession, customer_ids: list[int], actor: str) -> None:
    """Step 1 for several customers at once (their live door access is revoked)."""
    for customer_id in customer_ids:
        await request_erasure(host, session, customer_id, actor)


async def erase_customers(host: Host, session: AsyncSession, customer_ids: list[int], actor: str) -> list[Customer]:
    """Step 2 for several customers in one transaction: all of them are erased, or none (door
    access refuses while one of them still has live access)."""
    erased = [await _erase(host, session, customer_id, actor) for customer_id in customer_ids]
    if erased:
        _drop_old_copies_after_commit(host, session)
    return erased
