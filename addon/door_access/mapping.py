"""Door mapping as configuration: object → door names, the most specific mapping wins, and
resolving names to the vendor's live doors. Saving a mapping (the Mapping tab) is ``mapping_edit``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Message
from addon.booking.public import BookableObject

from .backend import Door
from .models import DoorMapping

MAX_DOOR_NAMES = 50  # per mapping: doors one booking opens
MAX_DOOR_NAME = 200


@dataclass
class Resolution:
    doors: list[Door] = field(default_factory=list)
    problems: list[Message] = field(default_factory=list)  # stop a grant
    warnings: list[Message] = field(default_factory=list)  # worth an admin's look, do not stop it

    @property
    def location_id(self) -> str | None:
        locations = {d.location_id for d in self.doors}
        return locations.pop() if len(locations) == 1 else None


def resolve_names(names: list[str], doors: list[Door], where: Message) -> Resolution:
    """Resolve each mapped name to exactly one live door. A name that does not resolve (unknown,
    or used by several doors) is a warning while others do — the guest still gets the doors that
    work — and a problem when none does: never a silent partial result."""
    by_name: dict[str, list[Door]] = {}
    for door in doors:
        by_name.setdefault(door.name, []).append(door)
    counts = Counter(names)
    resolution = Resolution()
    unresolved: list[Message] = []
    for name in dict.fromkeys(names):
        matches = by_name.get(name, [])
        if not matches:
            unresolved.append(Message("Door {name!r} does not exist on {where}.", {"name": name, "where": where}))
        elif len(matches) > 1:
            unresolved.append(Message("Door name {name!r} is used by {count} doors on {where}; make the names unique "
                                      "at the lock system.", {"name": name, "count": len(matches), "where": where}))
        else:
            door = matches[0]
            resolution.doors.append(door)
            if not door.online:
                resolution.warnings.append(Message("Door {name!r} on {where} is offline; it cannot be opened "
                                                   "remotely.", {"name": name, "where": where}))
        if counts[name] > 1:
            resolution.warnings.append(Message("Door {name!r} is mapped more than once.", {"name": name}))
    if resolution.doors:
        resolution.warnings = unresolved + resolution.warnings
    else:
        resolution.problems += unresolved
    if resolution.doors and resolution.location_id is None:
        resolution.problems.append(Message("The mapped doors are in different places ({places}); one access can "
                                           "only cover one. Map doors of one place.",
                                           {"places": ", ".join(sorted({d.location_name for d in resolution.doors}))}))
    return resolution


@cache
def _mappings_at_query():
    # Built once (every reconcile and status change sends it); the levels go in as a list.
    return (select(DoorMapping, BookableObject).join(BookableObject, BookableObject.id == DoorMapping.object_id)
            .where(DoorMapping.integration_id == bindparam("integration_id"),
                   DoorMapping.object_id.in_(bindparam("levels", expanding=True))))


async def mapping_for_object(session: AsyncSession, integration_id: int,
                             obj: BookableObject) -> tuple[DoorMapping | None, BookableObject | None]:
    """The most specific mapping: the object's own, else its parent's (and so on up). The object
    and its parent are looked up in one statement (with the mapped object); a deeper tree costs
    one more per two levels without a mapping."""
    node: BookableObject | None = obj
    while node is not None:
        levels = [node.id] if node.parent_id is None else [node.id, node.parent_id]
        found = {mapped.id: (mapping, mapped) for mapping, mapped in (await session.execute(
            _mappings_at_query(), {"integration_id": integration_id, "levels": levels})).all()}
        for level in levels:
            if level in found:
                return found[level]
        parent = await session.get(BookableObject, node.parent_id) if node.parent_id else None
        node = await session.get(BookableObject, parent.parent_id) if parent is not None and parent.parent_id else None
    return None, None


async def _mapped_ids(session: AsyncSession, integration_id: int) -> set[int]:
    return set((await session.execute(
        select(DoorMapping.object_id).where(DoorMapping.integration_id == integration_id)
    )).scalars().all())


async def _below(session: AsyncSession, roots: set[int], stop: set[int] = frozenset()) -> set[int]:
    """The sub-objects of ``roots`` at any depth, not descending into ``stop``."""
    children_of: dict[int, list[int]] = {}
    for ident, parent_id in (await session.execute(
            select(BookableObject.id, BookableObject.parent_id).where(BookableObject.parent_id.is_not(None)))).all():
        children_of.setdefault(parent_id, []).append(ident)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for child in children_of.get(todo.pop(), []):
            if child not in stop and child not in found:
                found.add(child)
                todo.append(child)
    return found


async def objects_following(session: AsyncSession, integration_id: int, object_id: int) -> set[int]:
    """The objects whose bookings take their doors from ``object_id``'s mapping: the object and
    its sub-objects that have no mapping of their own (nor one nearer up)."""
    others = await _mapped_ids(session, integration_id) - {object_id}
    return {object_id} | await _below(session, {object_id}, stop=others)


async def door_names_by_object(session: AsyncSession, integration_id: int,
                               proposed: dict[int, list[str]] | None = None) -> dict[int, list[str]]:
    """For every object the integration applies to, the door names of its most specific mapping
    (its own, else the nearest parent's): two statements, whatever the number of objects.
    ``proposed``: own mappings as they would be after a change (an empty list: none), for a
    preview; nothing is written."""
    own = dict((await session.execute(
        select(DoorMapping.object_id, DoorMapping.door_names).where(DoorMapping.integration_id == integration_id)
    )).all())
    for object_id, names in (proposed or {}).items():
        if names:
            own[object_id] = list(names)
        else:
            own.pop(object_id, None)
    if not own:
        return {}
    parent_of = dict((await session.execute(select(BookableObject.id, BookableObject.parent_id))).all())
    found: dict[int, list[str]] = {}
    for object_id in parent_of:
        node, seen = object_id, set()
        while node is not None and node not in own and node not in seen:
            seen.add(node)  # a cycle is refused when objects are edited; never loop on one anyway
            node = parent_of.get(node)
        if node in own:
            found[object_id] = list(own[node])
    return found
