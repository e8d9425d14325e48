"""Booking field values the frontend role does not see.

Booking does not know what its admin-defined fields hold. An addon that writes something private
into a booking field (door access: the authorisation id) names those field codes with
:func:`hide_field_values_from_frontend`; ``Booking.fields`` then answers their ``value`` as null
with a FORBIDDEN error for the frontend role, and ``BookingField.staffOnly`` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# Reads the codes of the booking fields whose values are private, with the request's session.
FieldCodeSource = Callable[[AsyncSession], Awaitable[Iterable[str]]]

_MEMO = "booking.staff_only_field_codes"


class StaffOnlyFieldCodes:
    """The host's sources of staff-only booking field codes (filled by dependent addons)."""

    def __init__(self) -> None:
        self.sources: list[FieldCodeSource] = []


def hide_field_values_from_frontend(host: Any, source: FieldCodeSource) -> None:
    """From now on the values of the fields ``source`` names are for staff and admins only."""
    host.service(StaffOnlyFieldCodes, StaffOnlyFieldCodes).sources.append(source)


async def staff_only_field_codes(context: Any) -> frozenset[str]:
    """The codes whose values the frontend role does not see; read once per request."""
    registry = context.host.service(StaffOnlyFieldCodes)
    if registry is None or not registry.sources:
        return frozenset()
    pending = context.cache.get(_MEMO)
    if pending is None:  # the first of the request's (concurrent) resolvers asks; the others wait
        pending = context.cache[_MEMO] = asyncio.ensure_future(_collect(registry.sources, context.session))
    return await pending


def known_staff_only_field_codes(context: Any) -> frozenset[str] | None:
    """The codes, when this request has read them already (else ``None``)."""
    registry = context.host.service(StaffOnlyFieldCodes)
    if registry is None or not registry.sources:
        return frozenset()
    pending = context.cache.get(_MEMO)
    return pending.result() if pending is not None and pending.done() and not pending.exception() else None


async def _collect(sources: list[FieldCodeSource], session: AsyncSession) -> frozenset[str]:
    codes: set[str] = set()
    for source in sources:
        codes.update(code for code in await source(session) if code)
    return frozenset(codes)
