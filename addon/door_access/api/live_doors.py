"""The live door list of an integration, as the admin screens read it: fetched at most once per
request, with no database lock held while the vendor answers."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from addon.base.public import Message, release
from addon.booking.public import BookableObject

from ..backend import (
    BackendError,
    Door,
    DoorConnection,
    TransientBackendError,
    backends,
)
from ..mapping import resolve_names
from ..models import DoorIntegration, DoorMapping
from .mapping_types import DoorMappingType, ResolvedDoorType


class LiveDoors(NamedTuple):
    """The live door list, or why there is none and whether that may pass by itself (timeout,
    429, 5xx) or needs the configuration fixed (credentials, scope, site)."""

    doors: list[Door] | None
    reason: Message | None = None
    transient: bool = True
    where: Message | None = None


async def connect(ctx, integration: DoorIntegration) -> DoorConnection:
    """The integration's backend calls, credentials loaded in the request's transaction, which is
    then ended: no lock is held while the vendor answers. ``ctx``: the request's GraphQL context."""
    session = ctx.session
    connection = await backends(ctx.host)[integration.backend].connect(ctx.host, session, integration)
    await release(session)
    return connection


async def live_doors_cached(ctx, integration: DoorIntegration) -> LiveDoors:
    """The live door list, fetched at most once per request."""
    cache = ctx.cache.setdefault("door_access.doors", {})
    if integration.id not in cache:
        connection = await connect(ctx, integration)
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


def mapping_type(mapping: DoorMapping, obj: BookableObject, live: LiveDoors) -> DoorMappingType:
    names = list(mapping.door_names)
    return DoorMappingType.build(mapping, obj, resolved_doors(names, live.doors), mapping_warnings(names, live))


async def door_mappings(ctx, integration_id: int) -> list[DoorMappingType]:
    session = ctx.session
    integration = await session.get(DoorIntegration, integration_id)
    rows = (await session.execute(
        select(DoorMapping, BookableObject)
        .join(BookableObject, BookableObject.id == DoorMapping.object_id)
        .where(DoorMapping.integration_id == integration_id)
        .order_by(BookableObject.name)
    )).all()
    if not rows:
        return []
    live = await live_doors_cached(ctx, integration)
    return [mapping_type(mapping, obj, live) for mapping, obj in rows]


async def load_mappings(ctx, ids: list[int]) -> list[DoorMappingType | None]:
    """node(id) of door mappings: the rows in one statement, each integration's live doors once."""
    rows = (await ctx.session.execute(
        select(DoorMapping, BookableObject, DoorIntegration)
        .join(BookableObject, BookableObject.id == DoorMapping.object_id)
        .join(DoorIntegration, DoorIntegration.id == DoorMapping.integration_id)
        .where(DoorMapping.id.in_(ids))
    )).all()
    live = {}
    for _mapping, _obj, integration in rows:
        if integration.id not in live:
            live[integration.id] = await live_doors_cached(ctx, integration)
    found = {mapping.id: mapping_type(mapping, obj, live[integration.id]) for mapping, obj, integration in rows}
    return [found.get(i) for i in ids]
