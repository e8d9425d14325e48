"""`ireserve access verify`: every set the database knows of, compared with what the lock vendor
holds and what should exist; mismatches printed, repaired on request (audited), and the exit status
says whether everything matched."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.door_access.models import AccessSetRecord, SetStatus
from addon.door_access.verify import verify
from addon.door_access.worker import Worker
from tests.door_access.helpers import configured, create_booking, future, grants, journal_of, set_status

pytestmark = pytest.mark.anyio


async def test_everything_in_order_matches(host, gql, memory, vendor):
    _, objects = await configured(gql)
    await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    cancelled = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    await set_status(gql, cancelled["id"], "cancelled")
    report = await verify(host)
    assert report.matched and (report.grants, report.sets) == (2, 2)


async def test_a_set_gone_behind_our_back_and_one_revived_are_found_and_repaired(host, gql, memory, vendor):
    _, objects = await configured(gql)
    kept = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    cancelled = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    await set_status(gql, cancelled["id"], "cancelled")
    vendor.revoke_behind_our_back(kept["access"][0]["authorizationId"])  # the guest's set is gone
    revived = vendor.sets[cancelled["access"][0]["authorizationId"]]  # the cancelled guest's is live again
    revived.access = dataclasses.replace(revived.access, active=True)

    lines = []
    report = await verify(host, say=lines.append)
    assert not report.matched and len(report.mismatches) == 2
    assert any("is the booking's access but is not live at the vendor" in line for line in lines)
    assert any("is live at the vendor but recorded as GONE" in line for line in lines)
    assert report.repaired == 0 and len(vendor.active_sets()) == 1  # nothing changed without --repair

    repaired = await verify(host, repair=True)
    assert repaired.repaired == 2
    await Worker(host).run_until_idle()
    assert (await verify(host)).matched
    [live] = vendor.active_sets()
    [kept_grant] = [g for g in await grants(host) if g.authorization_id == live.access.id]
    assert kept_grant.authorization_id != kept["access"][0]["authorizationId"]  # renewed
    async with host.database.session() as session:
        events = (await session.execute(select(AuditEvent).where(AuditEvent.action == "access.verify_repair"))).scalars()
        assert len(list(events)) == 2


async def test_a_set_under_a_reference_recorded_as_never_made_is_an_orphan_to_revoke(host, gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    await set_status(gql, made["id"], "cancelled")
    [grant] = await grants(host)
    # A create that reached the vendor after the look-up had ruled it out (a request held up for longer
    # than its deadline): recorded as never made, live at the vendor.
    async with host.database.session() as session:
        session.add(AccessSetRecord(grant_id=grant.id, reference="ireserve-late", location_id="house",
                                    status=SetStatus.NEVER))
        await session.commit()
    vendor.sets["late"] = dataclasses.replace(vendor.sets[made["access"][0]["authorizationId"]])
    vendor.sets["late"].access = dataclasses.replace(vendor.sets["late"].access, id="late", active=True,
                                                     external_reference="ireserve-late")
    report = await verify(host, repair=True)
    assert [m.live_set for m in report.mismatches] == ["late"]
    await Worker(host).run_until_idle()
    assert vendor.active_sets() == [] and (await verify(host)).matched
    assert any(r.set_id == "late" and r.status == SetStatus.GONE for r in await journal_of(host, grant.id))


async def test_a_booking_that_ended_with_its_set_expired_matches(host, gql, clock, memory, vendor):
    vendor.clock = clock  # sets expire at the end of their window, as at a real vendor
    _, objects = await configured(gql)
    await create_booking(gql, objects["Studio 1"], future(1), future(2), status="confirmed")
    clock.advance(days=3)
    assert vendor.active_sets() == []
    assert (await verify(host)).matched
