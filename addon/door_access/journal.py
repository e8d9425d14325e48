"""The journal of access sets (``AccessSetRecord``): every set the engine asks a lock vendor for is
written down *before* its create is sent, and stays unresolved until the engine has observed what
became of it — it is the grant's live set, it was revoked, or a look-up proved it was never made.

So no set can exist at a vendor that the database does not name: a lost answer, a crash between
the create and its write, or a worker that lost its lease while the vendor worked all leave a
SENDING record behind, which the next reconcile looks up by its external reference.

What the vendor answered is a fact, written even when the worker's lease on the grant has gone
(``apply_changes``): decisions need the lease, facts do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .backend import Recipient
from .models import UNRESOLVED, AccessGrant, AccessSetRecord, Resolution, SetStatus
from .plan import external_reference


@dataclass(frozen=True)
class Delivery:
    """Where the vendor sends the guest's link of a set, and in which language: written with the
    create, so staff can tell where a link went."""

    recipients: tuple[Recipient, ...] = ()
    locale: str | None = None

    def recipients_json(self) -> list[dict]:
        return [{"email": r.email, "phone_number": r.phone_number} for r in self.recipients]


@dataclass(frozen=True)
class Entry:
    """A record as a reconcile read it (detached from any session)."""

    id: int
    reference: str | None
    generation: int | None
    location_id: str | None
    set_id: str | None
    status: SetStatus
    sent_at: datetime | None
    answer_by: datetime | None = None
    resolution: Resolution | None = None
    recipients: list[dict] | None = None
    locale: str | None = None

    @classmethod
    def of(cls, row: AccessSetRecord) -> "Entry":
        return cls(row.id, row.reference, row.generation, row.location_id, row.set_id, SetStatus(row.status),
                   row.sent_at, row.answer_by, Resolution(row.resolution) if row.resolution else None,
                   row.recipients, row.locale)


@dataclass(frozen=True)
class Change:
    """What a reconcile learned of a record (``record_id`` None: a further set found under the
    reference of ``like``, recorded as a record of its own)."""

    record_id: int | None
    status: SetStatus
    set_id: str | None = None
    location_id: str | None = None
    resolution: Resolution | None = None
    like: Entry | None = None
    answer_by: datetime | None = None  # the vendor answered: a look-up from now on is conclusive


# Statements every reconcile sends, built once (the ids go in as bound parameters).
@cache
def _open_entries_query():
    return (select(AccessSetRecord).where(AccessSetRecord.grant_id == bindparam("grant_id"),
                                          AccessSetRecord.status.in_((*UNRESOLVED, SetStatus.CURRENT)))
            .order_by(AccessSetRecord.id))


@cache
def _next_generation_query():
    return (update(AccessGrant).where(AccessGrant.id == bindparam("grant_id"),
                                      AccessGrant.claimed_by == bindparam("worker_id"))
            .values(generation=AccessGrant.generation + 1).returning(AccessGrant.generation))


async def open_entries(session: AsyncSession, grant_id: int) -> list[Entry]:
    """The grant's records that still stand for a set: being created, its live set, or to revoke."""
    rows = (await session.execute(_open_entries_query(), {"grant_id": grant_id})).scalars().all()
    return [Entry.of(r) for r in rows]


async def journal_create(session: AsyncSession, grant_id: int, worker_id: str, integration_id: int, booking_id: int,
                         location_id: str | None, now: datetime, answer_by: datetime,
                         delivery: Delivery = Delivery()) -> Entry | None:
    """Write down, under the worker's lease, the next reference of the grant as SENDING, with the
    moment after which its answer can no longer come (the sender's call deadline) and where the
    link goes (``delivery``); ``None`` when the lease is gone (then nothing may be sent). The
    caller commits before sending."""
    generation = (await session.execute(
        _next_generation_query(), {"grant_id": grant_id, "worker_id": worker_id})).scalar_one_or_none()
    if generation is None:
        return None
    row = AccessSetRecord(grant_id=grant_id, reference=external_reference(integration_id, booking_id, generation),
                          generation=generation, location_id=location_id, status=SetStatus.SENDING, sent_at=now,
                          answer_by=answer_by, recipients=delivery.recipients_json(), locale=delivery.locale,
                          created_at=now)
    session.add(row)
    await session.flush()
    return Entry.of(row)


async def apply_changes(session: AsyncSession, grant_id: int, changes: list[Change], now: datetime) -> None:
    """Write what a reconcile learned: one UPDATE per record that changed (no read first), one
    INSERT per further set found under a reference."""
    for change in changes:
        if change.record_id is None:
            like = change.like
            session.add(AccessSetRecord(grant_id=grant_id, reference=like.reference if like else None,
                                        generation=like.generation if like else None,
                                        location_id=change.location_id or (like.location_id if like else None),
                                        set_id=change.set_id, status=change.status, resolution=change.resolution,
                                        sent_at=like.sent_at if like else None,
                                        answer_by=like.answer_by if like else None,
                                        recipients=like.recipients if like else None,
                                        locale=like.locale if like else None, observed_at=now, created_at=now))
            continue
        values = {"status": change.status, "observed_at": now}
        for key in ("set_id", "location_id", "resolution", "answer_by"):
            if getattr(change, key) is not None:
                values[key] = getattr(change, key)
        await session.execute(update(AccessSetRecord).where(AccessSetRecord.id == change.record_id).values(**values)
                              .execution_options(synchronize_session=False))


async def has_unresolved(session: AsyncSession, grant_id: int) -> bool:
    return (await session.execute(
        select(AccessSetRecord.id).where(AccessSetRecord.grant_id == grant_id,
                                         AccessSetRecord.status.in_(UNRESOLVED)).limit(1)
    )).first() is not None
