"""GraphQL types of a door mapping: which doors an object's bookings open, resolved against the
live door list (``live_doors.py`` builds them; ``types.py`` and the mutations answer them)."""

from __future__ import annotations

from typing import Optional

import strawberry

from addon.base.public import Node, global_id
from addon.booking.public import BookableObjectType

from ..models import DoorMapping


@strawberry.type(name="ResolvedDoor")
class ResolvedDoorType:
    name: str
    id: Optional[str] = strawberry.field(description="The door's live id; null when the name does not resolve.")
    online: Optional[bool]


@strawberry.type(name="DoorMapping", description="Which doors an object's bookings open.")
class DoorMappingType(Node):
    row_id: strawberry.Private[int]
    object: BookableObjectType
    door_names: list[str]
    doors: list[ResolvedDoorType]
    warnings: list[str]

    @classmethod
    def build(cls, row: DoorMapping, obj, doors: list[ResolvedDoorType], warnings: list[str]) -> "DoorMappingType":
        return cls(id=global_id("DoorMapping", row.id), row_id=row.id, object=BookableObjectType.from_model(obj),
                   door_names=list(row.door_names), doors=doors, warnings=warnings)
