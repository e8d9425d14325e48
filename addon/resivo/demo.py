"""Demo credentials for ``make run``: the demo integration points at the sandbox mounted in the app
itself — at the address the app is served on, whichever port the seed ran with; and the start-up
check that stored secrets decrypt."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, SecretKeyMismatch, ServingAddress, secret_box
from addon.door_access.public import DoorIntegration

from .credentials import BACKEND_NAME
from .models import ResivoCredentials
from .sandbox_route import SANDBOX_PATH
from .settings import resivo_settings

log = logging.getLogger(__name__)


def sandbox_url(listening: str, port: int) -> str:
    return f"http://{_reachable(listening)}:{port}{SANDBOX_PATH}"


async def point_demo_at(session: AsyncSession, url: str) -> int:
    """Integrations whose base URL is a sandbox's now point at ``url``; a base URL someone pointed
    elsewhere is theirs and stays. How many changed."""
    changed = await session.execute(update(ResivoCredentials).where(
        ResivoCredentials.base_url.endswith(SANDBOX_PATH), ResivoCredentials.base_url != url).values(base_url=url))
    return changed.rowcount or 0


@asynccontextmanager
async def follow_the_served_address(host: Host):
    """`ireserve serve` with the sandbox mounted: the demo integration points at the address served
    now (``--port``, IRESERVE_PORT), whatever address was in force when the demo was seeded."""
    address = host.service(ServingAddress)
    if address is not None and resivo_settings(host).sandbox:
        url = sandbox_url(address.host, address.port)
        async with host.database.session() as session:
            moved = await point_demo_at(session, url)
            await session.commit()
        if moved:
            log.info("demo: %d integration(s) now reach the sandbox at %s", moved, url)
    yield


def sandbox_needs_one_process(host: Host, processes: int) -> str | None:
    """`serve --workers N`: the sandbox lives in one process's memory, so N processes would each
    have their own, and a grant made through one would be unknown to the next."""
    if processes > 1 and resivo_settings(host).sandbox:
        return ("the Resivo sandbox (IRESERVE_SANDBOX=true) lives in the memory of one process: serve the demo "
                "without --workers, or set IRESERVE_SANDBOX=false")
    return None


async def seed_resivo(host: Host, session: AsyncSession, data: dict) -> None:
    for demo in data.get("doorIntegrations", []):
        if demo.get("backend") != BACKEND_NAME:
            continue
        integration_id = (await session.execute(
            select(DoorIntegration.id).where(DoorIntegration.name == demo["name"])
        )).scalar_one()
        url = sandbox_url(host.settings.host, host.settings.port)
        existing = await session.get(ResivoCredentials, integration_id)
        if existing is not None:
            # The address in force now (IRESERVE_HOST/IRESERVE_PORT); `serve` moves it again to
            # the address it listens on.
            await point_demo_at(session, url)
            continue
        settings = demo[BACKEND_NAME]
        session.add(ResivoCredentials(
            integration_id=integration_id,
            site_owner_id=settings["siteOwnerId"],
            client_id=settings["clientId"],
            client_secret_encrypted=secret_box(host).encrypt(settings["clientSecret"]),
            site_id=settings.get("siteId"),
            base_url=url,
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
