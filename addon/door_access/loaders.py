"""DataLoaders of door access."""

from __future__ import annotations

from sqlalchemy import select

from addon.booking.loaders import by_id, grouped

from .models import AccessGrant, DoorIntegration

LOADERS = {
    "door_access.grants": grouped(
        lambda ids: select(AccessGrant).where(AccessGrant.booking_id.in_(ids)).order_by(AccessGrant.integration_id),
        lambda row: row[0].booking_id,
    ),
    "door_access.integration": by_id(DoorIntegration),
}
