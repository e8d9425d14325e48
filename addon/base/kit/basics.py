"""The small kit every addon's GraphQL API is built with: ids, text input and mutation payloads
(cursors and pages: see .connections). One copy, so that every part of the API answers alike."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any, Optional, TypeVar

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import id_in_range
from ..core.errors import CodedError, Problem, UserError, ValidationFailed
from ..core.i18n import Message
from ..core.text import control_character

T = TypeVar("T")


# -- ids -----------------------------------------------------------------------------------------
#
# Every entity has an opaque global id (Relay's object identification): base64url of
# "<GraphQL type name>:<row id>", e.g. "Qm9va2luZzox" for Booking 1. Arguments that take an id
# accept it, and — so that hand-written queries and old clients keep working — a bare row id too.

def global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode().rstrip("="))


def split_global_id(value: Any) -> tuple[str | None, str]:
    """(type name, row id as written) of a global id; (None, value) for a bare row id or anything
    that is not a global id."""
    text = str(value).strip() if value is not None else ""
    if text.isdigit():
        return None, text
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, text
    type_name, separator, local = decoded.partition(":")
    if not separator or not type_name.isidentifier() or not local.isdigit():
        return None, text
    return type_name, local


class WrongIdType(ValueError):
    def __init__(self, found: str, expected: str) -> None:
        super().__init__(f"the id of a {found}, not of a {expected}")
        self.found, self.expected = found, expected


def _local_id(value: Any, type_name: str | None) -> int:
    found, local = split_global_id(value)
    if found is not None and type_name is not None and found != type_name:
        raise WrongIdType(found, type_name)
    return int(local)  # ValueError when it is neither a global nor a bare row id


def parse_id(value: Any, field: str, type_name: str | None = None) -> int:
    """An id given in a mutation's input (a global id of ``type_name``, or a bare row id); a
    malformed one, or one of another type, is a user error on ``field``."""
    try:
        return _local_id(value, type_name)
    except WrongIdType as exc:
        raise ValidationFailed.one("INVALID", "{value!r} is the id of a {found}, not of a {expected}.", field,
                                   value=value, found=exc.found, expected=exc.expected) from None
    except (TypeError, ValueError):
        raise ValidationFailed.one("INVALID", "{value!r} is not a valid id.", field, value=value) from None


def id_argument(value: Any, type_name: str | None = None) -> int | None:
    """An id given as a query argument; malformed (or of another type) is a coded error, out of
    range is ``None`` (no row can have it, and PostgreSQL refuses to even compare it)."""
    try:
        ident = _local_id(value, type_name)
    except WrongIdType as exc:
        raise CodedError("{value!r} is the id of a {found}, not of a {expected}.", "BAD_USER_INPUT", value=value,
                         found=exc.found, expected=exc.expected) from None
    except (TypeError, ValueError):
        raise CodedError("Invalid id {value!r}.", "BAD_USER_INPUT", value=value) from None
    return ident if id_in_range(ident) else None


async def get_row(session: AsyncSession, model: type[T], value: Any, field: str, not_found: str,
                  lock: bool = False, type_name: str | None = None) -> T:
    """The row of ``model`` with the id ``value`` (a global id of ``type_name``, or a bare row
    id), or a NOT_FOUND user error (template ``not_found`` with ``{id}``). ``lock``: FOR UPDATE,
    which serializes concurrent changes of one row on PostgreSQL (SQLite serializes every writer
    already)."""
    ident = parse_id(value, field, type_name)
    row = await session.get(model, ident, with_for_update=lock or None) if id_in_range(ident) else None
    if row is None:
        raise ValidationFailed.one("NOT_FOUND", not_found, field, id=value)
    return row


# -- text ----------------------------------------------------------------------------------------

CONTROL_CHARACTER = "CONTROL_CHARACTER"


def control_character_problem(value: str, field: str, label: Message, *, multiline: bool = False) -> Problem | None:
    """A CONTROL_CHARACTER problem when ``value`` holds a character text may not hold (a NUL, an
    escape, a line break in a single line: see core/text.py)."""
    found = control_character(value, multiline=multiline)
    if found is None:
        return None
    return Problem(CONTROL_CHARACTER, "{label} contains a control character ({character}), which is not allowed.",
                   field, {"label": label, "character": found})


def clean_text(value: Any, field: str, label: Message, max_length: int, *, required: bool = True,
               problems: list[Problem] | None = None, multiline: bool = False) -> str | None:
    """Trimmed text, ``None`` when blank. A missing required value, one that is too long or one
    with a control character (a line break too, unless ``multiline``) is a problem: appended to
    ``problems`` when given (to report every problem at once), else raised. Every free-text
    input goes through here (or :func:`control_character_problem`), so nothing stores a NUL."""
    value = value.strip() if isinstance(value, str) else None
    problem = None
    if not value:
        if required:
            problem = Problem("REQUIRED", "{label} is required.", field, {"label": label})
        value = None
    elif len(value) > max_length:
        problem = Problem("TOO_LONG", "{label} is longer than {max_length} characters.", field,
                          {"label": label, "max_length": max_length})
    else:
        problem = control_character_problem(value, field, label, multiline=multiline)
    if problem is not None:
        if problems is None:
            raise ValidationFailed(problem)
        problems.append(problem)
    return value


class MultilineInputs:
    """The host's GraphQL text inputs that may hold line breaks and tabs, by schema coordinate
    (``SetBookingFieldInput.value``, ``Query.search(text:)``); every other text is a single line
    (server/text_inputs.py)."""

    def __init__(self) -> None:
        self.coordinates: set[str] = set()


def allow_line_breaks(host: Any, *coordinates: str) -> None:
    """Let these inputs (schema coordinates) hold line breaks and tabs: a note, a message."""
    host.service(MultilineInputs, MultilineInputs).coordinates.update(coordinates)


def multiline_inputs(host: Any) -> frozenset[str]:
    found = host.service(MultilineInputs)
    return frozenset(found.coordinates) if found is not None else frozenset()


# -- pages ---------------------------------------------------------------------------------------
# Connections (cursors, PageInfo, keyset pages) live in .connections; PageInfo is here too for
# the addons that imported it from the kit.
from .connections import PageInfo  # noqa: E402,F401

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
