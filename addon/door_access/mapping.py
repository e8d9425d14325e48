"""Door mapping (the Mapping tab): object → door names, the most specific mapping wins, and
resolving names to the vendor's live doors."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Message, ValidationFailed, audit
from addon.booking.public import (
    BookableObject,
    Booking,
    get_object,
    refuse_archived_object,
)

from .backend import Door
from .models import AccessGrant, Desired, DoorIntegration, DoorMapping, GrantState

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


@dataclass
class MappingResult:
    mapping: DoorMapping | None
    warnings: list[Message] = field(default_factory=list)
    affected_bookings: int = 0  # whose access the worker now brings in line with the new mapping


async def set_door_mapping(session: AsyncSession, integration: DoorIntegration, object_id, names: list[str],
                           live_names: list[str] | None, unreachable: Message | None, now: datetime) -> MappingResult:
    """Store object → door names. ``live_names`` is None when the vendor could not be asked (down,
    or refusing the credentials): the names are then stored unchecked, with a warning."""
    if len(names) > MAX_DOOR_NAMES:
        raise ValidationFailed.one("TOO_MANY", "A mapping holds at most {max_count} door names.", "doorNames",
                                   max_count=MAX_DOOR_NAMES)
    if any(n and len(n.strip()) > MAX_DOOR_NAME for n in names):
        raise ValidationFailed.one("TOO_LONG", "{label} is longer than {max_length} characters.", "doorNames",
                                   label=Message("Door name"), max_length=MAX_DOOR_NAME)
    obj = await get_object(session, object_id)
    if names:  # removing the mapping of an archived object is fine; a new one is not
        refuse_archived_object(obj, "objectId")
    if any(not n or not n.strip() for n in names):
        # A blank entry is a mistake, not a wish to remove the mapping (that is an empty list).
        raise ValidationFailed.one("INVALID", "A door name cannot be blank; send an empty list to remove the mapping.",
                                   "doorNames")
    cleaned = list(dict.fromkeys(n.strip() for n in names))
    existing = (await session.execute(
        select(DoorMapping).where(DoorMapping.integration_id == integration.id, DoorMapping.object_id == obj.id)
    )).scalar_one_or_none()
    if not cleaned:  # an empty list removes the mapping
        if existing is None:
            return MappingResult(None)
        removed = list(existing.door_names)
        await session.delete(existing)
        await session.flush()
        if integration.active and not await _has_any_mapping(session, integration):
            raise ValidationFailed.one("REQUIRED", "An active integration needs at least one mapping; deactivate it first.",
                                       "doorNames")
        await _record(session, "mapping.remove", integration, obj, removed, None)
        return MappingResult(None, affected_bookings=await follow_mapping(session, integration, obj.id, now))
    warnings: list[Message] = []
    if live_names is None:
        warnings.append(Message("The door list could not be fetched ({reason}); the names were stored unchecked.",
                                {"reason": unreachable}))
    else:
        unknown = [n for n in cleaned if n not in live_names]
        if unknown:
            raise ValidationFailed.one("UNKNOWN_DOOR", "Unknown door {unknown}. Known doors: {known}.", "doorNames",
                                       unknown=", ".join(map(repr, unknown)),
                                       known=", ".join(sorted(live_names)) or "-")
    old_names = list(existing.door_names) if existing is not None else None
    if existing is None:
        existing = DoorMapping(integration_id=integration.id, object_id=obj.id, door_names=cleaned, updated_at=now)
        session.add(existing)
    elif existing.door_names == cleaned:
        return MappingResult(existing, warnings)  # nothing changes for anyone
    else:
        existing.door_names = cleaned
        existing.updated_at = now
    await session.flush()
    await _record(session, "mapping.set", integration, obj, old_names, cleaned)
    return MappingResult(existing, warnings, await follow_mapping(session, integration, obj.id, now))


async def _record(session: AsyncSession, action: str, integration: DoorIntegration, obj: BookableObject,
                  old: list[str] | None, new: list[str] | None) -> None:
    """The audit event of a mapping change, on the integration: which object (a fact, so no old
    value) and its door names old → new."""
    await audit.record(session, action, "integration", integration.id,
                       {"object_id": [None, obj.id], "object": [None, obj.name], "door_names": [old, new]})


async def follow_mapping(session: AsyncSession, integration: DoorIntegration, object_id: int, now: datetime) -> int:
    """After the mapping of ``object_id`` changed: every live grant of a booking whose doors come
    from it becomes due (the worker replaces its set: the new one first, then the old revoked), and
    bookings there at a trigger status without live access (none yet, failed, revoked) are queued
    again. Returns how many bookings."""
    from .intents import backfill, mark_due  # intents build on mapping

    objects = await objects_following(session, integration.id, object_id)
    grants = (await session.execute(
        select(AccessGrant).join(Booking, Booking.id == AccessGrant.booking_id)
        .where(AccessGrant.integration_id == integration.id, AccessGrant.desired == Desired.ACTIVE,
               AccessGrant.state.in_([GrantState.ACTIVE, GrantState.PENDING]),
               Booking.object_id.in_(objects))
        .with_for_update(of=AccessGrant)
    )).scalars().all()
    for grant in grants:
        mark_due(grant, now)
    await session.flush()
    added = await backfill(session, integration, now, objects) if integration.active else 0
    return len(grants) + added


async def _has_any_mapping(session: AsyncSession, integration: DoorIntegration) -> bool:
    return (await session.execute(
        select(DoorMapping.id).where(DoorMapping.integration_id == integration.id).limit(1)
    )).first() is not None


async def mapping_for_object(session: AsyncSession, integration_id: int,
                             obj: BookableObject) -> tuple[DoorMapping | None, BookableObject | None]:
    """The most specific mapping: the object's own, else its parent's (and so on up). The object
    and its parent are looked up in one statement (with the mapped object); a deeper tree costs
    one more per two levels without a mapping."""
    node: BookableObject | None = obj
    while node is not None:
        levels = [node.id] if node.parent_id is None else [node.id, node.parent_id]
        found = {mapped.id: (mapping, mapped) for mapping, mapped in (await session.execute(
            select(DoorMapping, BookableObject).join(BookableObject, BookableObject.id == DoorMapping.object_id)
            .where(DoorMapping.integration_id == integration_id, DoorMapping.object_id.in_(levels))
        )).all()}
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


async def objects_mapped_by(session: AsyncSession, integration_id: int) -> set[int]:
    """Every object an integration applies to: those it maps, and their sub-objects (at any depth)."""
    mapped = await _mapped_ids(session, integration_id)
    return mapped | await _below(session, mapped)


async def objects_following(session: AsyncSession, integration_id: int, object_id: int) -> set[int]:
    """The objects whose bookings take their doors from ``object_id``'s mapping: the object and
    its sub-objects that have no mapping of their own (nor one nearer up)."""
    others = await _mapped_ids(session, integration_id) - {object_id}
    return {object_id} | await _below(session, {object_id}, stop=others)
