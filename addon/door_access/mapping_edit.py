"""Saving a door mapping (the Mapping tab): checked against the vendor's door list, audited, and
followed by the access it changes (``grants.follow_mapping``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import Message, ValidationFailed, audit
from addon.booking.public import BookableObject, get_object, refuse_archived_object

from .grants import follow_mapping, preview_mapping
from .mapping import MAX_DOOR_NAME, MAX_DOOR_NAMES
from .models import DoorIntegration, DoorMapping


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


@dataclass
class MappingChange:
    """What saving a mapping would change: door names added to and removed from the object's own
    mapping, and how many bookings would follow it."""

    added: list[str]
    removed: list[str]
    affected_bookings: int


async def preview_door_mapping(session: AsyncSession, integration: DoorIntegration, object_id, names: list[str],
                               now: datetime) -> MappingChange:
    """What :func:`set_door_mapping` with ``names`` would change now; nothing is written (the names
    are not checked against the vendor's list: saving does that)."""
    obj = await get_object(session, object_id)
    cleaned = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))[:MAX_DOOR_NAMES]
    existing = (await session.execute(
        select(DoorMapping.door_names).where(DoorMapping.integration_id == integration.id,
                                             DoorMapping.object_id == obj.id)
    )).scalar_one_or_none() or []
    affected = 0 if cleaned == list(existing) else await preview_mapping(session, integration, obj.id, cleaned, now)
    return MappingChange(added=[n for n in cleaned if n not in existing],
                         removed=[n for n in existing if n not in cleaned], affected_bookings=affected)


async def _record(session: AsyncSession, action: str, integration: DoorIntegration, obj: BookableObject,
                  old: list[str] | None, new: list[str] | None) -> None:
    """The audit event of a mapping change, on the integration: which object (a fact, so no old
    value) and its door names old → new."""
    await audit.record(session, action, "integration", integration.id,
                       {"object_id": [None, obj.id], "object": [None, obj.name], "door_names": [old, new]})


async def _has_any_mapping(session: AsyncSession, integration: DoorIntegration) -> bool:
    return (await session.execute(
        select(DoorMapping.id).where(DoorMapping.integration_id == integration.id).limit(1)
    )).first() is not None
