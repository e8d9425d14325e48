"""Demo integration for ``make run``: points at the sandbox mounted in the app itself."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.crypto import secret_box
from addon.base.host import Host
from addon.booking.models import BookableObject

from .models import ResivoDoorMapping, ResivoIntegration
from .sandbox_route import SANDBOX_PATH


async def seed_resivo(host: Host, session: AsyncSession, data: dict) -> None:
    demo = data.get("resivo")
    if not demo:
        return
    exists = (await session.execute(select(ResivoIntegration.id).where(ResivoIntegration.name == demo["name"]))).first()
    if exists:
        return
    settings = host.settings
    integration = ResivoIntegration(
        name=demo["name"],
        site_owner_id=demo["siteOwnerId"],
        client_id=demo["clientId"],
        client_secret_encrypted=secret_box(host).encrypt(demo["clientSecret"]),
        site_id=demo.get("siteId"),
        base_url=f"http://{settings.host}:{settings.port}{SANDBOX_PATH}",
        trigger_statuses=demo["triggerStatuses"],
        revoke_statuses=demo["revokeStatuses"],
        time_before_minutes=demo.get("timeBeforeMinutes", 0),
        authorization_id_field=demo["authorizationIdField"],
        default_language=demo.get("defaultLanguage", "en"),
        active=True,
    )
    session.add(integration)
    await session.flush()
    for code, names in demo["mapping"].items():
        obj = (await session.execute(select(BookableObject).where(BookableObject.code == code))).scalar_one()
        session.add(ResivoDoorMapping(integration_id=integration.id, object_id=obj.id, component_names=names))
    await session.flush()


async def check_secrets(host: Host) -> None:
    """Fail at start-up, with a clear message, when stored secrets do not decrypt with the key."""
    box = secret_box(host)
    async with host.database.session() as session:
        try:
            rows = (await session.execute(select(ResivoIntegration.client_secret_encrypted))).scalars().all()
        except Exception:  # tables not there yet: nothing stored to check ('ireserve db upgrade' first)
            return
    for encrypted in rows:
        box.decrypt(encrypted)
