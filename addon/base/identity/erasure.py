"""Removing a person's data wherever it was copied: text and JSON values are searched for the
erased values (case-insensitively) and each occurrence is replaced by a placeholder.

Used by the erasure of a customer (booking addon) for the rows that may quote them: the audit
trail and the sign-in throttle here, access grants and the call log in door access.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import Text, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from . import throttle
from .audit import AuditEvent

PLACEHOLDER = "[erased]"


def _pattern(values: tuple[str, ...]) -> re.Pattern | None:
    words = sorted({v for v in values if v}, key=len, reverse=True)  # the longest first: "Anna Smith" before "Anna"
    return re.compile("|".join(map(re.escape, words)), re.IGNORECASE) if words else None


def scrub(value: Any, values: tuple[str, ...]) -> Any:
    """``value`` (text, or JSON made of dicts, lists and text) with every occurrence of ``values``
    replaced by the placeholder; keys of a dict included."""
    pattern = _pattern(values)
    return value if pattern is None else _scrub(value, pattern)


def _scrub(value: Any, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return pattern.sub(PLACEHOLDER, value)
    if isinstance(value, list):
        return [_scrub(v, pattern) for v in value]
    if isinstance(value, dict):
        return {_scrub(k, pattern): _scrub(v, pattern) for k, v in value.items()}
    return value


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _spellings(value: str) -> set[str]:
    """How ``value`` may read in a column lower-cased by the database: SQLite folds only ASCII
    letters, and inside JSON a letter beyond ASCII is an escape (``\\u00c9``) that no database
    folds; so the value as typed and in lower, upper and title case, each plain and escaped."""
    spellings = set()
    for form in {value, value.lower(), value.upper(), value.title()}:
        spellings |= {form.lower(), _ascii_lower(form), json.dumps(form)[1:-1].lower()}
    return spellings


def mentions(column, values: tuple[str, ...]):
    """SQL: the column (text or JSON) contains one of ``values``, in any case (a pre-selection:
    :func:`scrub` decides on the decoded values)."""
    text = func.lower(cast(column, Text))
    return or_(*(text.contains(s, autoescape=True) for v in values if v for s in _spellings(v)))


async def scrub_rows(session: AsyncSession, model, columns: tuple[str, ...], values: tuple[str, ...],
                     scope=None) -> int:
    """Scrub ``columns`` of every row of ``model`` (within ``scope``, a condition, when given)
    that mentions a value in one of them; returns how many values changed."""
    if not any(values):
        return 0
    query = select(model).where(or_(*(mentions(getattr(model, c), values) for c in columns)))
    if scope is not None:
        query = query.where(scope)
    found = (await session.execute(query)).scalars().all()
    changed = 0
    for row in found:
        for column in columns:
            before = getattr(row, column)
            after = scrub(before, values)
            if after != before:
                setattr(row, column, after)  # a new object: JSON columns see the change
                changed += 1
    await session.flush()
    return changed


async def scrub_audit_trail(session: AsyncSession, values: tuple[str, ...]) -> int:
    """The audit trail's before/after values quote what was changed (e.g. an e-mail address)."""
    return await scrub_rows(session, AuditEvent, ("changes",), values)


async def forget_signin_attempts(session: AsyncSession, emails) -> int:
    """The failed sign-ins counted for these e-mail addresses (someone may have typed a guest's
    address at the sign-in page); the throttle keeps only a hash of each, removed here."""
    return await throttle.forget_accounts(session, emails)
