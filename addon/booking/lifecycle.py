"""Booking statuses and the moves between them: which statuses may follow which, their display
names per language, and archiving a status that is no longer used.

A status lists the statuses that may follow it; ``setBookingStatus`` refuses any other move
(naming the allowed ones) unless an admin forces it. Creating a booking at a status is not a move.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from addon.base.public import (
    N_,
    UNSET,
    Changes,
    Host,
    Message,
    Problem,
    ValidationFailed,
    audit,
    clean_text,
    get_row,
    is_language_code,
)

from .models import BookingStatus, BookingStatusTransition

MAX_CODE = 64
MAX_STATUS_NAME = 100
MAX_NEXT = 50  # statuses one status may lead to
MAX_LANGUAGES = 50  # display names of one status


async def get_status_row(session: AsyncSession, value, field: str = "id", lock: bool = False) -> BookingStatus:
    return await get_row(session, BookingStatus, value, field, N_("Status {id} does not exist."), lock,
                         type_name="BookingStatus")


def refuse_archived_status(row: BookingStatus, field: str) -> None:
    """An archived status keeps its bookings but takes no new ones."""
    if row.archived_at is not None:
        raise ValidationFailed.one("ARCHIVED", "Status {code!r} is archived; choose another status.", field,
                                   code=row.code)


@cache
def _next_statuses_query():
    # Built once: every status change sends it (the status id goes in as a bound parameter).
    return (select(BookingStatus)
            .join(BookingStatusTransition, BookingStatusTransition.to_status_id == BookingStatus.id)
            .where(BookingStatusTransition.from_status_id == bindparam("status_id"), BookingStatus.archived_at.is_(None))
            .order_by(BookingStatus.sequence, BookingStatus.id))


async def next_statuses(session: AsyncSession, status_id: int) -> list[BookingStatus]:
    """The statuses a booking at ``status_id`` may move to (archived ones excluded), in order."""
    return list((await session.execute(_next_statuses_query(), {"status_id": status_id})).scalars().all())


async def check_move(session: AsyncSession, old: BookingStatus, new: BookingStatus) -> None:
    """Refuse a move the allowed transitions do not list, naming the ones that are."""
    allowed = await next_statuses(session, old.id)
    if any(row.id == new.id for row in allowed):
        return
    if not allowed:
        raise ValidationFailed.one("NOT_ALLOWED", "A booking at status {current!r} cannot move to another status "
                                   "(asked: {wanted!r}).", "status", current=old.code, wanted=new.code)
    raise ValidationFailed.one("NOT_ALLOWED", "A booking at status {current!r} can move to {allowed}, not to "
                               "{wanted!r}.", "status", current=old.code, wanted=new.code,
                               allowed=", ".join(row.code for row in allowed))


# -- administration ----------------------------------------------------------------------------

@dataclass
class StatusChanges(Changes):
    """What createBookingStatus / updateBookingStatus set; UNSET fields are left alone."""

    name: Any = UNSET
    names: Any = UNSET  # {language: display name}; replaces every translated name
    sequence: Any = UNSET
    next_statuses: Any = UNSET  # codes; replaces the list


def _audited(row: BookingStatus, next_codes: list[str]) -> dict[str, Any]:
    return {"code": row.code, "name": row.name, "names": dict(sorted((row.names or {}).items())),
            "sequence": row.sequence, "next_statuses": list(next_codes)}


def _clean_names(names: dict[str, str], problems: list[Problem]) -> dict[str, str]:
    if len(names) > MAX_LANGUAGES:
        problems.append(Problem("TOO_LONG", "At most {max_count} languages.", "names", {"max_count": MAX_LANGUAGES}))
        return {}
    cleaned: dict[str, str] = {}
    for language, text in names.items():
        code = (language or "").strip().lower()
        if len(code) > 8 or not is_language_code(code):
            problems.append(Problem("INVALID", "{language!r} is not a two-letter language code (e.g. nl, en, de).",
                                    "names", {"language": (language or "")[:8]}))
            continue
        value = clean_text(text, "names", Message("Name"), MAX_STATUS_NAME, problems=problems)
        if value:
            cleaned[code] = value
    return cleaned


async def _resolve_next(session: AsyncSession, row: BookingStatus, codes: list[str], current: set[int],
                        problems: list[Problem]) -> list[BookingStatus]:
    """The statuses named by ``codes``: known, not the status itself, and not archived unless the
    list already had them (an existing reference keeps working)."""
    codes = list(dict.fromkeys(codes or []))
    if len(codes) > MAX_NEXT or any(len(c) > MAX_CODE for c in codes):
        problems.append(Problem("TOO_LONG", "At most {max_count} statuses of at most {max_length} characters each.",
                                "nextStatuses", {"max_count": MAX_NEXT, "max_length": MAX_CODE}))
        return []
    found = {r.code: r for r in (await session.execute(
        select(BookingStatus).where(BookingStatus.code.in_(codes)))).scalars().all()} if codes else {}
    unknown = [c for c in codes if c not in found]
    if unknown:
        problems.append(Problem("NOT_FOUND", "Unknown status {unknown}.", "nextStatuses",
                                {"unknown": ", ".join(map(repr, unknown))}))
    if row.code in codes:
        problems.append(Problem("INVALID", "A status cannot follow itself.", "nextStatuses"))
    archived = [c for c in codes if c in found and found[c].archived_at is not None and found[c].id not in current]
    if archived:
        problems.append(Problem("ARCHIVED", "Archived statuses cannot be chosen: {statuses}.", "nextStatuses",
                                {"statuses": ", ".join(archived)}))
    return [found[c] for c in codes if c in found and c != row.code]


async def _current_next_ids(session: AsyncSession, status_id: int | None) -> list[int]:
    if status_id is None:
        return []
    return list((await session.execute(
        select(BookingStatusTransition.to_status_id).where(BookingStatusTransition.from_status_id == status_id)
    )).scalars().all())


async def _codes_of(session: AsyncSession, ids: list[int]) -> list[str]:
    if not ids:
        return []
    return list((await session.execute(
        select(BookingStatus.code).where(BookingStatus.id.in_(ids)).order_by(BookingStatus.sequence, BookingStatus.id)
    )).scalars().all())


async def _apply(session: AsyncSession, row: BookingStatus, changes: StatusChanges, problems: list[Problem]) -> list | None:
    """Validate and set the given fields; returns the new next statuses (``None``: unchanged)."""
    given = {**dict.fromkeys(("name", "names", "sequence", "next_statuses"), UNSET), **changes.given()}
    if given["name"] is not UNSET:
        row.name = clean_text(given["name"], "name", Message("Name"), MAX_STATUS_NAME, problems=problems) or row.name
    if given["names"] is not UNSET:
        row.names = _clean_names(given["names"] or {}, problems)
    if given["sequence"] is not UNSET and given["sequence"] is not None:
        if not isinstance(given["sequence"], int) or not 0 <= given["sequence"] <= 1_000_000:
            problems.append(Problem("INVALID", "sequence must be between 0 and {maximum}.", "sequence",
                                    {"maximum": 1_000_000}))
        else:
            row.sequence = given["sequence"]
    if given["next_statuses"] is UNSET:
        return None
    current = set(await _current_next_ids(session, row.id))
    return await _resolve_next(session, row, given["next_statuses"], current, problems)


async def _store_next(session: AsyncSession, row: BookingStatus, targets: list[BookingStatus]) -> None:
    await session.execute(delete(BookingStatusTransition).where(BookingStatusTransition.from_status_id == row.id))
    session.add_all(BookingStatusTransition(from_status_id=row.id, to_status_id=t.id) for t in targets)
    await session.flush()


async def create_status(host: Host, session: AsyncSession, code: str, changes: StatusChanges) -> BookingStatus:
    problems: list[Problem] = []
    code = clean_text(code, "code", Message("Code"), MAX_CODE, problems=problems)
    if code and (await session.execute(select(BookingStatus.id).where(BookingStatus.code == code))).first():
        problems.append(Problem("DUPLICATE", "The code {code!r} is already in use.", "code", {"code": code}))
    if changes.name is UNSET or changes.name is None:  # a blank one is refused by _apply
        problems.append(Problem("REQUIRED", "{label} is required.", "name", {"label": Message("Name")}))
    if changes.sequence is UNSET or changes.sequence is None:
        last = (await session.execute(select(func.max(BookingStatus.sequence)))).scalar_one_or_none() or 0
        changes.sequence = last + 10  # a new status comes last unless told otherwise
    row = BookingStatus(code=code or "", name="", names={})
    targets = await _apply(session, row, changes, problems)
    if problems:
        raise ValidationFailed(*problems)
    session.add(row)
    await session.flush()
    await _store_next(session, row, targets or [])
    await audit.record(session, "booking_status.create", "booking_status", row.id,
                       audit.diff({}, _audited(row, [t.code for t in targets or []])))
    return row


async def update_status(host: Host, session: AsyncSession, status_id, changes: StatusChanges) -> BookingStatus:
    row = await get_status_row(session, status_id, lock=True)
    before = _audited(row, await _codes_of(session, await _current_next_ids(session, row.id)))
    problems: list[Problem] = []
    targets = await _apply(session, row, changes, problems)
    if problems:
        raise ValidationFailed(*problems)
    if targets is not None:
        await _store_next(session, row, targets)
    await session.flush()
    after = _audited(row, [t.code for t in targets] if targets is not None else before["next_statuses"])
    if changed := audit.diff(before, after):
        await audit.record(session, "booking_status.update", "booking_status", row.id, changed)
    return row


async def archive_status(host: Host, session: AsyncSession, status_id, archived: bool) -> BookingStatus:
    """Archive (or restore) a status: no new booking or move goes to it and no new configuration
    chooses it; bookings at it keep it and may still move on by its transitions."""
    row = await get_status_row(session, status_id, lock=True)
    await set_archived(host, session, row, archived, "booking_status")
    return row


async def set_archived(host: Host, session: AsyncSession, row, archived: bool, target_type: str) -> bool:
    """Archive or restore any archivable row (it has ``archived_at``); records the change.
    Returns whether anything changed."""
    if (row.archived_at is not None) == archived:
        return False
    row.archived_at = host.clock.now() if archived else None
    await session.flush()
    await audit.record(session, f"{target_type}.archive" if archived else f"{target_type}.restore", target_type,
                       row.id, {"archived": [not archived, archived]})
    return True
