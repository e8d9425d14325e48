"""Demo integrations for ``make run`` (the policy and the mapping; each backend addon seeds its own
settings from the same entry, under its name)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host
from addon.booking.public import BookableObject

from .grants import rederive
from .models import DoorIntegration, DoorMapping


async def seed_door_access(host: Host, session: AsyncSession, data: dict) -> None:
    for demo in data.get("doorIntegrations", []):
        exists = (await session.execute(select(DoorIntegration.id).where(DoorIntegration.name == demo["name"]))).first()
        if exists:
            continue
        integration = DoorIntegration(
            name=demo["name"],
            backend=demo["backend"],
            trigger_statuses=demo["triggerStatuses"],
            revoke_statuses=demo["revokeStatuses"],
            time_before_minutes=demo.get("timeBeforeMinutes", 0),
            authorization_id_field=demo["authorizationIdField"],
            default_language=demo.get("defaultLanguage", "en"),
            active=demo.get("active", True),
        )
        session.add(integration)
        await session.flush()
        for code, names in demo["mapping"].items():
            obj = (await session.execute(select(BookableObject).where(BookableObject.code == code))).scalar_one()
            session.add(DoorMapping(integration_id=integration.id, object_id=obj.id, door_names=names))
        await session.flush()
        if integration.active:
            # As activation does: demo bookings already at a trigger status get access (the worker
            # of `ireserve serve` sends it).
            await rederive(session, integration, host.clock.now())
