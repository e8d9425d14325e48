"""Object identification (Relay): every entity implements ``Node``; ``node(id)`` and ``nodes(ids)``
fetch any of them by its global id.

Each addon registers, for its type names, a :class:`NodeLoader` in ``host.registry.node_loaders``:
a batch loader (row ids → GraphQL objects) and the role a caller needs to read that type, so that
``node`` reaches nothing a caller could not reach otherwise. Field-level privacy (staff-only
fields) applies as it does everywhere else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Optional

import strawberry
from sqlalchemy import select
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from ..core.db import id_in_range
from ..core.errors import CodedError
from ..core.principal import Role
from .basics import global_id, split_global_id
from .permissions import IsFrontend, require

NodeBatch = Callable[[Any, list[int]], Awaitable[Sequence[Any]]]


@strawberry.interface(name="Node", description=(
    "An object with a global id. node(id) fetches it again; every argument that takes an id accepts it."))
class Node:
    id: strawberry.ID = strawberry.field(description=(
        "Opaque global id (unique across every type): keep it as it is, never build or take it apart."))


@dataclass(frozen=True)
class NodeLoader:
    """How ``node`` reads one type: ``load(context, row_ids)`` answers the GraphQL objects in the
    order of the ids (``None`` for a row that does not exist), in one statement or a few.

    ``role``: who may read the type at all (below it, ``node`` answers FORBIDDEN). ``model``: its
    table. ``audit_target``: the target type the audit trail records it under, if any."""

    load: NodeBatch
    role: Role = Role.FRONTEND
    model: type | None = None
    audit_target: str | None = None


def rows_loader(model: type, convert: Callable[[Any], Any], role: Role = Role.FRONTEND,
                audit_target: str | None = None) -> NodeLoader:
    """The loader of a type that is one row of ``model``: ``convert(row)`` makes its object (it may
    import the GraphQL types lazily, as they are built at schema build time)."""

    async def load(context, ids: list[int]) -> list[Any]:
        rows = (await context.session.execute(select(model).where(model.id.in_(ids)))).scalars().all()
        found = {row.id: row for row in rows}
        return [convert(found[i]) if i in found else None for i in ids]

    return NodeLoader(load, role, model, audit_target)


def node_type_of_table(host, table: str) -> str | None:
    """The GraphQL type whose rows live in ``table`` (for tools and tests that name rows by table)."""
    return next((name for name, loader in host.registry.node_loaders.items()
                 if loader.model is not None and loader.model.__tablename__ == table), None)


def audit_target_types(host) -> dict[str, str]:
    """Audit target type (e.g. "integration") → GraphQL type name (e.g. "DoorIntegration")."""
    return {loader.audit_target: name for name, loader in host.registry.node_loaders.items() if loader.audit_target}


# -- reading nodes -------------------------------------------------------------------------------

def node_reference(host, value: Any) -> tuple[str, int]:
    """(type name, row id) of a global id; a coded user error for anything else (a bare row id
    too: ``node`` cannot tell its type)."""
    type_name, local = split_global_id(value)
    if type_name is None:
        raise CodedError("{value!r} is not a global id; use the id field of an object.", "BAD_USER_INPUT",
                         value=str(value)[:100])
    if type_name not in host.registry.node_loaders:
        raise CodedError("{value!r} is not the id of anything this API answers.", "BAD_USER_INPUT",
                         value=str(value)[:100])
    return type_name, int(local)


def _loader(context, type_name: str) -> DataLoader:
    """One DataLoader per type and request: every node of one type in a request is one batch."""
    key = f"node:{type_name}"
    found = context.cache.get(key)
    if found is None:
        batch = context.host.registry.node_loaders[type_name].load

        async def load(ids: list[int]) -> Sequence[Any]:
            return await batch(context, ids)

        found = context.cache[key] = DataLoader(load_fn=load)
    return found


async def load_node(context, value: Any) -> Any:
    """The object a global id names, ``None`` when its row is gone; raises the coded error for a
    malformed id, an unknown type, or a type the caller may not read."""
    type_name, ident = node_reference(context.host, value)
    require(context.principal, context.host.registry.node_loaders[type_name].role)
    if not id_in_range(ident):
        return None
    return await _loader(context, type_name).load(ident)


async def _node_or_error(context, value: Any) -> Any:
    try:
        return await load_node(context, value)
    except CodedError as exc:
        return exc  # GraphQL answers null for this item, with the error at its path


def node_of(context, type_name: str, ident: int | None) -> Awaitable[Any] | None:
    """For resolvers: the node of a known type and row id (``None`` when there is none)."""
    if ident is None or type_name not in context.host.registry.node_loaders:
        return None
    return _loader(context, type_name).load(ident)


@strawberry.type
class NodeQuery:
    @strawberry.field(permission_classes=[IsFrontend], description=(
        "Any object by its global id; null when it no longer exists. FORBIDDEN for a type the caller's role "
        "cannot read, BAD_USER_INPUT for an id that is not a global id."))
    async def node(self, info: Info, id: strawberry.ID) -> Optional[Node]:
        return await load_node(info.context, id)

    @strawberry.field(permission_classes=[IsFrontend], description=(
        "Several objects by their global ids, in the order given (at most the maximum page size). An id whose "
        "object is gone answers null; one that cannot be read answers null with an error at its position."))
    async def nodes(self, info: Info, ids: Annotated[list[strawberry.ID], strawberry.argument(
            description="Global ids.")]) -> list[Optional[Node]]:
        limit = info.context.host.settings.max_page_size
        if len(ids) > limit:
            raise CodedError("At most {limit} ids at once.", "BAD_USER_INPUT", limit=limit)
        return list(await asyncio.gather(*(_node_or_error(info.context, value) for value in ids)))


__all__ = ["Node", "NodeLoader", "NodeQuery", "global_id", "load_node", "node_of", "rows_loader"]
