"""Demo credentials for ``make run``: the demo integration points at the sandbox mounted in the app
itself; and the start-up check that stored secrets decrypt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.crypto import secret_box
from addon.base.host import Host
from addon.door_access.models import DoorIntegration

from .credentials import BACKEND_NAME
from .models import ResivoCredentials
from .sandbox_route import SANDBOX_PATH


async def seed_resivo(host: Host, session: AsyncSession, data: dict) -> None:
    for demo in data.get("doorIntegrations", []):
        if demo.get("backend") != BACKEND_NAME:
            continue
        integration_id = (await session.execute(
            select(DoorIntegration.id).where(DoorIntegration.name == demo["name"])
        )).scalar_one()
        if await session.get(ResivoCredentials, integration_id) is not None:
            continue
        settings = demo[BACKEND_NAME]
        session.add(ResivoCredentials(
            integration_id=integration_id,
            site_owner_id=settings["siteOwnerId"],
            client_id=settings["clientId"],
            client_secret_encrypted=secret_box(host).encrypt(settings["clientSecret"]),
            site_id=settings.get("siteId"),
            base_url=f"http://{host.settings.host}:{host.settings.port}{SANDBOX_PATH}",
        ))
    await session.flush()


async def check_secrets(host: Host) -> None:
    """Fail at start-up, with a clear message, when stored secrets do not decrypt with the key."""
    box = secret_box(host)
    async with host.database.session() as session:
        try:
            rows = (await session.execute(select(ResivoCredentials.client_secret_encrypted))).scalars().all()
        except Exception:  # tables not there yet: nothing stored to check ('ireserve db upgrade' first)
            return
    for encrypted in rows:
        box.decrypt(encrypted)
