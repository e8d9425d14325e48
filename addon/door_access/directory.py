"""The door directory: each integration's door list as reconciles see it, fetched once and shared.

Resolving the mapped door names needs the vendor's door list. Fetching it at every reconcile
costs calls that change nothing (a door list changes seldom), so reconciles share one list per
integration:

* **single-flight**: concurrent reconciles of one integration wait for the same fetch;
* **short-lived**: a list older than ``IRESERVE_DOOR_DIRECTORY_TTL`` seconds (``host.clock``) is
  fetched again; 0 turns the sharing off;
* **dropped on any sign of change**: a mapped name that does not resolve (the caller fetches
  again at once), a vendor that refuses a call (a door it no longer has), or a fetch that failed
  permanently. A transient failure keeps what is known: the vendor is slow, not changed.

Screens that show doors (the door list, the mapping tab, the preview, the connection test) keep
asking the vendor live; only reconciles read through here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from addon.base.public import Host

from .backend import Door, DoorConnection
from .settings import door_settings


@dataclass
class _Entry:
    doors: list[Door]
    fetched_at: datetime


class DoorDirectory:
    """The shared door lists of one process, by integration id."""

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}
        self._fetches: dict[int, asyncio.Task] = {}
        self._forgotten: dict[int, int] = {}  # times forgotten: a fetch begun before is not kept
        self.fetches = 0  # how often the vendor was asked (for tests and the benchmark)

    async def doors(self, host: Host, integration_id: int, connection: DoorConnection) -> tuple[list[Door], bool]:
        """The integration's doors, and whether they were fetched for this call (``False``: a
        shared list, at most the TTL old). Errors of the fetch propagate to every waiter."""
        ttl = door_settings(host).door_directory_ttl_seconds
        if ttl <= 0:
            self.fetches += 1
            return await connection.list_doors(), True
        entry = self._entries.get(integration_id)
        if entry is not None and host.clock.now() - entry.fetched_at < timedelta(seconds=ttl):
            return entry.doors, False
        fetch = self._fetches.get(integration_id)
        if fetch is None:
            fetch = asyncio.get_running_loop().create_task(self._fetch(host, integration_id, connection))
            self._fetches[integration_id] = fetch
        # Shielded: a waiter that is cancelled does not cancel the fetch the others wait for.
        return await asyncio.shield(fetch), True

    async def _fetch(self, host: Host, integration_id: int, connection: DoorConnection) -> list[Door]:
        # A failed fetch keeps nothing (what was there had run out already): the next caller asks again.
        forgotten = self._forgotten.get(integration_id, 0)
        try:
            self.fetches += 1
            started = host.clock.now()
            doors = await connection.list_doors()
            if self._forgotten.get(integration_id, 0) == forgotten:
                self._entries[integration_id] = _Entry(doors, started)
            return doors
        finally:
            if self._fetches.get(integration_id) is asyncio.current_task():
                del self._fetches[integration_id]

    def forget(self, integration_id: int) -> None:
        """The next reconcile of the integration fetches the list again (a fetch under way is
        answered to its waiters but not kept)."""
        self._entries.pop(integration_id, None)
        self._fetches.pop(integration_id, None)
        self._forgotten[integration_id] = self._forgotten.get(integration_id, 0) + 1


class IntegrationDoors:
    """The directory as one reconcile sees it: its integration, through its connection."""

    def __init__(self, host: Host, integration_id: int, connection: DoorConnection) -> None:
        self.host, self.integration_id, self.connection = host, integration_id, connection

    async def get(self) -> tuple[list[Door], bool]:
        return await door_directory(self.host).doors(self.host, self.integration_id, self.connection)

    def forget(self) -> None:
        door_directory(self.host).forget(self.integration_id)


def door_directory(host: Host) -> DoorDirectory:
    return host.service(DoorDirectory, DoorDirectory)


def forget_doors(host: Host, integration_id: int) -> None:
    """For configuration changes (credentials, a different place at the vendor): the door list
    is read anew at the next reconcile."""
    door_directory(host).forget(integration_id)
