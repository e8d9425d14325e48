"""The audit trail of door access: the Details tab, activation, the Mapping tab and the repair
tools, each recorded with the token that did it and old → new values; nothing when nothing changed
or the change was refused. Against the in-memory vendor."""

from __future__ import annotations

from datetime import datetime

import pytest

from addon.door_access.worker import Worker
from tests.base.test_audit_trail import (
    actions,
    audit_events,
    changes,
    client,
    only_event,
)
from tests.door_access.helpers import (
    AUTH_FIELD,
    HOUSE_DOORS,
    configured,
    create_booking,
    create_booking_field,
    create_integration,
    create_objects,
    future,
    set_active,
    set_mapping,
    set_status,
    update_integration,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

RESYNC = ("mutation($i: BookingAccessInput!) { resyncBookingAccess(input: $i) {"
          " booking { id } errors { field code } } }")
REVOKE = ("mutation($i: BookingAccessInput!) { revokeBookingAccess(input: $i) {"
          " booking { id } errors { field code } } }")
RETRY = "mutation($i: RetryFailedAccessInput!) { retryFailedAccess(input: $i) { requeued errors { field code } } }"
RESYNC_ACCESS = "mutation($i: ResyncAccessInput!) { resyncAccess(input: $i) { queued errors { field code } } }"
ADMIN = {"kind": "TOKEN", "name": "test-admin"}
STAFF = {"kind": "TOKEN", "name": "test-staff"}


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60"}


def who(event: dict) -> dict:
    return {"kind": event["actor"]["kind"], "name": event["actor"]["name"]}


async def integration_events(gql, integration_id) -> list[str]:
    return await actions(gql, targetType="integration", targetId=integration_id)


# -- the Details tab ------------------------------------------------------------------------------

async def test_integration_create_and_update_old_to_new(gql, memory):
    await create_booking_field(gql)
    created = await create_integration(gql)
    ident = created["integration"]["id"]

    event = await only_event(gql, "integration.create")
    assert who(event) == ADMIN and event["target"] == {"type": "integration", "id": ident}
    assert changes(event) == {
        "name": [None, "Duinpark doors"], "backend": [None, "memory"],
        "trigger_statuses": [None, ["confirmed", "paid"]], "revoke_statuses": [None, ["cancelled"]],
        "time_before_minutes": [None, 30], "authorization_id_field": [None, AUTH_FIELD],
        "default_language": [None, "nl"]}

    updated = await update_integration(gql, ident, name="Dune doors", timeBeforeMinutes=60,
                                       triggerStatuses=["confirmed"], authorizationIdField=None, defaultLanguage="nl")
    assert updated["errors"] == []
    event = await only_event(gql, "integration.update")
    assert who(event) == ADMIN and event["target"] == {"type": "integration", "id": ident}
    assert changes(event) == {"name": ["Duinpark doors", "Dune doors"], "time_before_minutes": [30, 60],
                              "trigger_statuses": [["confirmed", "paid"], ["confirmed"]],
                              "authorization_id_field": [AUTH_FIELD, None]}, "only what changed"


async def test_update_that_changes_nothing_or_is_refused_records_nothing(gql, memory):
    ident, _ = await configured(gql)
    before = await integration_events(gql, ident)
    assert before == ["integration.activate", "mapping.set", "integration.create"]

    same = await update_integration(gql, ident, name="Duinpark doors", timeBeforeMinutes=30,
                                    triggerStatuses=["confirmed", "paid", "confirmed"])
    assert same["errors"] == []
    unknown = await update_integration(gql, ident, name="Renamed", revokeStatuses=["no-such-status"])
    assert [e["code"] for e in unknown["errors"]] == ["NOT_FOUND"]
    # Valid on its own, but an active integration must stay runnable: refused after it was applied.
    incomplete = await update_integration(gql, ident, name="Renamed", authorizationIdField=None)
    assert [e["field"] for e in incomplete["errors"]] == ["authorizationIdField"]

    assert await integration_events(gql, ident) == before
    assert await actions(gql, action="integration.update") == []


# -- activation -----------------------------------------------------------------------------------

async def test_activation_with_bookings_queued_and_deactivation(host, gql, memory, vendor):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    ident = (await create_integration(gql))["integration"]["id"]
    assert [e["field"] for e in (await set_active(gql, ident))["errors"]] == ["mapping"]
    assert await actions(gql, action="integration.activate") == [], "a refused activation is not recorded"

    assert (await set_mapping(gql, ident, objects["Studio building"], HOUSE_DOORS))["errors"] == []
    for day in (10, 20):  # confirmed while the integration was off: activation queues them
        await create_booking(gql, objects["Studio 1"], future(day), future(day + 1), status="confirmed")
    await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")  # not mapped
    assert (await set_active(gql, ident))["errors"] == []
    activated = await only_event(gql, "integration.activate")
    assert who(activated) == ADMIN and activated["target"] == {"type": "integration", "id": ident}
    assert changes(activated) == {"active": [False, True], "bookings_queued": [None, 2]}
    assert await Worker(host).run_until_idle() == 2

    assert (await set_active(gql, ident))["errors"] == []  # already active: nothing changes
    assert (await set_active(gql, ident, False))["errors"] == []
    assert (await set_active(gql, ident, False))["errors"] == []
    deactivated = await only_event(gql, "integration.deactivate")
    assert changes(deactivated) == {"active": [True, False]}
    assert await actions(gql, action="integration.activate") == ["integration.activate"]


# -- the Mapping tab ------------------------------------------------------------------------------

async def test_mapping_set_changed_and_removed(gql, memory):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    ident = (await create_integration(gql))["integration"]["id"]
    building, room = objects["Studio building"], objects["Meeting room"]

    assert (await set_mapping(gql, ident, building, ["Main door"]))["errors"] == []
    assert (await set_mapping(gql, ident, building, ["Main door"]))["errors"] == []  # the same: nothing
    assert (await set_mapping(gql, ident, building, HOUSE_DOORS))["errors"] == []
    unknown = await set_mapping(gql, ident, building, ["Main door", "Garage door"])
    assert [e["code"] for e in unknown["errors"]] == ["UNKNOWN_DOOR"]
    assert (await set_mapping(gql, ident, room, ["Meeting room door"]))["errors"] == []
    assert (await set_mapping(gql, ident, building, []))["errors"] == []
    assert (await set_mapping(gql, ident, building, []))["errors"] == []  # nothing left to remove

    found = await audit_events(gql, action="mapping")
    assert [e["action"] for e in found] == ["mapping.remove", "mapping.set", "mapping.set", "mapping.set"]
    assert all(who(e) == ADMIN and e["target"] == {"type": "integration", "id": ident} for e in found)
    removed, room_set, changed, first = found
    assert changes(first) == {"object_id": [None, row_id(building)], "object": [None, "Studio building"],
                              "door_names": [None, ["Main door"]]}
    assert changes(changed)["door_names"] == [["Main door"], HOUSE_DOORS]
    assert changes(room_set) == {"object_id": [None, row_id(room)], "object": [None, "Meeting room"],
                                 "door_names": [None, ["Meeting room door"]]}
    assert changes(removed) == {"object_id": [None, row_id(building)], "object": [None, "Studio building"],
                                "door_names": [HOUSE_DOORS, None]}


async def test_refused_removal_of_the_last_mapping_records_nothing(gql, memory):
    ident, objects = await configured(gql)
    refused = await set_mapping(gql, ident, objects["Studio building"], [])
    assert [e["code"] for e in refused["errors"]] == ["REQUIRED"]
    assert await actions(gql, action="mapping") == ["mapping.set"]


# -- repairs --------------------------------------------------------------------------------------

async def test_resync_and_revoke_name_the_staff_token_and_the_booking(gql, tokens, memory, vendor):
    _, objects = await configured(gql)
    staff = client(gql, tokens, "staff")
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    elsewhere = await create_booking(gql, objects["Meeting room"], future(), future(11), status="confirmed")

    assert (await staff(RESYNC, {"i": {"bookingId": made["id"]}}))["resyncBookingAccess"]["errors"] == []
    # No integration applies to the meeting room: nothing to resync, nothing done.
    assert (await staff(RESYNC, {"i": {"bookingId": elsewhere["id"]}}))["resyncBookingAccess"]["errors"] == []
    resynced = await only_event(gql, "access.resync")
    assert who(resynced) == STAFF and resynced["target"] == {"type": "booking", "id": made["id"]}
    assert changes(resynced) == {"reference": [None, made["reference"]], "grants": [None, 1]}

    refused = (await staff(REVOKE, {"i": {"bookingId": elsewhere["id"]}}))["revokeBookingAccess"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert await actions(gql, action="access.revoke") == []
    assert (await staff(REVOKE, {"i": {"bookingId": made["id"]}}))["revokeBookingAccess"]["errors"] == []
    revoked = await only_event(gql, "access.revoke")
    assert who(revoked) == STAFF and revoked["target"] == {"type": "booking", "id": made["id"]}
    assert changes(revoked) == {"reference": [None, made["reference"]], "grants": [None, 1]}
    assert vendor.active_sets() == []


async def test_retry_failed_records_how_many_and_nothing_when_none(host, gql, memory, vendor):
    ident, objects = await configured(gql)
    vendor.fail("create", kind="permanent", status=422, times=2)
    for day in (10, 20):
        made = await create_booking(gql, objects["Studio 1"], future(day), future(day + 1), status="confirmed")
        assert made["access"][0]["state"] == "FAILED"

    assert (await gql(RETRY, {"i": {"integrationId": ident}}))["retryFailedAccess"] == {"requeued": 2, "errors": []}
    assert await Worker(host).run_until_idle() == 2
    assert (await gql(RETRY, {"i": {"integrationId": ident}}))["retryFailedAccess"]["requeued"] == 0
    event = await only_event(gql, "access.retry_failed")
    assert who(event) == ADMIN and event["target"] == {"type": "integration", "id": ident}
    assert changes(event) == {"requeued": [None, 2]}


async def test_bulk_resync_records_its_filters_and_count(gql, tokens, memory, vendor):
    ident, objects = await configured(gql)
    staff = client(gql, tokens, "staff")
    for day in (10, 20):
        await create_booking(gql, objects["Studio 1"], future(day), future(day + 1), status="confirmed")

    async def resync_access(**filters) -> dict:
        return (await staff(RESYNC_ACCESS, {"i": filters}))["resyncAccess"]

    assert (await resync_access(objectId=objects["Meeting room"]))["queued"] == 0, "nothing matched: nothing done"
    assert [e["code"] for e in (await resync_access(startsFrom=future(1), startsUntil=future(0)))["errors"]] == ["INVALID"]
    assert await actions(gql, action="access.bulk_resync") == []

    assert (await resync_access(integrationId=ident, objectId=objects["Studio building"], startsFrom=future(15),
                                states=["ACTIVE", "FAILED"]))["queued"] == 1
    assert (await resync_access())["queued"] == 2
    everything, filtered = await audit_events(gql, action="access.bulk_resync")
    assert who(filtered) == STAFF and filtered["target"] == {"type": "integration", "id": ident}
    [since] = [c["new"] for c in filtered["changes"] if c["field"] == "starts_from"]
    assert changes(filtered) == {"integration_id": [None, row_id(ident)], "object_id": [None, row_id(objects["Studio building"])],
                                 "starts_from": [None, since], "states": [None, ["ACTIVE", "FAILED"]],
                                 "queued": [None, 1]}
    assert datetime.fromisoformat(since) == datetime.fromisoformat(future(15))
    assert everything["target"] is None and changes(everything) == {"queued": [None, 2]}


async def test_status_changes_are_in_the_history_not_the_trail(gql, tokens, memory):
    _, objects = await configured(gql)
    staff = client(gql, tokens, "staff")
    made = await create_booking(staff, objects["Studio 1"], future(), future(11))
    await set_status(staff, made["id"], "confirmed")
    history = (await gql("query($id: ID!) { booking(id: $id) { history { by } } }", {"id": made["id"]}))
    assert [h["by"] for h in history["booking"]["history"]] == ["token:test-staff", "token:test-staff"]
    assert await actions(gql, actorName="test-staff") == []
