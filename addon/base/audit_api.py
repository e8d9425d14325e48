"""GraphQL part of the audit trail: admins page through who changed what, newest first."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Optional

import strawberry
from sqlalchemy import func, select
from strawberry.scalars import JSON
from strawberry.types import Info

from .api_kit import PageInfo, bad_cursor, check_page_size, decode_cursor, encode_cursor, id_argument
from .audit import CHANGED, AuditEvent
from .errors import CodedError
from .permissions import IsAdmin

CURSOR_KIND = "audit"
DEFAULT_PAGE_SIZE = 50


@strawberry.type(name="AuditActor", description="Who acted: a signed-in user, an app token, or the system.")
class AuditActorType:
    kind: str = strawberry.field(description="user, token, system (the worker, the demo seed), cli or anonymous.")
    name: str = strawberry.field(description="The person's or the token's name at the time.")
    id: Optional[strawberry.ID] = strawberry.field(description="The user's or the token's id.")


@strawberry.type(name="AuditTarget", description="What the event is about, e.g. integration 3.")
class AuditTargetType:
    type: str = strawberry.field(description="integration, object, booking, booking_field, user, token, …")
    id: Optional[strawberry.ID]


@strawberry.type(name="AuditChange", description=(
    "One field of an event: its value before and after. Where only new is set, it is a fact of the event "
    "(e.g. how many bookings were queued, a filter, the mapped object) rather than a change."))
class AuditChangeType:
    field: str
    old: Optional[JSON] = strawberry.field(description="The value before (JSON); \"changed\" for a secret.")
    new: Optional[JSON] = strawberry.field(description="The value after (JSON); \"changed\" for a secret.")
    secret: bool = strawberry.field(description="A secret: it changed, and its values are never shown.")


@strawberry.type(name="AuditEvent", description="One entry of the audit trail.")
class AuditEventType:
    id: strawberry.ID
    at: datetime
    actor: AuditActorType
    address: Optional[str] = strawberry.field(description="Where the request came from (the client's address).")
    action: str = strawberry.field(description="What was done, e.g. integration.update, mapping.set, access.revoke.")
    target: Optional[AuditTargetType]
    changes: list[AuditChangeType]

    @classmethod
    def from_model(cls, row: AuditEvent) -> "AuditEventType":
        actor = AuditActorType(kind=row.actor_kind, name=row.actor_name,
                               id=strawberry.ID(str(row.actor_id)) if row.actor_id is not None else None)
        target = None
        if row.target_type is not None:
            target = AuditTargetType(type=row.target_type,
                                     id=strawberry.ID(row.target_id) if row.target_id is not None else None)
        return cls(id=strawberry.ID(str(row.id)), at=row.at, actor=actor, address=row.address, action=row.action,
                   target=target, changes=[_change(name, value) for name, value in sorted((row.changes or {}).items())])


def _change(name: str, value) -> AuditChangeType:
    old, new = value if isinstance(value, list | tuple) and len(value) == 2 else (None, value)
    return AuditChangeType(field=name, old=old, new=new, secret=old == new == CHANGED)


@strawberry.type(name="AuditEventEdge")
class AuditEventEdge:
    cursor: str
    node: AuditEventType


@strawberry.type(name="AuditEventConnection")
class AuditEventConnection:
    edges: list[AuditEventEdge]
    page_info: PageInfo


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


def _empty() -> AuditEventConnection:
    return AuditEventConnection(edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None))


@strawberry.type
class AuditQuery:
    @strawberry.field(permission_classes=[IsAdmin], description=(
        "The audit trail, newest first: configuration changes, repairs, sign-ins and token events. Every filter "
        "is optional; those given all apply."))
    async def audit_trail(
        self,
        info: Info,
        first: int = DEFAULT_PAGE_SIZE,
        after: Optional[str] = None,
        action: Annotated[Optional[str], strawberry.argument(description=(
            "An action (e.g. integration.update), or its first part (e.g. integration) for all of its kind."))] = None,
        actor_name: Annotated[Optional[str], strawberry.argument(description=(
            "Part of the actor's name, in any case."))] = None,
        actor_kind: Annotated[Optional[str], strawberry.argument(description="user, token, system, cli.")] = None,
        target_type: Optional[str] = None,
        target_id: Optional[strawberry.ID] = None,
        from_: Annotated[Optional[datetime], strawberry.argument(name="from", description=(
            "Events at or after this instant."))] = None,
        until: Annotated[Optional[datetime], strawberry.argument(description="Events before this instant.")] = None,
    ) -> AuditEventConnection:
        check_page_size(first, info.context.host.settings.max_page_size)
        query = select(AuditEvent)
        if action:
            action = action.strip()
            query = query.where(AuditEvent.action == action if "." in action
                                else AuditEvent.action.startswith(action + ".", autoescape=True))
        if actor_name:
            query = query.where(func.lower(AuditEvent.actor_name).contains(actor_name.strip().lower(), autoescape=True))
        if actor_kind:
            query = query.where(AuditEvent.actor_kind == actor_kind.strip())
        if target_type:
            query = query.where(AuditEvent.target_type == target_type.strip())
        if target_id is not None:
            query = query.where(AuditEvent.target_id == str(target_id).strip())
        start, end = _instant(from_, "from"), _instant(until, "until")
        if start is not None:
            query = query.where(AuditEvent.at >= start)
        if end is not None:
            query = query.where(AuditEvent.at < end)
        if after:
            (raw,) = decode_cursor(after, CURSOR_KIND, 1)
            before = id_argument(raw) if raw.isdigit() else None
            if before is None:
                raise bad_cursor(after)
            query = query.where(AuditEvent.id < before)
        if start is not None and end is not None and end <= start:
            return _empty()
        rows = (await info.context.session.execute(query.order_by(AuditEvent.id.desc()).limit(first + 1))).scalars().all()
        edges = [AuditEventEdge(cursor=encode_cursor(CURSOR_KIND, r.id), node=AuditEventType.from_model(r))
                 for r in rows[:first]]
        return AuditEventConnection(edges=edges, page_info=PageInfo(
            has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None))
