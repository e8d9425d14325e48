"""The demo Salto KS integration of ``make run`` (seeded inactive: its Acceptance environment is
the sandbox mounted in the app), and the start-up check that stored passwords decrypt."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, SecretKeyMismatch, secret_box
from addon.door_access.public import DoorIntegration

from .credentials import BACKEND_NAME
from .iq_setup import clean_iq_id
from .models import SaltoKsCredentials
from .settings import ENVIRONMENTS

DEMO_KEY = "saltoKs"


async def seed_salto_ks(host: Host, session: AsyncSession, data: dict) -> None:
    """The Authentication tab of each demo integration of this backend (Environment, Site UID,
    Username, Password) and its IQ id; resolving the site and the IQ OTP setup are left to the
    admin, as the set-up guide goes."""
    for demo in data.get("doorIntegrations", []):
        if demo.get("backend") != BACKEND_NAME:
            continue
        integration_id = (await session.execute(
            select(DoorIntegration.id).where(DoorIntegration.name == demo["name"])
        )).scalar_one()
        if await session.get(SaltoKsCredentials, integration_id) is not None:
            continue  # seeding again changes nothing an admin may have set up since
        settings = demo[DEMO_KEY]
        environment = settings["environment"].lower()
        if environment not in ENVIRONMENTS:
            raise KeyError(f"environment {settings['environment']!r}")
        session.add(SaltoKsCredentials(
            integration_id=integration_id,
            environment=environment,
            site_uid=settings["siteUid"],
            username=settings["username"],
            password_encrypted=secret_box(host).encrypt(settings["password"]),
            iq_id=clean_iq_id(settings.get("iqId")),
            updated_at=host.clock.now(),
        ))
    await session.flush()


async def check_secrets(host: Host) -> None:
    """Fail at start-up, with a clear message, when stored passwords decrypt with none of the
    keys; the message names the integrations and the way out. (An IQ's PIN and secret that no
    longer decrypt are fetched again by GET PIN.)"""
    box = secret_box(host)
    async with host.database.session(read_only=True) as session:
        try:
            rows = (await session.execute(
                select(SaltoKsCredentials.integration_id, SaltoKsCredentials.password_encrypted)
                .order_by(SaltoKsCredentials.integration_id)
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
            f"the stored password of Salto KS integration(s) {listed} cannot be decrypted with any configured key "
            "(IRESERVE_SECRET_KEY or the key file was changed or lost): restore the key (an old key may stay listed "
            "after the new one), or re-enter the password with 'ireserve salto-ks set-password --integration ID' "
            "(reads it from stdin)"
        )
