"""Live door access: GraphQL subscriptions (graphql-transport-ws on /graphql; see
``addon/base/server/graphql_ws.py``). Every event is loaded from the database when it is sent, with the
same types (and the same privacy rules) as ``Booking.access``."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Optional

import strawberry
from sqlalchemy import or_, select
from strawberry.types import Info

from addon.base.public import (
    N_,
    CodedError,
    IsFrontend,
    IsStaff,
    event_reads,
    global_id,
    id_argument,
    listening,
)
from addon.booking.public import Booking, BookingType

from ..live import booking_channel, integration_channel
from ..models import AccessGrant, Desired, DoorIntegration, GrantState
from .access_types import AccessGrantType, DesiredType, GrantStateType

NO_BOOKING = N_("Booking {id} does not exist.")
NO_INTEGRATION = N_("Integration {id} does not exist.")


@strawberry.type(name="IntegrationAccessChange", description=(
    "A grant of the integration changed (a reconcile wrote its outcome, a booking asked for access or its "
    "revocation): where it is now."))
class IntegrationAccessChangeType:
    grant_id: strawberry.ID = strawberry.field(description="The grant's global id (the same as grant.id).")
    booking_id: strawberry.ID = strawberry.field(description="The booking's global id.")
    state: GrantStateType
    desired: DesiredType
    updated_at: datetime
    grant: AccessGrantType
    booking_row: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: AccessGrant) -> "IntegrationAccessChangeType":
        return cls(grant_id=global_id("AccessGrant", row.id), booking_id=global_id("Booking", row.booking_id),
                   state=GrantState(row.state), desired=Desired(row.desired), updated_at=row.updated_at,
                   grant=AccessGrantType.from_model(row), booking_row=row.booking_id)

    @strawberry.field
    async def booking(self, info: Info) -> Optional[BookingType]:
        row = await info.context.session.get(Booking, self.booking_row)
        return BookingType.from_model(row) if row is not None else None


async def _grants_of_booking(session, booking_id: int) -> list[AccessGrantType]:
    rows = (await session.execute(
        select(AccessGrant).where(AccessGrant.booking_id == booking_id).order_by(AccessGrant.integration_id)
    )).scalars().all()
    return [AccessGrantType.from_model(row) for row in rows]


@strawberry.type
class DoorAccessSubscription:
    @strawberry.subscription(permission_classes=[IsFrontend], description=(
        "The booking's door access (as Booking.access): its current grants at once, then again each time one "
        "of them changes (state, doors, window, warnings), until you complete the subscription. A burst of "
        "changes may come as one event; the last event always shows the latest state."))
    async def booking_access_changed(self, info: Info, booking_id: strawberry.ID
                                     ) -> AsyncGenerator[list[AccessGrantType], None]:
        ident = id_argument(booking_id, "Booking")
        # Listening before the first read: a change committed meanwhile is heard, never lost.
        async with listening(info.context, booking_channel(ident or 0)) as inbox:
            async with event_reads(info.context) as session:
                if ident is None or await session.get(Booking, ident) is None:
                    raise CodedError(NO_BOOKING, "NOT_FOUND", id=booking_id)
                yield await _grants_of_booking(session, ident)
            while await inbox.next_batch():
                async with event_reads(info.context) as session:
                    yield await _grants_of_booking(session, ident)

    @strawberry.subscription(permission_classes=[IsStaff], description=(
        "Each change of a grant of the integration, as it happens (nothing at first); for staff and admins (the "
        "integration's id is on every grant: Booking.access.integration.id). After the server lost its "
        "connection to the database's notifications, the grants changed meanwhile come again."))
    async def integration_access_changed(self, info: Info, integration_id: strawberry.ID
                                         ) -> AsyncGenerator[IntegrationAccessChangeType, None]:
        ident = id_argument(integration_id, "DoorIntegration")
        async with listening(info.context, integration_channel(ident or 0)) as inbox:
            async with event_reads(info.context) as session:
                if ident is None or await session.get(DoorIntegration, ident) is None:
                    raise CodedError(NO_INTEGRATION, "NOT_FOUND", id=integration_id)
            while batch := await inbox.next_batch():
                changed = list(dict.fromkeys(n.data["grant"] for n in batch if isinstance(n.data.get("grant"), int)))
                missed = [n.missed_since for n in batch if n.missed_since is not None]
                wanted = [AccessGrant.id.in_(changed)] if changed else []
                if missed:
                    wanted.append(AccessGrant.updated_at >= min(missed))
                if not wanted:
                    continue
                async with event_reads(info.context) as session:
                    rows = (await session.execute(
                        select(AccessGrant).where(AccessGrant.integration_id == ident, or_(*wanted))
                        .order_by(AccessGrant.updated_at, AccessGrant.id)
                    )).scalars().all()
                    for row in rows:
                        yield IntegrationAccessChangeType.from_model(row)
