"""Testing an integration's connection: token, the owner's sites, and the doors."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from addon.base.host import Host
from addon.base.i18n import Message

from .client import Site
from .connection import client_for, explain
from .directory import Door, live_doors
from .errors import ResivoAuthenticationError, ResivoError, ResivoProtocolError
from .models import ResivoIntegration


@dataclass
class ConnectionReport:
    ok: bool
    message: Message
    duration_ms: int
    sites: list[Site] = field(default_factory=list)
    doors: list[Door] = field(default_factory=list)


async def test_connection(host: Host, integration: ResivoIntegration) -> ConnectionReport:
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    client = client_for(host, integration)
    try:
        sites = await client.list_sites()
        if integration.site_id and integration.site_id not in {s.id for s in sites}:
            return ConnectionReport(False, Message("Site {site} does not belong to site owner {owner} (or the "
                                                   "credential cannot see it).",
                                                   {"site": integration.site_id, "owner": integration.site_owner_id}),
                                    elapsed(), sites=sites)
        doors = await live_doors(client, integration)
    except ResivoError as exc:
        return ConnectionReport(False, _advice(exc, integration), elapsed())
    if integration.site_id:
        message = Message("Connected: {doors} door(s) on site {site}.", {"doors": len(doors), "site": integration.site_id})
    else:
        message = Message("Connected: {doors} door(s) on {sites} site(s).", {"doors": len(doors), "sites": len(sites)})
    return ConnectionReport(True, message, elapsed(), sites=sites, doors=doors)


def _advice(exc: ResivoError, integration: ResivoIntegration) -> Message:
    """``explain`` plus the likely fix when the base URL does not point at a Resivo API."""
    message = explain(exc, integration)
    wrong_place = (
        isinstance(exc, ResivoProtocolError)  # answered, but not like Resivo (an HTML page, ...)
        or (exc.operation == "token" and exc.status in (404, 405) and not isinstance(exc, ResivoAuthenticationError))
    )
    if wrong_place:
        return Message("{error} Check the Base URL ({url}): it should be the Resivo API, like https://api.resivo.io.",
                       {"error": message, "url": integration.base_url})
    return message
