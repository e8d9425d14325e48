"""Salto KS's locks as the door-access engine sees them: the locks of the integration's site."""

from __future__ import annotations

from collections import Counter

from addon.base.public import Message
from addon.door_access.public import Door, Location

from .client import Lock, SaltoKsClient
from .models import SaltoKsCredentials


def location_of(stored: SaltoKsCredentials) -> Location:
    return Location(id=stored.site_id or "", name=stored.site_name or stored.site_uid, time_zone=stored.site_time_zone)


def doors_of(locks: list[Lock], stored: SaltoKsCredentials) -> list[Door]:
    """Doors by lock name; two locks of one name (a mistake at the site) are told apart by id,
    since the mapping goes by name."""
    counts = Counter(lock.name for lock in locks)
    location = location_of(stored)
    return [
        Door(id=lock.id, name=lock.name if counts[lock.name] == 1 else f"{lock.name} ({lock.id})", online=lock.online,
             location_id=location.id, location_name=location.name, location_time_zone=location.time_zone)
        for lock in locks
    ]


async def live_doors(client: SaltoKsClient, stored: SaltoKsCredentials) -> list[Door]:
    return doors_of(await client.list_locks(stored.site_id), stored)


def site_label(stored: SaltoKsCredentials) -> Message:
    if stored.site_name:
        return Message("site {name!r} ({uid})", {"name": stored.site_name, "uid": stored.site_uid})
    return Message("site {uid}", {"uid": stored.site_uid})
