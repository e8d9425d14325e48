"""Testing an integration's connection: token, the owner's sites, and the doors."""

from __future__ import annotations

import time

from addon.base.public import Message
from addon.door_access.public import ConnectionReport

from .client import ResivoClient
from .connection import explain
from .directory import live_doors, location_of
from .errors import ResivoAuthenticationError, ResivoError, ResivoProtocolError
from .models import ResivoCredentials


async def test_connection(client: ResivoClient, credentials: ResivoCredentials) -> ConnectionReport:
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        sites = await client.list_sites()
        locations = [location_of(s) for s in sites]
        if credentials.site_id and credentials.site_id not in {s.id for s in sites}:
            return ConnectionReport(False, Message("Site {site} does not belong to site owner {owner} (or the "
                                                   "credential cannot see it).",
                                                   {"site": credentials.site_id, "owner": credentials.site_owner_id}),
                                    elapsed(), locations=locations)
        doors = await live_doors(client, credentials)
    except ResivoError as exc:
        return ConnectionReport(False, _advice(exc, credentials), elapsed())
    if credentials.site_id:
        message = Message("Connected: {doors} door(s) on site {site}.", {"doors": len(doors), "site": credentials.site_id})
    else:
        message = Message("Connected: {doors} door(s) on {sites} site(s).", {"doors": len(doors), "sites": len(sites)})
    return ConnectionReport(True, message, elapsed(), locations=locations, doors=doors)


def _advice(exc: ResivoError, credentials: ResivoCredentials) -> Message:
    """``explain`` plus the likely fix when the base URL does not point at a Resivo API."""
    message = explain(exc, credentials)
    wrong_place = (
        isinstance(exc, ResivoProtocolError)  # answered, but not like Resivo (an HTML page, ...)
        or (exc.operation == "token" and exc.status in (404, 405) and not isinstance(exc, ResivoAuthenticationError))
    )
    if wrong_place:
        return Message("{error} Check the Base URL ({url}): it should be the Resivo API, like https://api.resivo.io.",
                       {"error": message, "url": credentials.base_url})
    return message
