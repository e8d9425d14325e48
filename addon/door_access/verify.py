"""``ireserve access verify``: compare, for every access set the database knows of, what the lock
vendor holds with what should exist — and, asked to, repair what differs.

What should exist follows from the journal and the booking's entitlement now: the grant's CURRENT
set is live (and, while the booking is entitled through a running integration, gives the wanted
doors and window); every other set the journal names is gone (revoked, expired or never made); an
entitled booking has a set; nothing is unresolved. A repair writes what the vendor showed into the
journal (a set found live is recorded as one to settle) and reconciles the grant now, audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from addon.base.public import Host, audit
from addon.booking.public import Booking

from .backend import AccessSet, BackendError, DoorConnection
from .connect import connect_for_access
from .decide import set_matches
from .directory import IntegrationDoors
from .entitlement import Want
from .apply import observe_doors, wanted_of
from .grants import mark_due
from .models import AccessGrant, AccessSetRecord, DoorIntegration, GrantState, SetStatus
from .plan import plan_access
from .reconcile import reconcile_now

log = logging.getLogger(__name__)

# By default, sets of bookings that ended longer ago than this are not read again (--all reads them).
ENDED_LONG_AGO = timedelta(days=1)


@dataclass(frozen=True)
class Mismatch:
    grant_id: int
    booking_reference: str
    integration_id: int
    what: str
    live_set: str | None = None  # a set the vendor holds that the journal must name as one to settle
    reference: str | None = None

    def line(self) -> str:
        return (f"grant {self.grant_id} (booking {self.booking_reference}, integration {self.integration_id}): "
                f"{self.what}")


@dataclass
class Report:
    grants: int = 0
    sets: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # could not be checked (the vendor failed)
    repaired: int = 0

    @property
    def matched(self) -> bool:
        return not self.mismatches and not self.errors


async def _grants(host: Host, integration_id: int | None, everything: bool):
    now = host.clock.now()
    async with host.database.session(read_only=True) as session:
        query = (select(AccessGrant, Booking, DoorIntegration)
                 .join(Booking, Booking.id == AccessGrant.booking_id)
                 .join(DoorIntegration, DoorIntegration.id == AccessGrant.integration_id)
                 .order_by(AccessGrant.id))
        if integration_id is not None:
            query = query.where(AccessGrant.integration_id == integration_id)
        if not everything:
            unsettled = select(AccessSetRecord.grant_id).where(
                AccessSetRecord.status.in_((SetStatus.SENDING, SetStatus.LIVE, SetStatus.CURRENT)))
            query = query.where((Booking.end_at > now - ENDED_LONG_AGO) | AccessGrant.id.in_(unsettled))
        rows = (await session.execute(query)).all()
        records: dict[int, list[AccessSetRecord]] = {}
        if rows:
            for record in (await session.execute(
                    select(AccessSetRecord).where(AccessSetRecord.grant_id.in_([g.id for g, _, _ in rows]))
                    .order_by(AccessSetRecord.id))).scalars():
                records.setdefault(record.grant_id, []).append(record)
        checks = []
        for grant, booking, integration in rows:
            plan = await plan_access(session, integration, booking, now, grant)
            connection = await connect_for_access(host, session, integration, booking.id)
            checks.append((grant, booking, integration, plan, records.get(grant.id, []), connection))
        await session.commit()  # read only; rows stay loaded (no expiry on commit)
    return checks


async def _vendor_has(connection: DoorConnection, record: AccessSetRecord) -> list[AccessSet]:
    """The live sets the vendor holds for one record: by its set id, else by its reference."""
    location = record.location_id or connection.default_location_id
    if not location:
        return []
    if record.set_id:
        found = await connection.read_access_set(location, record.set_id)
        return [found] if found is not None and found.active else []
    if record.reference:
        return [s for s in await connection.find_access_sets(location, record.reference) if s.active]
    return []


async def verify(host: Host, integration_id: int | None = None, *, everything: bool = False,
                 repair: bool = False, say: Callable[[str], None] = lambda line: None) -> Report:
    report = Report()
    for grant, booking, integration, plan, records, connection in await _grants(host, integration_id, everything):
        report.grants += 1

        def mismatch(what: str, live_set: str | None = None, reference: str | None = None) -> None:
            found = Mismatch(grant.id, booking.reference, integration.id, what, live_set, reference)
            report.mismatches.append(found)
            say(found.line())

        try:
            wanted = None
            if plan.want == Want.LIVE and plan.applies:
                await observe_doors(connection, plan, IntegrationDoors(host, integration.id, connection))
                wanted = wanted_of(plan) if not plan.problems else None
            current = None
            for record in records:
                report.sets += 1
                held = await _vendor_has(connection, record)
                status = SetStatus(record.status)
                name = record.set_id or record.reference
                if status == SetStatus.SENDING:
                    mismatch(f"the create of {record.reference} is unresolved (its answer never came)",
                             held[0].id if held else None, record.reference)
                elif status == SetStatus.CURRENT:
                    current = record
                    if plan.want in (Want.NONE, Want.ENDED):
                        if held:
                            mismatch(f"set {name} is live although the booking is not entitled "
                                     f"({plan.want_reason})", held[0].id)
                    elif not held:
                        mismatch(f"set {name} is the booking's access but is not live at the vendor")
                    elif wanted is not None and not set_matches(held[0], wanted):
                        mismatch(f"set {name} gives other doors or another window than the booking's")
                elif held:
                    mismatch(f"set {name} is live at the vendor but recorded as {status.value}", held[0].id,
                             record.reference)
            if plan.want == Want.LIVE and current is None and grant.state != GrantState.FAILED:
                mismatch("the booking is entitled to door access but has no set")
        except BackendError as exc:
            report.errors.append(f"grant {grant.id}: not checked: {exc}")
            say(report.errors[-1])
    if repair and report.mismatches:
        report.repaired = await _repair(host, report.mismatches)
    return report


async def _repair(host: Host, mismatches: list[Mismatch]) -> int:
    """Record every set found live that the journal did not name as one, mark the grants due, audit,
    and reconcile them now."""
    now = host.clock.now()
    grant_ids = sorted({m.grant_id for m in mismatches})
    async with host.database.session() as session:
        for found in mismatches:
            if found.live_set is None:
                continue
            named = (await session.execute(select(AccessSetRecord).where(
                AccessSetRecord.grant_id == found.grant_id, AccessSetRecord.set_id == found.live_set))).scalars().all()
            if not any(r.status in (SetStatus.CURRENT, SetStatus.LIVE) for r in named):
                session.add(AccessSetRecord(grant_id=found.grant_id, set_id=found.live_set, reference=found.reference,
                                            status=SetStatus.LIVE, observed_at=now, created_at=now))
        for grant in (await session.execute(
                select(AccessGrant).where(AccessGrant.id.in_(grant_ids)).with_for_update())).scalars():
            mark_due(grant, now)
        for grant_id in grant_ids:
            await audit.record(session, "access.verify_repair", "grant", grant_id,
                               {"mismatches": [None, [m.what for m in mismatches if m.grant_id == grant_id]]})
        await session.commit()
    await reconcile_now(host, grant_ids)
    return len(grant_ids)
