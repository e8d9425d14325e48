"""GraphQL part of the audit trail: admins page through who changed what, newest first."""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Annotated, Optional

import strawberry
from sqlalchemy import func, or_, select
from strawberry.scalars import JSON
from strawberry.types import Info

from ..core.errors import CodedError
from ..core.principal import Role
from ..kit.basics import global_id, split_global_id
from ..kit.connections import (
    Ordering,
    connection_type,
    empty_page,
    int_key,
    keyset_page,
    page_request,
)
from ..kit.nodes import Node, audit_target_types, node_of, rows_loader
from ..kit.permissions import IsAdmin
from .audit import CHANGED, AuditEvent

DEFAULT_PAGE_SIZE = 50
# Newest first: ids grow with every event recorded.
NEWEST_FIRST = Ordering("audit", (int_key(AuditEvent.id),), descending=True)
# The GraphQL type of an actor's id, by actor kind.
ACTOR_TYPES = {"user": "User", "token": "ApiToken"}


@strawberry.enum(name="AuditActorKind", description=(
    "USER: a person signed in; TOKEN: an API token; SYSTEM: the worker, the demo seed; CLI: the command line; "
    "ANONYMOUS: nobody signed in yet (e.g. a failed sign-in)."))
class AuditActorKind(enum.Enum):
    USER = "user"
    TOKEN = "token"
    SYSTEM = "system"
    CLI = "cli"
    ANONYMOUS = "anonymous"


@strawberry.type(name="AuditActor", description="Who acted: a signed-in user, an app token, or the system.")
class AuditActorType:
    kind: AuditActorKind
    name: str = strawberry.field(description="The person's or the token's name at the time.")
    id: Optional[strawberry.ID] = strawberry.field(description="The user's or the token's global id.")


@strawberry.type(name="AuditTarget", description="What the event is about, e.g. integration 3.")
class AuditTargetType:
    type: str = strawberry.field(description="integration, object, booking, booking_field, user, token, …")
    id: Optional[strawberry.ID] = strawberry.field(description=(
        "The global id of the target (fetch it with node(id)); the bare row id for a type the API has no node "
        "for."))
    node_type: strawberry.Private[Optional[str]] = None
    row_id: strawberry.Private[Optional[int]] = None

    @strawberry.field(description="The target as it is now; null when it no longer exists.")
    async def node(self, info: Info) -> Optional[Node]:
        return await (node_of(info.context, self.node_type, self.row_id) or _nothing())


async def _nothing():
    return None


@strawberry.type(name="AuditChange", description=(
    "One field of an event: its value before and after. Where only new is set, it is a fact of the event "
    "(e.g. how many bookings were queued, a filter, the mapped object) rather than a change."))
class AuditChangeType:
    field: str
    old: Optional[JSON] = strawberry.field(description="The value before (JSON); \"changed\" for a secret.")
    new: Optional[JSON] = strawberry.field(description="The value after (JSON); \"changed\" for a secret.")
    secret: bool = strawberry.field(description="A secret: it changed, and its values are never shown.")


def _target(row: AuditEvent, targets: dict[str, str]) -> Optional[AuditTargetType]:
    if row.target_type is None:
        return None
    node_type = targets.get(row.target_type)
    row_id = int(row.target_id) if row.target_id is not None and row.target_id.isdigit() else None
    if node_type is not None and row_id is not None:
        return AuditTargetType(type=row.target_type, id=global_id(node_type, row_id), node_type=node_type,
                               row_id=row_id)
    return AuditTargetType(type=row.target_type, id=strawberry.ID(row.target_id) if row.target_id else None)


@strawberry.type(name="AuditEvent", description="One entry of the audit trail.")
class AuditEventType(Node):
    row_id: strawberry.Private[int]
    at: datetime
    actor: AuditActorType
    address: Optional[str] = strawberry.field(description="Where the request came from (the client's address).")
    action: str = strawberry.field(description="What was done, e.g. integration.update, mapping.set, access.revoke.")
    target: Optional[AuditTargetType]
    changes: list[AuditChangeType]

    @classmethod
    def from_model(cls, row: AuditEvent, targets: dict[str, str]) -> "AuditEventType":
        actor_type = ACTOR_TYPES.get(row.actor_kind)
        actor = AuditActorType(kind=AuditActorKind(row.actor_kind), name=row.actor_name,
                               id=global_id(actor_type, row.actor_id) if actor_type and row.actor_id is not None
                               else None)
        return cls(id=global_id("AuditEvent", row.id), row_id=row.id, at=row.at, actor=actor, address=row.address,
                   action=row.action, target=_target(row, targets),
                   changes=[_change(name, value) for name, value in sorted((row.changes or {}).items())])


def _change(name: str, value) -> AuditChangeType:
    old, new = value if isinstance(value, list | tuple) and len(value) == 2 else (None, value)
    return AuditChangeType(field=name, old=old, new=new, secret=old == new == CHANGED)


AuditEventConnection = connection_type("AuditEvent", AuditEventType, "The audit trail, newest first.")


def _instant(value: Optional[datetime], name: str) -> Optional[datetime]:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise CodedError("{name} needs a time-zone offset.", "BAD_USER_INPUT", name=name)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # beyond what can be held in UTC: the first or last instant there is
        edge = datetime.min if value.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=timezone.utc)


def _target_filter(value, target_type: Optional[str], targets: dict[str, str]) -> tuple[Optional[str], str]:
    """(target type, stored target id) of a targetId: a global id names its type too."""
    found, local = split_global_id(value)
    if found is None:
        return target_type, local
    by_node = {node: target for target, node in targets.items()}
    if found not in by_node:
        raise CodedError("{value!r} is not the id of anything the audit trail records.", "BAD_USER_INPUT",
                         value=str(value)[:100])
    if target_type is not None and by_node[found] != target_type:
        raise CodedError("{value!r} is the id of a {found}, not of a {expected}.", "BAD_USER_INPUT",
                         value=str(value)[:100], found=found, expected=targets.get(target_type, target_type))
    return by_node[found], local


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The audit trail, newest first: configuration changes, repairs, sign-ins and token events. Every filter "
        "is optional; those given all apply. Page with first/after or last/before (default: the first 50)."))
    async def audit_trail(
        self,
        info: Info,
        first: Optional[int] = None,
        after: Optional[str] = None,
        last: Optional[int] = None,
        before: Optional[str] = None,
        action: Annotated[Optional[str], strawberry.argument(description=(
            "An action (e.g. integration.update, signout), or its first part (e.g. integration) for all of its "
            "kind."))] = None,
        actor_name: Annotated[Optional[str], strawberry.argument(description=(
            "Part of the actor's name, in any case."))] = None,
        actor_kind: Optional[AuditActorKind] = None,
        target_type: Optional[str] = None,
        target_id: Annotated[Optional[strawberry.ID], strawberry.argument(description=(
            "The target's global id (it implies targetType), or a bare row id with targetType."))] = None,
        from_: Annotated[Optional[datetime], strawberry.argument(name="from", description=(
            "Events at or after this instant."))] = None,
        until: Annotated[Optional[datetime], strawberry.argument(description="Events before this instant.")] = None,
    ) -> AuditEventConnection:
        ctx = info.context
        request = page_request(first, after, last, before, ctx.host.settings.max_page_size, DEFAULT_PAGE_SIZE)
        targets = audit_target_types(ctx.host)
        query = select(AuditEvent)
        if action:
            action = action.strip()
            # The action itself (one-word ones such as signout too), or every action it begins.
            query = query.where(or_(AuditEvent.action == action,
                                    AuditEvent.action.startswith(action + ".", autoescape=True)))
        if actor_name:
            query = query.where(func.lower(AuditEvent.actor_name).contains(actor_name.strip().lower(), autoescape=True))
        if actor_kind is not None:
            query = query.where(AuditEvent.actor_kind == actor_kind.value)
        target_type = target_type.strip() if target_type else None
        if target_id is not None:
            target_type, local = _target_filter(target_id, target_type, targets)
            query = query.where(AuditEvent.target_id == local.strip())
        if target_type:
            query = query.where(AuditEvent.target_type == target_type)
        start, end = _instant(from_, "from"), _instant(until, "until")
        if start is not None:
            query = query.where(AuditEvent.at >= start)
        if end is not None:
            query = query.where(AuditEvent.at < end)
        if start is not None and end is not None and end <= start:
            return empty_page(AuditEventConnection)
        return await keyset_page(ctx.session, query, NEWEST_FIRST, request, AuditEventConnection,
                                 lambda row: AuditEventType.from_model(row, targets))


def node_loaders(host) -> dict:
    """node(id) of audit events (admins only)."""

    def convert(row: AuditEvent) -> AuditEventType:
        return AuditEventType.from_model(row, audit_target_types(host))

    return {"AuditEvent": rows_loader(AuditEvent, convert, Role.ADMIN)}
