"""Door access follows the booking: granted on a trigger status, revoked on a revoke status,
changed with the booking, retried when the lock vendor is down. Against the in-memory vendor."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from addon.door_access.backend import Recipient
from addon.door_access.worker import Worker
from tests.door_access.helpers import (
    HOUSE_DOORS,
    booking,
    configured,
    create_booking,
    field_value,
    future,
    set_active,
    set_mapping,
    set_status,
)

pytestmark = pytest.mark.anyio

RETRY_MAX_SECONDS = 60
UPDATE_BOOKING = ("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } booking {"
                  " fields { code value } access { state authorizationId validTo lastError } } } }")


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": str(RETRY_MAX_SECONDS)}


def in_utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def wait_out_backoff(clock) -> None:
    """Time enough for any backoff to be over (the longest is IRESERVE_RETRY_MAX)."""
    clock.advance(RETRY_MAX_SECONDS + 1)


def record_call_order(vendor) -> list[str]:
    """The vendor's operations in the order they are called from now on."""
    order: list[str] = []
    original = vendor.call

    async def recording(operation, work):
        order.append(operation)
        return await original(operation, work)

    vendor.call = recording
    return order


async def test_grant_on_confirm_and_revoke_on_cancel(gql, memory, vendor):
    _, objects = await configured(gql)
    start, end = future(10, 15), future(12, 10)
    created = await create_booking(gql, objects["Studio 1"], start, end, language="de", email="anna@example.de")
    assert created["access"] == []  # option is neither trigger nor revoke

    confirmed = await set_status(gql, created["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "ACTIVE", access
    assert {d["id"] for d in access["doors"]} == {"d-main", "d-side"}
    [made] = vendor.active_sets()
    assert len(vendor.sets) == 1
    assert sorted(made.access.door_ids) == ["d-main", "d-side"]
    assert made.access.valid_from == in_utc(start) - timedelta(minutes=30)
    assert made.access.valid_to == in_utc(end)
    assert made.request.locale == "de"
    assert list(made.request.recipients) == [Recipient(email="anna@example.de")]
    assert made.location_id == "house"
    assert field_value(confirmed) == made.access.id == access["authorizationId"]

    cancelled = await set_status(gql, created["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s.access.active for s in vendor.sets.values()] == [False]


async def test_sub_object_mapping_beats_parent(gql, memory, vendor):
    integration_id, objects = await configured(gql)
    result = await set_mapping(gql, integration_id, objects["Studio 2"], ["Meeting room door"])
    assert result["errors"] == []
    two = await create_booking(gql, objects["Studio 2"], future(5), future(6), status="confirmed")
    one = await create_booking(gql, objects["Studio 1"], future(5), future(6), status="confirmed")
    assert [d["name"] for d in two["access"][0]["doors"]] == ["Meeting room door"]
    assert sorted(d["name"] for d in one["access"][0]["doors"]) == sorted(HOUSE_DOORS)
    by_id = {s.access.id: sorted(s.access.door_ids) for s in vendor.active_sets()}
    assert by_id == {two["access"][0]["authorizationId"]: ["d-room"],
                     one["access"][0]["authorizationId"]: ["d-main", "d-side"]}


@pytest.mark.parametrize("language, expected", [(None, "nl"), ("ar", "nl"), ("de-CH", "de"), ("FR", "fr")])
async def test_locale_falls_back_to_default(gql, memory, vendor, language, expected):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), language=language, status="confirmed")
    assert made["access"][0]["locale"] == expected
    [sent] = vendor.active_sets()
    assert sent.request.locale == expected


async def test_window_across_dst_change_is_exact_in_utc(gql, memory, vendor):
    _, objects = await configured(gql)
    # Europe/Amsterdam leaves summer time on the last Sunday of October: +02:00 before, +01:00 after.
    year = datetime.now(timezone.utc).year + 1
    made = await create_booking(gql, objects["Studio 1"], f"{year}-10-24T15:00:00+02:00",
                                f"{year}-10-31T10:00:00+01:00", status="confirmed")
    [sent] = vendor.active_sets()
    assert sent.access.valid_from == datetime(year, 10, 24, 12, 30, tzinfo=timezone.utc)
    assert sent.access.valid_to == datetime(year, 10, 31, 9, 0, tzinfo=timezone.utc)
    assert made["access"][0]["state"] == "ACTIVE"


async def test_moving_between_trigger_statuses_makes_one_set(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    for status, force in (("confirmed", False), ("paid", False), ("confirmed", True)):
        result = await set_status(gql, made["id"], status, force=force)  # back to confirmed: an admin's move
        assert result["access"][0]["state"] == "ACTIVE"
    assert len(vendor.sets) == 1
    assert vendor.calls["create"] == 1


@pytest.mark.all_databases
async def test_concurrent_double_confirm_makes_one_set(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await asyncio.gather(*(set_status(gql, made["id"], "confirmed") for _ in range(4)))
    assert len(vendor.sets) == 1
    assert vendor.calls["create"] == 1
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"


async def test_vendor_down_leaves_pending_and_worker_finishes(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail(kind="transient", times=1000)
    result = await set_status(gql, made["id"], "confirmed")
    assert result["status"]["code"] == "confirmed"
    assert result["access"][0]["state"] == "PENDING"
    assert "503" in (result["access"][0]["lastError"] or "")
    assert vendor.sets == {}

    vendor.clear_faults()
    assert await Worker(host).run_until_idle() == 0  # not due before its backoff is over
    wait_out_backoff(clock)
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert len(vendor.active_sets()) == 1


async def test_retry_after_is_honoured(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="transient", status=429, retry_after=120)
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING"
    wait = datetime.fromisoformat(access["nextAttemptAt"]) - clock.now()
    # Retry-After, although the configured backoff is at most a minute.
    assert timedelta(seconds=119) < wait <= timedelta(seconds=121)
    assert await Worker(host).run_until_idle() == 0  # not due before Retry-After


async def test_lost_create_answer_is_adopted(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail("create", kind="lost")
    result = await set_status(gql, made["id"], "confirmed")
    assert result["access"][0]["state"] == "PENDING"
    assert len(vendor.active_sets()) == 1  # the vendor did act

    wait_out_backoff(clock)
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    [only] = vendor.sets.values()
    assert only.access.active
    assert after["access"][0]["state"] == "ACTIVE"
    assert after["access"][0]["authorizationId"] == only.access.id == field_value(after)
    assert vendor.calls["create"] == 1  # adopted, not made again
    assert vendor.calls["find"] >= 1


async def test_unknown_doors_fail_naming_door_and_place(gql, memory, vendor):
    _, objects = await configured(gql)
    vendor.doors = [d for d in vendor.doors if d.name not in HOUSE_DOORS]  # removed at the vendor after mapping
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = made["access"][0]
    assert access["state"] == "FAILED"
    assert "'Side door'" in access["lastError"] and "'Main door'" in access["lastError"]
    assert "the memory lock" in access["lastError"]
    assert vendor.sets == {}
    assert vendor.calls["create"] == 0


async def test_a_door_that_no_longer_resolves_is_a_warning_while_others_open(gql, memory, vendor):
    """Nothing usable is not the same as something missing: the guest gets the doors that work."""
    _, objects = await configured(gql)
    vendor.doors = [d for d in vendor.doors if d.name != "Side door"]
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = made["access"][0]
    assert access["state"] == "ACTIVE" and [d["name"] for d in access["doors"]] == ["Main door"]
    [made_set] = vendor.active_sets()
    assert made_set.access.door_ids == ("d-main",)
    warnings = (await gql("query($id: ID!) { booking(id: $id) { access { warnings } } }",
                          {"id": made["id"]}))["booking"]["access"][0]["warnings"]
    assert warnings == ["Door 'Side door' does not exist on the memory lock."]


async def test_date_change_replaces_the_set_new_first_then_old_revoked(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    order = record_call_order(vendor)
    new_end = future(13, 10)
    data = await gql(UPDATE_BOOKING, {"i": {"id": made["id"], "end": new_end}})
    updated = data["updateBooking"]["booking"]
    access = updated["access"][0]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    assert field_value(updated) == access["authorizationId"]
    assert not vendor.sets[old_id].access.active
    new = vendor.sets[access["authorizationId"]]
    assert new.access.active and new.access.valid_to == in_utc(new_end)
    # No gap in access: the new set exists before the old one is revoked.
    assert [op for op in order if op in ("create", "revoke")] == ["create", "revoke"]


async def test_change_that_keeps_doors_and_window_calls_nothing(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    before = dict(vendor.calls)
    # Studio 1 → Studio 2: both use the parent's mapping, so doors and window stay the same.
    data = await gql(UPDATE_BOOKING, {"i": {"id": made["id"], "objectId": objects["Studio 2"]}})
    assert data["updateBooking"]["errors"] == []
    assert vendor.calls["create"] == before["create"]
    assert vendor.calls["revoke"] == before.get("revoke", 0)
    [only] = vendor.sets.values()
    assert only.access.active and only.access.id == made["access"][0]["authorizationId"]
    assert data["updateBooking"]["booking"]["access"][0]["state"] == "ACTIVE"


async def test_unmapped_or_inactive_calls_nothing(gql, memory, vendor):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")
    assert made["access"] == []  # the integration maps no doors there: it does not apply, nothing fails
    assert (await set_active(gql, integration_id, False))["errors"] == []
    other = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert other["access"] == []
    assert vendor.sets == {}
    assert vendor.calls["create"] == 0


async def test_cancel_before_create_cancels_it(gql, host, clock, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    vendor.fail(kind="transient", times=1000)
    pending = await set_status(gql, made["id"], "confirmed")
    assert pending["access"][0]["state"] == "PENDING"
    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["desired"] == "REVOKED"
    vendor.clear_faults()
    wait_out_backoff(clock)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "REVOKED"
    assert vendor.active_sets() == []
    assert vendor.calls["create"] == 0  # never made, not made and revoked
