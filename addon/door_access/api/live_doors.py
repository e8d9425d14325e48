"""The live door list of an integration, as the admin screens read it: fetched at most once per
request, with no database lock held while the vendor answers."""

from __future__ import annotations

from typing import NamedTuple

import strawberry
from sqlalchemy import select

from addon.base.db import release
from addon.base.i18n import Message
from addon.booking.api.types import BookableObjectType
from addon.booking.models import BookableObject

from ..backend import BackendError, Door, DoorConnection, TransientBackendError, backends
from ..mapping import resolve_names
from ..models import DoorIntegration, DoorMapping
from .types import DoorMappingType, ResolvedDoorType


class LiveDoors(NamedTuple):
    """The live door list, or why there is none and whether that may pass by itself (timeout,
    429, 5xx) or needs the configuration fixed (credentials, scope, site)."""

    doors: list[Door] | None
    reason: Message | None = None
    transient: bool = True
    where: Message | None = None


async def connect(info: strawberry.Info, integration: DoorIntegration) -> DoorConnection:
    """The integration's backend calls, credentials loaded in the request's transaction, which is
    then ended: no lock is held while the vendor answers."""
    session = info.context.session
    connection = await backends(info.context.host)[integration.backend].connect(info.context.host, session, integration)
    await release(session)
    return connection


async def live_doors_cached(info: strawberry.Info, integration: DoorIntegration) -> LiveDoors:
    """The live door list, fetched at most once per request."""
    cache = info.context.cache.setdefault("door_access.doors", {})
    if integration.id not in cache:
        connection = await connect(info, integration)
        try:
            doors = await connection.list_doors()
            cache[integration.id] = LiveDoors(doors, where=connection.where(doors))
        except BackendError as exc:
            cache[integration.id] = LiveDoors(None, connection.explain(exc), isinstance(exc, TransientBackendError))
    return cache[integration.id]


def resolved_doors(names: list[str], doors: list[Door] | None) -> list[ResolvedDoorType]:
    by_name: dict[str, list[Door]] = {}
    for door in doors or []:
        by_name.setdefault(door.name, []).append(door)
    result = []
    for name in names:
        matches = by_name.get(name, [])
        door = matches[0] if len(matches) == 1 else None
        result.append(ResolvedDoorType(name=name, id=door.id if door else None, online=door.online if door else None))
    return result


def mapping_warnings(names: list[str], live: LiveDoors) -> list[str]:
    """What is wrong with a mapping right now: names that no longer exist or are ambiguous,
    offline doors, doors in different places — or that the doors could not be checked."""
    if live.doors is None:
        return [Message("Doors could not be checked: {error}", {"error": live.reason}).text()]
    resolution = resolve_names(names, live.doors, live.where)
    return [m.text() for m in resolution.problems + resolution.warnings]


async def door_mappings(info: strawberry.Info, integration_id: int) -> list[DoorMappingType]:
    session = info.context.session
    integration = await session.get(DoorIntegration, integration_id)
    rows = (await session.execute(
        select(DoorMapping, BookableObject)
        .join(BookableObject, BookableObject.id == DoorMapping.object_id)
        .where(DoorMapping.integration_id == integration_id)
        .order_by(BookableObject.name)
    )).all()
    if not rows:
        return []
    live = await live_doors_cached(info, integration)
    return [
        DoorMappingType(object=BookableObjectType.from_model(obj), door_names=list(mapping.door_names),
                        doors=resolved_doors(list(mapping.door_names), live.doors),
                        warnings=mapping_warnings(list(mapping.door_names), live))
        for mapping, obj in rows
    ]
