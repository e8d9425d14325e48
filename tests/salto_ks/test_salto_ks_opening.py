"""Salto KS end to end through the core's open-on-request model, against the sandbox: a booking at a
status the lock may open from gets the product's own open link; the guest page opens the lock at
the sandbox, which writes the open time and checks the guest in; outside the window, after a
cancellation, with the IQ offline or its PIN changed elsewhere nothing opens and the guest (and
staff) read why; a lost answer to an open never checks in twice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from addon.door_access.on_request.opening import confirm_openings
from tests.door_access.helpers import create_booking, create_booking_field, create_objects, set_active, set_mapping
from tests.salto_ks.host_helpers import activated_integration

pytestmark = pytest.mark.anyio

OPEN_FIELD = "door_first_opened_at"
ACCESS = ("query($id: ID!) { booking(id: $id) { status { code } fields { code value } access { state accessModel"
          " openLink { url } openings { door result confirmed checkedIn refusal message } } } }")


def soon(hours: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


async def guided_set_up(gql) -> tuple[str, dict]:
    """The Salto KS guide: Authentication, Resolve site ID, IQ OTP setup, Details, Mapping, Activate."""
    await create_booking_field(gql, OPEN_FIELD)
    objects = await create_objects(gql)
    ident = await activated_integration(gql, triggerStatuses=["confirmed", "paid", "checked_in"], revokeStatuses=[],
                                        timeBeforeMinutes=30, openActionField=OPEN_FIELD,
                                        checkinStatus="checked_in", defaultLanguage="nl")
    assert (await set_mapping(gql, ident, objects["Studio 1"], ["Studio 1 entrance"]))["errors"] == []
    activated = await set_active(gql, ident)
    assert activated["errors"] == [], activated
    return ident, objects


async def booked(gql, objects, start_hours: float, language: str = "nl") -> tuple[str, str]:
    made = await create_booking(gql, objects["Studio 1"], soon(start_hours), soon(48), status="confirmed",
                                language=language)
    [access] = (await gql(ACCESS, {"id": made["id"]}))["booking"]["access"]
    assert (access["state"], access["accessModel"]) == ("ACTIVE", "OPENS_ON_REQUEST"), access
    return made["id"], access["openLink"]["url"].rsplit("/open/", 1)[1]


async def test_the_guide_from_booking_to_the_opened_lock_and_the_check_in(gql, http, wired_sandbox):
    _, objects = await guided_set_up(gql)
    booking_id, token = await booked(gql, objects, start_hours=-1)
    page = await http.get(f"/open/{token}")
    assert page.status_code == 200 and "Studio 1 entrance openen" in page.text
    pressed = await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})
    assert "De deur is open." in pressed.text
    [opening] = await wired_sandbox.openings()
    assert opening["outcome"] == "opened" and opening["lockName"] == "Studio 1 entrance"
    booking = (await gql(ACCESS, {"id": booking_id}))["booking"]
    assert booking["status"]["code"] == "checked_in"
    assert {f["code"]: f["value"] for f in booking["fields"]}[OPEN_FIELD]
    assert booking["access"][0]["openings"][0]["checkedIn"] is True


async def test_outside_the_window_and_after_a_cancellation_the_page_refuses(gql, http, wired_sandbox):
    _, objects = await guided_set_up(gql)
    _, early_token = await booked(gql, objects, start_hours=5)
    early = await http.post(f"/open/{early_token}", data={"door": "Studio 1 entrance"})
    assert "De deuren gaan open vanaf" in early.text
    booking_id, token = await booked(gql, objects, start_hours=-1)
    await gql("mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { errors { code } } }",
              {"i": {"bookingId": booking_id, "status": "cancelled"}})
    after = await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})
    assert "Deze boeking is" in after.text and "de deuren gaan niet open" in after.text
    assert await wired_sandbox.openings() == []


async def test_an_offline_iq_and_a_pin_changed_elsewhere_open_nothing_and_say_why(gql, http, wired_sandbox):
    _, objects = await guided_set_up(gql)
    booking_id, token = await booked(gql, objects, start_hours=-1, language="en")
    await wired_sandbox.set_iq_online(False)
    await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})
    await wired_sandbox.set_iq_online(True)
    await wired_sandbox.change_pin_elsewhere()
    await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})
    [pin, offline] = (await gql(ACCESS, {"id": booking_id}))["booking"]["access"][0]["openings"]
    assert offline["result"] == "FAILED" and "offline" in offline["message"].lower()
    assert pin["result"] == "FAILED" and "pin" in pin["message"].lower()
    assert [o["outcome"] for o in await wired_sandbox.openings()] == ["iq_offline", "pin_changed"]  # nothing opened


async def test_a_lost_answer_to_an_open_is_not_two_check_ins(gql, host, http, wired_sandbox):
    _, objects = await guided_set_up(gql)
    booking_id, token = await booked(gql, objects, start_hours=-1)
    await wired_sandbox.fault(mode="drop_answer", operation="open_lock", count=1)
    await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})  # opened at the lock, answer lost
    await http.post(f"/open/{token}", data={"door": "Studio 1 entrance"})  # the guest presses again
    await confirm_openings(host)
    openings = (await gql(ACCESS, {"id": booking_id}))["booking"]["access"][0]["openings"]
    assert [o["result"] for o in openings] == ["CONFIRMED", "CONFIRMED"]
    assert sum(o["checkedIn"] for o in openings) == 1
    assert len(await wired_sandbox.openings()) == 2
