"""Test / request access: a token, the site by its Site UID, its locks and the IQ's state."""

from __future__ import annotations

import time

from addon.base.public import Message
from addon.door_access.public import ConnectionReport

from .client import SaltoKsClient
from .connection import explain
from .directory import doors_of, location_of
from .errors import SaltoKsError
from .models import SaltoKsCredentials


async def test_connection(client: SaltoKsClient, stored: SaltoKsCredentials) -> ConnectionReport:
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        site = await client.resolve_site(stored.site_uid)  # the token comes first: "request access"
        if stored.site_id and site.id != stored.site_id:
            return ConnectionReport(False, Message(
                "Site UID {uid} now resolves to Site ID {found}, not the stored Site ID {stored}: press Resolve site "
                "ID.", {"uid": stored.site_uid, "found": site.id, "stored": stored.site_id}), elapsed())
        locks = await client.list_locks(site.id)
        iq = await client.get_iq(site.id, stored.iq_id) if stored.iq_id else None
    except SaltoKsError as exc:
        return ConnectionReport(False, explain(exc, stored), elapsed())
    resolved = stored.site_id is not None
    seen = stored if resolved else _with_site(stored, site)
    doors = doors_of(locks, seen)
    offline = sum(1 for lock in locks if not lock.online)
    parts = [Message("Connected to site {name!r} ({uid}). Locks: {locks}; offline: {offline}.",
                     {"name": site.name, "uid": site.uid, "locks": len(locks), "offline": offline})]
    if not resolved:
        parts.append(Message("Press Resolve site ID to store its Site ID."))
    ok = True
    if iq is None:
        parts.append(Message("Enter the IQ id for the IQ OTP setup."))
    elif not iq.online:
        ok = False
        parts.append(Message("The IQ is offline: it must be online and linked to the site. Check its power and "
                             "network, then try again."))
    elif stored.iq_activated_at is not None:
        parts.append(Message("IQ is activated"))
    else:
        parts.append(Message("IQ is not activated: do the IQ OTP setup (GET PIN, then Set PIN)."))
    return ConnectionReport(ok, Message.join(parts), elapsed(), locations=[location_of(seen)], doors=doors)


def _with_site(stored: SaltoKsCredentials, site) -> SaltoKsCredentials:
    """A copy of ``stored`` that knows the site just found (nothing is written by a test)."""
    return SaltoKsCredentials(integration_id=stored.integration_id, environment=stored.environment,
                              site_uid=stored.site_uid, site_id=site.id, site_name=site.name,
                              site_time_zone=site.time_zone, username=stored.username, password_encrypted="")
