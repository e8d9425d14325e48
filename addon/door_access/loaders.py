"""DataLoaders of door access."""

from __future__ import annotations

from sqlalchemy import select

from addon.booking.public import by_id, grouped

from .models import AccessGrant, AccessSetRecord, DoorIntegration
from .on_request.models import DoorOpening, GuestLink

OPENINGS_SHOWN = 10  # the newest openings of each grant that Booking.access shows

LOADERS = {
    # Plain rows (the table's columns), not ORM objects: a page of bookings reads hundreds.
    "door_access.grants": grouped(
        lambda ids: select(*AccessGrant.__table__.columns).where(AccessGrant.booking_id.in_(ids))
        .order_by(AccessGrant.integration_id),
        lambda row: row.booking_id,
    ),
    "door_access.integration": by_id(DoorIntegration),
    "door_access.link": by_id(GuestLink),
    "door_access.openings": grouped(
        lambda ids: select(*DoorOpening.__table__.columns).where(DoorOpening.grant_id.in_(ids))
        .order_by(DoorOpening.id.desc()),
        lambda row: row.grant_id,
    ),
    # The door links of each grant, newest first.
    "door_access.sets": grouped(
        lambda ids: select(*AccessSetRecord.__table__.columns).where(AccessSetRecord.grant_id.in_(ids))
        .order_by(AccessSetRecord.id.desc()),
        lambda row: row.grant_id,
    ),
}
