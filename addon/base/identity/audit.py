"""The audit trail: who changed what, when, from where — configuration, repairs, sign-ins and
tokens. An event is written in the transaction of the change it records: both commit, or neither.

Who acts is known per request (or per command) through :func:`acting_as`; services call
:func:`record` without passing the actor along.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from ..core.db import UTCDateTime, utcnow

CHANGED = "changed"  # what a secret's old and new value are shown as


class AuditEvent(SQLModel, table=True):
    __tablename__ = "base_audit_event"
    __table_args__ = (
        Index("ix_base_audit_event_target", "target_type", "target_id"),
        Index("ix_base_audit_event_action_id", "action", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True))
    actor_kind: str = Field(sa_column=Column(String(10), nullable=False))  # user, token, system, cli
    actor_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    actor_name: str = Field(sa_column=Column(String(200), nullable=False))
    address: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))  # where from
    action: str = Field(sa_column=Column(String(60), nullable=False))  # e.g. integration.update
    target_type: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    target_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # {field: [old, new]}; a secret shows only "changed". Never a secret, password or token.
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "token", "system" (the worker, the demo seed) or "cli"
    name: str
    id: int | None = None
    address: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"


SYSTEM = Actor("system", "system")
_current: ContextVar[Actor] = ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextmanager
def acting_as(actor: Actor):
    """Everything recorded inside the block is attributed to ``actor``."""
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)


def set_actor(actor: Actor) -> None:
    """For a whole request (its task): every event it records names ``actor``."""
    _current.set(actor)


def diff(old: dict[str, Any], new: dict[str, Any], secrets: tuple[str, ...] = ()) -> dict[str, list]:
    """``{field: [old, new]}`` for every field whose value differs; secrets show only "changed"."""
    changes = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before != after:
            changes[key] = [CHANGED, CHANGED] if key in secrets else [_plain(before), _plain(after)]
    return changes


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


async def record(session: AsyncSession, action: str, target_type: str | None = None, target_id: Any = None,
                 changes: dict | None = None, actor: Actor | None = None) -> AuditEvent:
    """Add an event to the session's transaction (it commits with the change it records)."""
    who = actor or current_actor()
    event = AuditEvent(actor_kind=who.kind, actor_id=who.id, actor_name=who.name[:200], address=who.address,
                       action=action, target_type=target_type,
                       target_id=str(target_id) if target_id is not None else None, changes=changes or {})
    session.add(event)
    return event
