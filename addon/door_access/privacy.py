"""The booking field an integration writes its authorisation ids into is for staff and admins
only: the frontend role reads its value as null with a FORBIDDEN error (see addon.booking.privacy)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.booking.public import hide_field_values_from_frontend

from .models import DoorIntegration


async def authorization_id_fields(session: AsyncSession) -> list[str]:
    """Of every integration, active or not: an inactive one's earlier ids are still stored there."""
    query = select(DoorIntegration.authorization_id_field).where(DoorIntegration.authorization_id_field.is_not(None))
    return list((await session.execute(query.distinct())).scalars().all())


def register_privacy(host) -> None:
    hide_field_values_from_frontend(host, authorization_id_fields)
