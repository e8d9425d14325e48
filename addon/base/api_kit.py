"""The small kit every addon's GraphQL API is built with: ids, text input, cursors and pages,
and mutation payloads. One copy, so that every part of the API answers alike."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any, Optional, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from .db import id_in_range
from .errors import CodedError, Problem, UserError, ValidationFailed
from .i18n import Message

T = TypeVar("T")


# -- ids -----------------------------------------------------------------------------------------

def parse_id(value: Any, field: str) -> int:
    """An id given in a mutation's input; a malformed one is a user error on ``field``."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed.one("INVALID", "{value!r} is not a valid id.", field, value=value) from None


def id_argument(value: Any) -> int | None:
    """An id given as a query argument; malformed is a coded error, out of range is ``None``
    (no row can have it, and PostgreSQL refuses to even compare it)."""
    try:
        ident = int(str(value).strip())
    except (TypeError, ValueError):
        raise CodedError("Invalid id {value!r}.", "BAD_USER_INPUT", value=value) from None
    return ident if id_in_range(ident) else None


async def get_row(session: AsyncSession, model: type[T], value: Any, field: str, not_found: str,
                  lock: bool = False) -> T:
    """The row of ``model`` with the id ``value``, or a NOT_FOUND user error (template
    ``not_found`` with ``{id}``). ``lock``: FOR UPDATE, which serializes concurrent changes of
    one row on PostgreSQL (SQLite serializes every writer already)."""
    ident = parse_id(value, field)
    row = await session.get(model, ident, with_for_update=lock or None) if id_in_range(ident) else None
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", not_found, field, id=value)
    return row


# -- text ----------------------------------------------------------------------------------------

def clean_text(value: Any, field: str, label: Message, max_length: int, *, required: bool = True,
               problems: list[Problem] | None = None) -> str | None:
    """Trimmed text, ``None`` when blank. A missing required value or one that is too long is a
    problem: appended to ``problems`` when given (to report every problem at once), else raised."""
    value = value.strip() if isinstance(value, str) else None
    problem = None
    if not value:
        if required:
            problem = Problem("REQUIRED", "{label} is required.", field, {"label": label})
        value = None
    elif len(value) > max_length:
        problem = Problem("TOO_LONG", "{label} is longer than {max_length} characters.", field,
                          {"label": label, "max_length": max_length})
    if problem is not None:
        if problems is None:
            raise ValidationFailed(problem)
        problems.append(problem)
    return value


# -- cursors and pages ---------------------------------------------------------------------------

@strawberry.type(description="Where a page of a connection stands.")
class PageInfo:
    has_next_page: bool
    end_cursor: Optional[str]


def encode_cursor(kind: str, *parts: Any) -> str:
    """An opaque cursor; ``kind`` keeps a cursor of one list from being used on another."""
    raw = "|".join([kind, *(str(p) for p in parts)])
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str, kind: str, count: int) -> list[str]:
    """The ``count`` parts of a cursor made by :func:`encode_cursor` for ``kind``."""
    try:
        parts = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        parts = []
    if len(parts) != count + 1 or parts[0] != kind:
        raise bad_cursor(cursor)
    return parts[1:]


def bad_cursor(cursor: str) -> CodedError:
    """For a cursor that decodes but names nothing this API could have made."""
    return CodedError("Invalid cursor {cursor!r}; use an endCursor from an earlier page.", "BAD_USER_INPUT",
                      cursor=cursor)


def check_page_size(first: int, limit: int) -> int:
    if not 1 <= first <= limit:
        raise CodedError("first must be between 1 and {limit}.", "BAD_USER_INPUT", limit=limit)
    return first


# -- payloads ------------------------------------------------------------------------------------

def payload(name: str, result_name: str, result_type, description: str):
    """A mutation payload type: the result (null when refused) and the user errors."""
    cls = type(name, (), {"__annotations__": {result_name: Optional[result_type], "errors": list[UserError]}})
    return strawberry.type(cls, description=description)


# -- partial updates -----------------------------------------------------------------------------

UNSET: Any = strawberry.UNSET  # "not given", as opposed to None ("clear it")


@dataclasses.dataclass
class Changes:
    """Base of the fields an update may change: subclasses are dataclasses whose fields default to
    UNSET; ``given()`` says which ones the caller sent."""

    def given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not UNSET}

    @classmethod
    def from_input(cls, data: Any):
        """The fields of a GraphQL input object that were sent (strawberry.UNSET for the others)."""
        return cls(**{f.name: getattr(data, f.name, UNSET) for f in dataclasses.fields(cls)})
