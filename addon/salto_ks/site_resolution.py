"""Resolve site ID: look the site up by its Site UID and store its id, name and time zone."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Host, ValidationFailed, audit
from addon.door_access.public import DoorIntegration, forget_doors

from .admin_calls import Prepared, current_row, prepare, problem_of
from .client import Site
from .credentials import audited, forget_iq
from .errors import SaltoKsError


async def find_site(host: Host, session: AsyncSession, integration_id) -> tuple[Prepared, Site]:
    """The site the stored Site UID names, asked of Salto KS with no transaction open."""
    prepared = await prepare(host, session, integration_id, need_site=False)
    try:
        site = await prepared.client.resolve_site(prepared.stored.site_uid)
    except SaltoKsError as exc:
        raise ValidationFailed(problem_of(exc, prepared.stored)) from None
    return prepared, site


async def store_site(host: Host, session: AsyncSession, prepared: Prepared, site: Site) -> DoorIntegration:
    """Write what was found, unless the Environment or Site UID changed meanwhile."""
    row = await current_row(session, prepared)
    integration = await session.get(DoorIntegration, row.integration_id)
    before = audited(row)
    if row.site_id is not None and row.site_id != site.id:
        forget_iq(row)  # the IQ's activation belonged to the other site
    row.site_id, row.site_name, row.site_time_zone = site.id, site.name, site.time_zone
    now = host.clock.now()
    row.site_resolved_at = row.updated_at = integration.updated_at = now
    await session.flush()
    changed = audit.diff(before, audited(row))
    if changed:
        await audit.record(session, "salto_ks.site.resolve", "integration", integration.id, changed)
        forget_doors(host, integration.id)
    return integration
