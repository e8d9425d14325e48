"""A guest's link, seen and sent again: ``Booking.access.deliveries`` (where each set's link went,
in which language, what became of it) and ``reissueBookingAccess`` (a new set first, then the old
one revoked; only for active access of a booking entitled now; audited). And the Mapping tab's
``doorMappingChangePreview``, which counts what a save would change and changes nothing. Against
the in-memory vendor."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.door_access.models import AccessGrant
from addon.door_access.worker import Worker
from tests.conftest import GraphQLClient
from tests.door_access.helpers import (
    HOUSE_DOORS,
    configured,
    create_booking,
    create_integration,
    field_value,
    future,
    set_active,
    set_mapping,
    set_status,
)
from tests.support.ids import global_id

pytestmark = pytest.mark.anyio

DELIVERIES = ("access { integration { id } state authorizationId lastVerifiedAt deliveries { setId status resolution "
              "sentAt locale observedAt recipients { email phoneNumber } } }")
REISSUE = (f"mutation($i: ReissueBookingAccessInput!) {{ reissueBookingAccess(input: $i) {{ booking {{ id fields "
           f"{{ code value }} {DELIVERIES} }} errors {{ field code message }} }} }}")
PREVIEW = """query($integrationId: ID!, $objectId: ID!, $doorNames: [String!]!) {
  doorMappingChangePreview(integrationId: $integrationId, objectId: $objectId, doorNames: $doorNames) {
    added removed affectedBookings } }"""
EMAIL, PHONE = "lost.link@example.com", "+31 6 1234 5678"


async def reissue(gql, booking_id, integration_id=None) -> dict:
    data = await gql(REISSUE, {"i": {"bookingId": booking_id, "integrationId": integration_id}})
    return data["reissueBookingAccess"]


async def deliveries_of(gql, booking_id) -> list[dict]:
    data = await gql(f"query($id: ID!) {{ booking(id: $id) {{ {DELIVERIES} }} }}", {"id": booking_id})
    return data["booking"]["access"]


async def test_the_link_s_delivery_is_kept_with_the_set_and_shown_to_staff(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed", email=EMAIL,
                                phone=PHONE, language="fr-BE")
    [access] = await deliveries_of(gql, made["id"])
    [sent] = access["deliveries"]
    assert sent["status"] == "CURRENT" and sent["resolution"] == "CREATED"
    assert sent["setId"] == access["authorizationId"]
    assert sent["recipients"] == [{"email": EMAIL, "phoneNumber": PHONE}] and sent["locale"] == "fr"
    assert sent["sentAt"] and sent["observedAt"] and access["lastVerifiedAt"]
    # What the vendor was sent is what staff see.
    [stored] = vendor.active_sets()
    assert stored.request.recipients[0].email == EMAIL and stored.request.locale == "fr"


async def test_the_frontend_does_not_see_where_a_link_went(gql, tokens, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    body = await gql.raw(f"query($id: ID!) {{ booking(id: $id) {{ {DELIVERIES} }} }}", {"id": made["id"]},
                         token=tokens["frontend"])
    assert body["data"]["booking"]["access"][0]["deliveries"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}


async def test_a_new_link_is_a_new_set_first_then_the_old_one_revoked_and_audited(gql, host, tokens, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed", email=EMAIL)
    old_id = made["access"][0]["authorizationId"]
    # The guest's address changed since: the new link goes where the booking says now.
    await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { code } } }",
              {"i": {"id": made["id"], "customer": {"name": "Guest", "email": "new.address@example.com",
                                                     "language": "nl"}}})
    staff = GraphQLClient(gql.http, tokens["staff"])
    answer = await reissue(staff, made["id"])
    assert answer["errors"] == []
    [access] = answer["booking"]["access"]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    assert field_value(answer["booking"]) == access["authorizationId"]
    new, old = access["deliveries"]  # newest first
    assert (new["setId"], new["status"], new["resolution"]) == (access["authorizationId"], "CURRENT", "CREATED")
    assert new["recipients"] == [{"email": "new.address@example.com", "phoneNumber": None}] and new["locale"] == "nl"
    assert (old["setId"], old["status"], old["resolution"]) == (old_id, "GONE", "REPLACED")
    assert old["recipients"] == [{"email": EMAIL, "phoneNumber": None}]
    # At the vendor: the new set made before the old one was revoked, never a moment without access.
    assert [s.access.id for s in vendor.active_sets()] == [access["authorizationId"]]
    assert vendor.sets[old_id].access.active is False
    assert vendor.calls["create"] == 2 and vendor.calls["revoke"] == 1
    async with host.database.session() as session:
        [event] = (await session.execute(select(AuditEvent).where(AuditEvent.action == "access.reissue"))).scalars()
    assert event.changes == {"reference": [None, made["reference"]], "integration": [None, "Duinpark doors"]}


async def test_with_the_vendor_down_the_old_link_keeps_working_until_the_new_one_exists(gql, host, clock, memory,
                                                                                        vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    vendor.fail("create", kind="transient", times=1)
    answer = await reissue(gql, made["id"])
    assert answer["errors"] == []
    assert [s.access.id for s in vendor.active_sets()] == [old_id], "not revoked before a new one exists"
    sending, old = answer["booking"]["access"][0]["deliveries"]
    assert sending["status"] == "SENDING", "the create's answer was lost: looked up by its reference next time"
    assert (old["setId"], old["status"]) == (old_id, "LIVE"), "to revoke, once the new one exists"
    clock.advance(3600)
    await Worker(host).run_until_idle()
    [access] = await deliveries_of(gql, made["id"])
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    assert [s.access.id for s in vendor.active_sets()] == [access["authorizationId"]]
    assert vendor.sets[old_id].access.active is False


async def test_a_new_link_is_refused_clearly_when_there_is_none_to_replace(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)
    unconfirmed = await create_booking(gql, objects["Studio 1"], future(), future(11))
    refused = await reissue(gql, unconfirmed["id"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "bookingId")]
    assert refused["booking"] is None

    cancelled = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    await set_status(gql, cancelled["id"], "cancelled")
    refused = await reissue(gql, cancelled["id"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ACTIVE", "bookingId")]
    assert "Resync" in refused["errors"][0]["message"]

    # Access still live, but the booking is not entitled to new access now (the integration is off).
    live = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    assert (await set_active(gql, integration_id, False))["errors"] == []
    refused = await reissue(gql, live["id"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_ENTITLED", "bookingId")]
    assert "Duinpark doors" in refused["errors"][0]["message"]
    assert vendor.calls["create"] == 2, "nothing was sent"
    async with host.database.session() as session:
        assert (await session.execute(select(AuditEvent).where(AuditEvent.action == "access.reissue"))).first() is None
        assert all(g.next_attempt_at is None for g in (await session.execute(select(AccessGrant))).scalars())


async def test_with_several_integrations_the_new_link_names_its_integration(gql, memory, vendor):
    first_id, objects = await configured(gql)
    second = await create_integration(gql, name="Meeting room only", triggerStatuses=["confirmed"])
    second_id = second["integration"]["id"]
    assert (await set_mapping(gql, second_id, objects["Studio building"], ["Meeting room door"]))["errors"] == []
    assert (await set_active(gql, second_id))["errors"] == []
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    before = {a["integration"]["id"]: a["authorizationId"] for a in made["access"]}

    refused = await reissue(gql, made["id"])
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("REQUIRED", "integrationId")]
    answer = await reissue(gql, made["id"], second_id)
    assert answer["errors"] == []
    after = {a["integration"]["id"]: a["authorizationId"] for a in answer["booking"]["access"]}
    assert after[first_id] == before[first_id] and after[second_id] != before[second_id]


async def test_only_staff_and_admins_send_a_new_link(gql, tokens, memory):
    body = await gql.raw(REISSUE, {"i": {"bookingId": "1"}}, token=tokens["frontend"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# -- the Mapping tab's preview ---------------------------------------------------------------------

async def test_the_mapping_preview_counts_what_a_save_would_change_and_changes_nothing(gql, host, memory, vendor):
    integration_id, objects = await configured(gql)  # Studio building → Main door, Side door
    assert (await set_mapping(gql, integration_id, objects["Studio 2"], ["Meeting room door"]))["errors"] == []
    for name in ("Studio 1", "Studio building", "Studio 2"):
        await create_booking(gql, objects[name], future(), future(11), status="confirmed")
    calls = dict(vendor.calls)

    async def preview(object_name, names):
        return (await gql(PREVIEW, {"integrationId": integration_id, "objectId": objects[object_name],
                                    "doorNames": names}))["doorMappingChangePreview"]

    # Studio 1 follows the building; Studio 2 has its own mapping.
    assert await preview("Studio building", ["Main door"]) == {
        "added": [], "removed": ["Side door"], "affectedBookings": 2}
    assert await preview("Studio building", HOUSE_DOORS) == {"added": [], "removed": [], "affectedBookings": 0}
    assert await preview("Studio 2", []) == {"added": [], "removed": ["Meeting room door"], "affectedBookings": 1}
    assert await preview("Studio 1", ["Side door", "Meeting room door"]) == {
        "added": ["Side door", "Meeting room door"], "removed": [], "affectedBookings": 1}
    assert vendor.calls == calls, "the vendor was not asked"
    async with host.database.session() as session:
        assert all(g.next_attempt_at is None for g in (await session.execute(select(AccessGrant))).scalars())
    # The count is the one the save then answers.
    saved = await set_mapping(gql, integration_id, objects["Studio building"], ["Main door"])
    assert saved["errors"] == []
    data = await gql("mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { affectedBookings } }",
                     {"i": {"integrationId": integration_id, "objectId": objects["Studio 2"], "doorNames": []}})
    assert data["setDoorMapping"]["affectedBookings"] == 1


async def test_the_mapping_preview_of_an_unknown_object_is_an_error(gql, memory):
    integration_id, _ = await configured(gql)
    body = await gql.raw(PREVIEW, {"integrationId": integration_id, "objectId": global_id("BookableObject", 9999),
                                   "doorNames": []})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
