"""Cursor connections (Relay): one implementation for every list that pages.

A list is ordered on a key: its sort columns followed by the row id, so every row has its own
place. A cursor holds the key of a row (and the list and order it belongs to), and a page is the
rows after (``first``/``after``) or before (``last``/``before``) that key: keyset pagination. A
cursor therefore stays valid while rows are added or removed; it never skips or repeats a row
that was there when the previous page was read.

A page costs at most three statements, however large: the page itself, whether rows lie on its
other side (only when a cursor was given) and ``totalCount`` (only when it is selected).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

import strawberry
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

from ..core.errors import CodedError

DEFAULT_PAGE_SIZE = 50


@strawberry.type(description="Where a page of a connection stands; the same for every connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Rows follow this page (page on with after: endCursor).")
    has_previous_page: bool = strawberry.field(description=(
        "Rows precede this page (page back with before: startCursor)."))
    start_cursor: Optional[str] = strawberry.field(description="The cursor of the first edge; null on an empty page.")
    end_cursor: Optional[str] = strawberry.field(description="The cursor of the last edge; null on an empty page.")


EMPTY_PAGE_INFO = dict(has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None)


@strawberry.enum(name="OrderDirection", description="ASC: smallest (earliest, A) first; DESC: largest first.")
class OrderDirection(enum.Enum):
    ASC = "ASC"
    DESC = "DESC"


# -- the connection types ------------------------------------------------------------------------

async def _total_count(root) -> int:
    return await root.count()


def connection_type(name: str, node_type: type, description: str | None = None) -> type:
    """``<name>Connection`` (edges, pageInfo, totalCount) with ``<name>Edge`` (cursor, node)."""
    edge = strawberry.type(
        type(f"{name}Edge", (), {"__annotations__": {"cursor": str, "node": node_type}, "__module__": __name__}),
        name=f"{name}Edge", description="A row of the list and its cursor.")
    namespace = {
        "__module__": __name__,
        "__annotations__": {"edges": list[edge], "page_info": PageInfo,
                            "count": strawberry.Private[Callable[[], Awaitable[int]]]},
        "total_count": strawberry.field(resolver=_total_count, description=(
            "How many rows the whole list has with these filters (all pages); counted only when asked for.")),
    }
    connection = strawberry.type(type(f"{name}Connection", (), namespace), name=f"{name}Connection",
                                 description=description)
    connection.Edge = edge
    return connection


# -- keys and cursors ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Key:
    """One column of a list's order, and how its value goes into a cursor and back."""

    column: Any
    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]  # raises ValueError or TypeError for a value no cursor could hold


INTEGER_RANGE = (-2**31, 2**31 - 1)  # what an INTEGER column holds (PostgreSQL refuses to compare beyond it)


def _load_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not a whole number")
    if not INTEGER_RANGE[0] <= value <= INTEGER_RANGE[1]:
        raise ValueError("out of range")
    return value


def _load_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a text")
    return value


def _load_instant(value: Any) -> datetime:
    moment = datetime.fromisoformat(_load_text(value))
    if moment.tzinfo is None:
        raise ValueError("no offset")
    return moment.astimezone(timezone.utc)


def int_key(column) -> Key:
    return Key(column, lambda v: v, _load_int)


def text_key(column) -> Key:
    return Key(column, lambda v: v, _load_text)


def instant_key(column) -> Key:
    return Key(column, lambda v: v.astimezone(timezone.utc).isoformat(), _load_instant)


@dataclass(frozen=True)
class Ordering:
    """A list's order: ``keys`` (the last one unique, the id), all ascending or all descending.
    ``name`` is part of every cursor, so that a cursor of one list or order is refused by another."""

    name: str
    keys: tuple[Key, ...]
    descending: bool = False

    def values(self, row) -> list[Any]:
        return [getattr(row, key.column.key) for key in self.keys]

    def cursor(self, row) -> str:
        raw = json.dumps([self.name, *(key.dump(v) for key, v in zip(self.keys, self.values(row)))],
                         separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def read(self, cursor: str) -> list[Any]:
        """The key values of a cursor made by :meth:`cursor` for this list and order."""
        try:
            parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
            if not isinstance(parts, list) or len(parts) != len(self.keys) + 1 or parts[0] != self.name:
                raise ValueError("another list")
            return [key.load(value) for key, value in zip(self.keys, parts[1:])]
        except (binascii.Error, UnicodeDecodeError, ValueError, TypeError, OverflowError):
            raise bad_cursor(cursor) from None

    def after(self, values: Sequence[Any]):
        """Rows after the key ``values`` in this order (the row itself excluded)."""
        terms = []
        for i, key in enumerate(self.keys):
            beyond = key.column < values[i] if self.descending else key.column > values[i]
            terms.append(and_(*(k.column == v for k, v in zip(self.keys[:i], values[:i])), beyond))
        return or_(*terms)

    def before(self, values: Sequence[Any]):
        """Rows before the key ``values`` in this order (the row itself excluded)."""
        terms = []
        for i, key in enumerate(self.keys):
            short = key.column > values[i] if self.descending else key.column < values[i]
            terms.append(and_(*(k.column == v for k, v in zip(self.keys[:i], values[:i])), short))
        return or_(*terms)

    def order_by(self, reverse: bool = False) -> list[Any]:
        descending = self.descending != reverse
        return [key.column.desc() if descending else key.column.asc() for key in self.keys]


def bad_cursor(cursor: str) -> CodedError:
    return CodedError("Invalid cursor {cursor!r}: use a cursor of this list, read with the same order and filters.",
                      "BAD_USER_INPUT", cursor=cursor[:100])


# -- paging arguments ----------------------------------------------------------------------------

@dataclass(frozen=True)
class PageRequest:
    """What a caller asks for: ``first`` rows after ``after``, or the ``last`` rows before ``before``."""

    size: int
    backward: bool
    after: Optional[str] = None
    before: Optional[str] = None


def page_request(first: Optional[int], after: Optional[str], last: Optional[int], before: Optional[str],
                 limit: int, default: int = DEFAULT_PAGE_SIZE) -> PageRequest:
    if first is not None and last is not None:
        raise CodedError("Send first (to page forward) or last (to page back), not both.", "BAD_USER_INPUT")
    if first is not None and not 1 <= first <= limit:
        raise CodedError("first must be between 1 and {limit}.", "BAD_USER_INPUT", limit=limit)
    if last is not None and not 1 <= last <= limit:
        raise CodedError("last must be between 1 and {limit}.", "BAD_USER_INPUT", limit=limit)
    if last is not None:
        return PageRequest(last, True, after, before)
    return PageRequest(first if first is not None else min(default, limit), False, after, before)


# -- one page ------------------------------------------------------------------------------------

async def keyset_page(session: AsyncSession, query: Select, ordering: Ordering, request: PageRequest,
                      connection: type, node: Callable[[Any], Any], rows: bool = False):
    """A page of ``query`` (a ``select`` of one model, filters applied, no order) as ``connection``;
    ``node`` makes each row's GraphQL object. ``rows``: the query selects the table's columns
    (plain rows, cheaper than ORM objects) instead of the model."""
    after = ordering.read(request.after) if request.after else None
    before = ordering.read(request.before) if request.before else None
    window = query
    if after is not None:
        window = window.where(ordering.after(after))
    if before is not None:
        window = window.where(ordering.before(before))
    result = await session.execute(window.order_by(*ordering.order_by(reverse=request.backward)).limit(request.size + 1))
    found = result.all() if rows else result.scalars().all()
    more = len(found) > request.size
    rows = list(found[:request.size])
    if request.backward:
        rows.reverse()
    # The far side of the page: whether rows lie beyond the cursor it was read from.
    cursor_side = after if not request.backward else before
    beyond = False
    if cursor_side is not None:
        outside = not_(ordering.after(cursor_side)) if not request.backward else not_(ordering.before(cursor_side))
        beyond = bool((await session.execute(select(query.where(outside).exists()))).scalar())
    edges = [connection.Edge(cursor=ordering.cursor(row), node=node(row)) for row in rows]
    info = PageInfo(
        has_next_page=beyond if request.backward else more,
        has_previous_page=more if request.backward else beyond,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )
    return connection(edges=edges, page_info=info, count=_counter(session, query))


def _counter(session: AsyncSession, query: Select) -> Callable[[], Awaitable[int]]:
    async def count() -> int:
        return (await session.execute(select(func.count()).select_from(query.order_by(None).subquery()))).scalar_one()

    return count


def empty_page(connection: type):
    """A page of a list that cannot hold rows (e.g. filtered on an id no row can have)."""

    async def zero() -> int:
        return 0

    return connection(edges=[], page_info=PageInfo(**EMPTY_PAGE_INFO), count=zero)
