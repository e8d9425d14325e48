"""Door access follows the booking (the seed's acceptance scenario first), against the sandbox."""

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from addon.resivo.worker import Worker
from tests.integration.helpers import (
    STUDIO_DOORS,
    booking,
    configured,
    create_booking,
    field_value,
    sandbox_sets,
    set_mapping,
    set_status,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides():
    return {"reconcile_wait_seconds": 10.0, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05,
            "resivo_read_timeout": 0.5, "resivo_connect_timeout": 0.5}


def future(days=10, hour=15, tz="+02:00"):
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00{tz}"


def utc_z(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_acceptance_grant_on_confirm_and_revoke_on_cancel(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    start, end = future(10, 15), future(12, 10)
    created = await create_booking(gql, objects["Studio 1"], start, end, language="de", email="anna@example.de")
    assert created["access"] == []  # option is neither trigger nor revoke

    confirmed = await set_status(gql, created["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "ACTIVE", access
    assert {d["id"] for d in access["doors"]} == {"duinpark-studio-main", "duinpark-studio-side"}
    sets = await sandbox_sets(sandbox)
    assert len(sets) == 1
    [made] = sets
    assert made["status"] == "active"
    assert sorted(made["componentIds"]) == ["duinpark-studio-main", "duinpark-studio-side"]
    expected_from = (datetime.fromisoformat(start) - timedelta(minutes=30)).astimezone(timezone.utc)
    assert made["restrictions"]["validFrom"] == expected_from.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert made["restrictions"]["validTo"] == utc_z(end)
    assert made["locale"] == "de"
    assert made["recipients"] == [{"email": "anna@example.de"}]
    assert made["siteId"] == "demo-site"
    assert field_value(confirmed) == made["id"] == access["authorizationId"]

    cancelled = await set_status(gql, created["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["revoked"]


async def test_sub_object_mapping_beats_parent(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    result = await set_mapping(gql, integration_id, objects["Studio 2"], ["Meeting room door"])
    assert result["errors"] == []
    two = await create_booking(gql, objects["Studio 2"], future(5), future(6), status="confirmed")
    one = await create_booking(gql, objects["Studio 1"], future(5), future(6), status="confirmed")
    assert [d["name"] for d in two["access"][0]["doors"]] == ["Meeting room door"]
    assert sorted(d["name"] for d in one["access"][0]["doors"]) == sorted(STUDIO_DOORS)


@pytest.mark.parametrize("language, expected", [(None, "nl"), ("ar", "nl"), ("de-CH", "de"), ("FR", "fr")])
async def test_locale_falls_back_to_default(gql, connector, sandbox, language, expected):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), language=language, status="confirmed")
    assert made["access"][0]["locale"] == expected
    [sent] = await sandbox_sets(sandbox)
    assert sent["locale"] == expected


async def test_window_across_dst_change_is_exact_in_utc(gql, connector, sandbox):
    _, objects = await configured(gql)
    # Europe/Amsterdam leaves summer time on the last Sunday of October: +02:00 before, +01:00 after.
    year = datetime.now(timezone.utc).year + 1
    made = await create_booking(gql, objects["Studio 1"], f"{year}-10-24T15:00:00+02:00",
                                f"{year}-10-31T10:00:00+01:00", status="confirmed")
    [sent] = await sandbox_sets(sandbox)
    assert sent["restrictions"] == {"validFrom": f"{year}-10-24T12:30:00Z", "validTo": f"{year}-10-31T09:00:00Z"}
    assert made["access"][0]["state"] == "ACTIVE"


async def test_moving_between_trigger_statuses_makes_one_set(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    for status in ("confirmed", "paid", "confirmed"):
        result = await set_status(gql, made["id"], status)
        assert result["access"][0]["state"] == "ACTIVE"
    assert len(await sandbox_sets(sandbox)) == 1


async def test_concurrent_double_confirm_makes_one_set(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await asyncio.gather(*(set_status(gql, made["id"], "confirmed") for _ in range(4)))
    assert len(await sandbox_sets(sandbox)) == 1
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"


async def test_resivo_down_leaves_pending_and_worker_finishes(gql, host, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    result = await set_status(gql, made["id"], "confirmed")
    assert result["status"]["code"] == "confirmed"
    assert result["access"][0]["state"] == "PENDING"
    assert "503" in (result["access"][0]["lastError"] or "")
    assert await sandbox_sets(sandbox) == []

    await sandbox.delete("/_sandbox/faults")
    await asyncio.sleep(0.1)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "ACTIVE"
    assert len(await sandbox_sets(sandbox)) == 1


async def test_retry_after_is_honoured(gql, host, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 429, "count": 1,
                                                 "operation": "create_remote_access", "retryAfter": 120})
    result = await set_status(gql, made["id"], "confirmed")
    access = result["access"][0]
    assert access["state"] == "PENDING"
    wait = datetime.fromisoformat(access["nextAttemptAt"]) - datetime.now(timezone.utc)
    assert timedelta(seconds=110) < wait <= timedelta(seconds=121)
    assert await Worker(host).run_until_idle() == 0  # not due before Retry-After


async def test_lost_create_answer_is_adopted(gql, host, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "drop_answer", "count": 1, "operation": "create_remote_access"})
    result = await set_status(gql, made["id"], "confirmed")
    assert result["access"][0]["state"] == "PENDING"
    assert len(await sandbox_sets(sandbox)) == 1  # Resivo did act

    await asyncio.sleep(0.1)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    [only] = await sandbox_sets(sandbox)
    assert after["access"][0]["state"] == "ACTIVE"
    assert after["access"][0]["authorizationId"] == only["id"] == field_value(after)


async def test_unknown_door_fails_with_door_and_site(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    await sandbox.delete("/_sandbox/sites/demo-site/components/duinpark-studio-side")
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = made["access"][0]
    assert access["state"] == "FAILED"
    assert "Studio building side door" in access["lastError"] and "Duinpark" in access["lastError"]
    assert await sandbox_sets(sandbox) == []


async def test_date_change_replaces_the_authorization(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    new_end = future(13, 10)
    data = await gql(
        "mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } booking {"
        " fields { code value } access { state authorizationId validTo } } } }",
        {"i": {"id": made["id"], "end": new_end}},
    )
    updated = data["updateBooking"]["booking"]
    access = updated["access"][0]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    assert field_value(updated) == access["authorizationId"]
    sets = {s["id"]: s for s in await sandbox_sets(sandbox)}
    assert sets[old_id]["status"] == "revoked"
    assert sets[access["authorizationId"]]["status"] == "active"
    assert sets[access["authorizationId"]]["restrictions"]["validTo"] == utc_z(new_end)


async def test_change_that_keeps_doors_and_window_calls_nothing(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    stats_before = (await sandbox.get("/_sandbox/stats")).json()
    # Studio 1 → Studio 2: both use the parent's mapping, so doors and window stay the same.
    await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } } }",
              {"i": {"id": made["id"], "objectId": objects["Studio 2"]}})
    stats_after = (await sandbox.get("/_sandbox/stats")).json()
    assert stats_after.get("calls", stats_after).get("create_remote_access") == stats_before.get("calls", stats_before).get("create_remote_access")
    assert len(await sandbox_sets(sandbox)) == 1


async def test_unmapped_or_inactive_calls_nothing(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")
    assert made["access"][0]["state"] == "FAILED"
    assert "no door mapping" in made["access"][0]["lastError"]
    await gql("mutation($i: SetResivoIntegrationActiveInput!) { setResivoIntegrationActive(input: $i) { errors { message } } }",
              {"i": {"integrationId": integration_id, "active": False}})
    other = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert other["access"] == []
    assert await sandbox_sets(sandbox) == []


async def test_cancel_before_create_cancels_it(gql, host, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1000})
    pending = await set_status(gql, made["id"], "confirmed")
    assert pending["access"][0]["state"] == "PENDING"
    cancelled = await set_status(gql, made["id"], "cancelled")
    await sandbox.delete("/_sandbox/faults")
    await asyncio.sleep(0.1)
    await Worker(host).run_until_idle()
    after = await booking(gql, made["id"])
    assert after["access"][0]["state"] == "REVOKED"
    assert [s for s in await sandbox_sets(sandbox) if s["status"] == "active"] == []
