"""Resolver helpers shared by the Resivo GraphQL fields."""

from __future__ import annotations

from typing import NamedTuple

import strawberry
from sqlalchemy import select

from addon.booking.api.types import BookableObjectType
from addon.booking.models import BookableObject

from addon.base.db import release
from addon.base.i18n import Message

from ..connection import client_for, explain
from ..directory import Door, live_doors, resolve_names, site_label
from ..errors import ResivoError, ResivoTransientError
from ..models import ResivoDoorMapping, ResivoIntegration
from .types import DoorMappingType, ResolvedDoorType


class LiveDoors(NamedTuple):
    """The live door list, or why there is none and whether that may pass by itself
    (timeout, 429, 5xx) or needs the configuration fixed (credentials, scope, site)."""

    doors: list[Door] | None
    reason: Message | None = None
    transient: bool = True


async def live_doors_cached(info: strawberry.Info, integration: ResivoIntegration) -> LiveDoors:
    """The live door list, fetched at most once per request."""
    cache = info.context.cache.setdefault("resivo.doors", {})
    if integration.id not in cache:
        await release(info.context.session)  # hold no database lock while Resivo answers
        try:
            client = client_for(info.context.host, integration)
            cache[integration.id] = LiveDoors(await live_doors(client, integration))
        except ResivoError as exc:
            cache[integration.id] = LiveDoors(None, explain(exc, integration), isinstance(exc, ResivoTransientError))
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


async def door_mappings(info: strawberry.Info, integration_id: int) -> list[DoorMappingType]:
    session = info.context.session
    integration = await session.get(ResivoIntegration, integration_id)
    rows = (
        await session.execute(
            select(ResivoDoorMapping, BookableObject)
            .join(BookableObject, BookableObject.id == ResivoDoorMapping.object_id)
            .where(ResivoDoorMapping.integration_id == integration_id)
            .order_by(BookableObject.name)
        )
    ).all()
    if not rows:
        return []
    doors, unreachable, _ = await live_doors_cached(info, integration)
    result = []
    for mapping, obj in rows:
        names = list(mapping.component_names)
        result.append(DoorMappingType(object=BookableObjectType.from_model(obj), component_names=names,
                                      doors=resolved_doors(names, doors),
                                      warnings=mapping_warnings(integration, names, doors, unreachable)))
    return result


def mapping_warnings(integration: ResivoIntegration, names: list[str], doors: list[Door] | None,
                     unreachable: Message | None) -> list[str]:
    """What is wrong with a mapping right now: names that no longer exist or are ambiguous,
    offline doors, doors on different sites — or that the doors could not be checked."""
    if doors is None:
        return [Message("Doors could not be checked: {error}", {"error": unreachable}).text()]
    resolution = resolve_names(names, doors, site_label(integration, doors))
    return [m.text() for m in resolution.problems + resolution.warnings]
