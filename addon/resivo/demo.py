"""Demo credentials for ``make run``: the demo integration points at the sandbox mounted in the app
itself; and the start-up check that stored secrets decrypt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, SecretKeyMismatch, secret_box
from addon.door_access.public import DoorIntegration

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
        sandbox_url = f"http://{_reachable(host.settings.host)}:{host.settings.port}{SANDBOX_PATH}"
        existing = await session.get(ResivoCredentials, integration_id)
        if existing is not None:
            # The demo follows the address `make run` serves on now (IRESERVE_HOST/IRESERVE_PORT);
            # a base URL someone pointed elsewhere is theirs and stays.
            if existing.base_url.endswith(SANDBOX_PATH) and existing.base_url != sandbox_url:
                existing.base_url = sandbox_url
            continue
        settings = demo[BACKEND_NAME]
        session.add(ResivoCredentials(
            integration_id=integration_id,
            site_owner_id=settings["siteOwnerId"],
            client_id=settings["clientId"],
            client_secret_encrypted=secret_box(host).encrypt(settings["clientSecret"]),
            site_id=settings.get("siteId"),
            base_url=sandbox_url,
        ))
    await session.flush()


def _reachable(listening: str) -> str:
    """Where the server reaches itself: listening on every interface (0.0.0.0, ::) is not an
    address to connect to (the outbound policy refuses it), loopback is."""
    if listening in ("0.0.0.0", "::", "[::]", ""):
        return "127.0.0.1"
    return f"[{listening}]" if ":" in listening and not listening.startswith("[") else listening  # IPv6


async def check_secrets(host: Host) -> None:
    """Fail at start-up, with a clear message, when stored secrets decrypt with none of the keys
    (any configured key will do: keys rotate); the message names the integrations and the way out."""
    box = secret_box(host)
    async with host.database.session(read_only=True) as session:
        try:
            rows = (await session.execute(
                select(ResivoCredentials.integration_id, ResivoCredentials.client_secret_encrypted)
                .order_by(ResivoCredentials.integration_id)
            )).all()
        except Exception:  # tables not there yet: nothing stored to check ('ireserve db upgrade' first)
            return
    failing = []
    for integration_id, encrypted in rows:
        try:
            box.decrypt(encrypted)
        except SecretKeyMismatch:
            failing.append(integration_id)
    if failing:
        listed = ", ".join(str(i) for i in failing)
        raise SecretKeyMismatch(
            f"the stored client secret of Resivo integration(s) {listed} cannot be decrypted with any configured key "
            "(IRESERVE_SECRET_KEY or the key file was changed or lost): restore the key (an old key may stay listed "
            "after the new one), or re-enter the secret with 'ireserve resivo set-secret --integration ID' (reads it "
            "from stdin)"
        )
