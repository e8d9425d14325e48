"""The second access model, against an in-memory lock that opens on request: the core issues the
guest's open link as it issues a vendor's set, the guest open page and `openDoor` open a door only
while the booking entitles the guest (and say why not otherwise), the first confirmed opening
checks the guest in (once, whatever answers were lost), and the link stops working the moment the
entitlement ends."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.door_access.backend import register_backend
from addon.door_access.on_request.models import GuestLink
from addon.door_access.on_request.opening import confirm_openings
from tests.conftest import GraphQLClient
from tests.door_access.helpers import (
    ERRORS,
    HOUSE_DOORS,
    create_booking,
    create_booking_field,
    create_integration,
    create_objects,
    set_active,
    set_mapping,
    set_status,
    update_integration,
)
from tests.door_access.memory_backend import OPENS_ON_REQUEST_NAME, OnRequestBackend, OnRequestVendor

pytestmark = pytest.mark.anyio

OPEN_FIELD = "door_first_opened_at"
ACCESS = ("query($id: ID!) { booking(id: $id) { status { code } fields { code value } access { state desired"
          " accessModel validFrom validTo openLink { url delivery sentTo deliveryError language revokedAt }"
          " openings { door result confirmed checkedIn refusal message checkinError } } } }")
OPEN = ("mutation($i: OpenDoorInput!) { openDoor(input: $i) { opened message retryAfterSeconds"
        f" opening {{ door result confirmed checkedIn refusal }} {ERRORS} }} }}")


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_OPEN_CONFIRM_SECONDS": "0",
            "IRESERVE_PUBLIC_URL": "https://stay.example.com"}


@pytest.fixture
def opener(host) -> OnRequestBackend:
    backend = OnRequestBackend(OnRequestVendor())
    register_backend(host, backend)
    return backend


async def on_request_integration(gql, **details) -> tuple[str, dict[str, str]]:
    """The Salto KS guide's Details on the lock that opens on request: the lock may open from
    confirmed, paid and checked in; the first opening goes into a booking field and checks in."""
    await create_booking_field(gql, OPEN_FIELD)
    objects = await create_objects(gql)
    values = dict(backend=OPENS_ON_REQUEST_NAME, name="Chalet locks", triggerStatuses=["confirmed", "paid",
                                                                                      "checked_in"],
                  revokeStatuses=[], timeBeforeMinutes=60, authorizationIdField=None, defaultLanguage="nl",
                  openActionField=OPEN_FIELD, checkinStatus="checked_in")
    values.update(details)
    created = await create_integration(gql, **values)
    assert created["errors"] == [], created
    integration_id = created["integration"]["id"]
    assert (await set_mapping(gql, integration_id, objects["Studio building"], HOUSE_DOORS))["errors"] == []
    activated = await set_active(gql, integration_id)
    assert activated["errors"] == [], activated
    return integration_id, objects


def soon(hours: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).replace(microsecond=0).isoformat()


async def access_of(gql, booking_id) -> dict:
    return (await gql(ACCESS, {"id": booking_id}))["booking"]


def token_of(url: str) -> str:
    return url.rsplit("/open/", 1)[1]


# -- the Details tab of a lock that opens on request -------------------------------------------------

async def test_activation_needs_the_open_action_field_and_a_check_in_status_the_guest_can_open_from(gql, opener):
    await create_booking_field(gql, OPEN_FIELD)
    objects = await create_objects(gql)
    created = await create_integration(gql, backend=OPENS_ON_REQUEST_NAME, triggerStatuses=["confirmed"],
                                       revokeStatuses=[], authorizationIdField=None, checkinStatus="checked_in")
    integration_id = created["integration"]["id"]
    await set_mapping(gql, integration_id, objects["Studio building"], HOUSE_DOORS)
    refused = await set_active(gql, integration_id)
    assert {(e["field"], e["code"]) for e in refused["errors"]} == {("openActionField", "REQUIRED"),
                                                                     ("checkinStatus", "INVALID")}
    assert "authorizationIdField" not in {e["field"] for e in refused["errors"]}  # no vendor id to keep
    fixed = await update_integration(gql, integration_id, openActionField=OPEN_FIELD,
                                     triggerStatuses=["confirmed", "checked_in"])
    assert fixed["errors"] == [] and (await set_active(gql, integration_id))["errors"] == []
    backends = (await gql("{ doorBackends { name accessModel } }"))["doorBackends"]
    assert {"name": OPENS_ON_REQUEST_NAME, "accessModel": "OPENS_ON_REQUEST"} in backends


# -- the open link: issued and revoked like a set ---------------------------------------------------

async def test_an_entitled_booking_gets_an_open_link_and_no_vendor_credential(gql, host, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(2), soon(50), status="confirmed", language="de")
    booking = await access_of(gql, made["id"])
    [access] = booking["access"]
    assert (access["state"], access["accessModel"]) == ("ACTIVE", "OPENS_ON_REQUEST")
    link = access["openLink"]
    assert link["url"].startswith("https://stay.example.com/open/") and len(token_of(link["url"])) >= 40
    assert (link["delivery"], link["language"], link["revokedAt"]) == ("FOR_STAFF", "de", None)  # no mail server
    assert link["sentTo"] == []  # not e-mailed: no address named as if it had been
    assert opener.vendor.sets == {} and opener.vendor.calls["create"] == 0  # nothing issued at the vendor
    async with host.database.session() as session:
        [stored] = (await session.execute(select(GuestLink))).scalars().all()
    assert token_of(link["url"]) not in stored.token_hash + stored.token_encrypted  # kept hashed and encrypted


async def test_the_link_stops_working_the_moment_the_booking_is_cancelled(gql, host, http, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    assert (await http.post(f"/open/{token}", data={"door": "Main door"})).status_code == 200
    cancelled = (await set_status(gql, made["id"], "cancelled", force=True))["access"][0]  # checked in already
    assert cancelled["state"] == "REVOKED"
    page = await http.post(f"/open/{token}", data={"door": "Main door"})
    # Why, in the guest's language (de): the booking's status, not only that the link was revoked.
    assert "Diese Buchung ist" in page.text and "Die Türen öffnen nicht." in page.text
    assert len(opener.vendor.entries) == 1  # the second press opened nothing
    async with host.database.session() as session:
        [link] = (await session.execute(select(GuestLink))).scalars().all()
    assert link.revoked_at is not None


async def test_send_a_new_link_replaces_the_open_link_the_new_one_first(gql, http, opener):
    """"Send a new link" (the console offers it for open links too): a new link is issued, the old
    one stops working, and the new one opens."""
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed", language="en")
    old = (await access_of(gql, made["id"]))["access"][0]["openLink"]["url"]
    sent = await gql("mutation($i: ReissueBookingAccessInput!) { reissueBookingAccess(input: $i) { errors { code } } }",
                     {"i": {"bookingId": made["id"]}})
    assert sent["reissueBookingAccess"]["errors"] == []
    [access] = (await access_of(gql, made["id"]))["access"]
    new = access["openLink"]["url"]
    assert access["state"] == "ACTIVE" and new != old and access["openLink"]["revokedAt"] is None
    refused = await http.post(f"/open/{token_of(old)}", data={"door": "Main door"})
    assert "This link no longer works." in refused.text
    opened = await http.post(f"/open/{token_of(new)}", data={"door": "Main door"})
    assert "The door is open." in opened.text and len(opener.vendor.entries) == 1


# -- opening: only while entitled, and the first one checks in ------------------------------------------

async def test_the_guest_page_refuses_before_the_window_opens_and_opens_inside_it(gql, http, clock, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(5), soon(50), status="confirmed", language="nl")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])

    early = await http.get(f"/open/{token}")
    assert early.status_code == 200 and early.headers["referrer-policy"] == "no-referrer"
    assert early.headers["cache-control"] == "no-store" and 'lang="nl"' in early.text
    assert "Open Main door" in early.text or "Main door" in early.text
    assert "vanaf" in early.text  # "De deuren gaan open vanaf …" in the guest's language
    refused = await http.post(f"/open/{token}", data={"door": "Main door"})
    assert "vanaf" in refused.text and opener.vendor.entries == []

    clock.advance(hours=4, minutes=1)  # inside the window: one hour before the start
    opened = await http.post(f"/open/{token}", data={"door": "Main door"})
    assert opened.status_code == 200 and len(opener.vendor.entries) == 1
    booking = await access_of(gql, made["id"])
    assert booking["status"]["code"] == "checked_in"
    assert {f["code"]: f["value"] for f in booking["fields"]}[OPEN_FIELD] == clock.now().isoformat()
    [latest, first] = booking["access"][0]["openings"][:2]
    assert (latest["result"], latest["confirmed"], latest["checkedIn"]) == ("CONFIRMED", True, True)
    assert (first["result"], first["refusal"]) == ("REFUSED", "NOT_YET")
    # Recorded for the Dutch guest, read by staff in English: the moment in the reader's words.
    assert first["message"].startswith("The doors open from ") and "day, " in first["message"]
    assert not any(word in first["message"] for word in ("dag", "januari", "december"))

    clock.advance(minutes=5)
    again = await http.post(f"/open/{token}", data={"door": "Side door"})
    assert again.status_code == 200 and len(opener.vendor.entries) == 2
    booking = await access_of(gql, made["id"])
    assert [o["checkedIn"] for o in booking["access"][0]["openings"][:2]] == [False, True]  # later ones only log
    assert {f["code"]: f["value"] for f in booking["fields"]}[OPEN_FIELD] == (clock.now() - timedelta(minutes=5)).isoformat()


async def test_a_lost_answer_to_an_open_is_confirmed_later_and_checks_in_once(gql, host, http, clock, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    opener.vendor.fail("open", kind="lost")  # the lock opened; the answer never came
    first = (await gql(OPEN, {"i": {"openToken": token, "door": "Main door"}}))["openDoor"]
    assert first["opened"] is False and first["opening"]["result"] == "SENDING"
    assert "may have opened" in first["message"]
    second = (await gql(OPEN, {"i": {"openToken": token, "door": "Main door"}}))["openDoor"]  # the guest tries again
    assert second["opened"] is True and second["opening"]["checkedIn"] is True
    assert await confirm_openings(host) == 1  # the worker finds the first one in the lock's entries
    openings = (await access_of(gql, made["id"]))["access"][0]["openings"]
    assert [o["result"] for o in openings] == ["CONFIRMED", "CONFIRMED"]
    assert sum(o["checkedIn"] for o in openings) == 1, "two openings, one check-in"
    async with host.database.session() as session:
        events = list((await session.execute(select(AuditEvent.action).where(
            AuditEvent.action.in_(("door.open", "booking.status_force"))))).scalars())
    assert events.count("door.open") == 2


async def test_a_check_in_the_booking_rules_refuse_is_recorded_not_silent(gql, host, http, opener):
    _, objects = await on_request_integration(gql, triggerStatuses=["confirmed", "checked_out"],
                                              checkinStatus="checked_out")  # confirmed → checked out is not allowed
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    assert (await gql(OPEN, {"i": {"openToken": token, "door": "Main door"}}))["openDoor"]["opened"] is True
    booking = await access_of(gql, made["id"])
    assert booking["status"]["code"] == "confirmed"
    [opening] = booking["access"][0]["openings"]
    assert opening["checkedIn"] is True and "checked_out" in opening["checkinError"]
    async with host.database.session() as session:
        assert (await session.execute(select(AuditEvent).where(
            AuditEvent.action == "booking.checkin_refused"))).first() is not None


async def test_openings_are_rate_limited_per_link(gql, http, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    for _ in range(6):
        assert (await http.post(f"/open/{token}", data={"door": "Main door"})).status_code == 200
    limited = await http.post(f"/open/{token}", data={"door": "Main door"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert len(opener.vendor.entries) == 6


async def test_open_door_for_staff_and_for_a_frontend_with_the_token(gql, http, tokens, opener):
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    staff = GraphQLClient(http, tokens["staff"])
    frontend = GraphQLClient(http, tokens["frontend"])
    by_staff = (await staff(OPEN, {"i": {"bookingId": made["id"], "door": "Side door"}}))["openDoor"]
    assert by_staff["opened"] is True and by_staff["errors"] == []
    by_frontend = (await frontend(OPEN, {"i": {"openToken": token, "door": "Main door"}}))["openDoor"]
    assert by_frontend["opened"] is True
    not_staff = (await frontend(OPEN, {"i": {"bookingId": made["id"], "door": "Main door"}}))["openDoor"]
    assert [e["code"] for e in not_staff["errors"]] == ["FORBIDDEN"]
    unknown = (await frontend(OPEN, {"i": {"openToken": "x" * 43, "door": "Main door"}}))["openDoor"]
    assert [e["code"] for e in unknown["errors"]] == ["NO_SUCH_LINK"]
    wrong_door = (await frontend(OPEN, {"i": {"openToken": token, "door": "Cellar door"}}))["openDoor"]
    assert [e["code"] for e in wrong_door["errors"]] == ["NO_SUCH_DOOR"]
    anonymous = await gql.raw(OPEN, {"i": {"openToken": token, "door": "Main door"}}, token=None)
    assert anonymous["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")


async def test_an_inactive_integration_opens_nothing_and_says_so(gql, http, opener):
    integration_id, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    token = token_of((await access_of(gql, made["id"]))["access"][0]["openLink"]["url"])
    assert (await set_active(gql, integration_id, False))["errors"] == []
    page = await http.post(f"/open/{token}", data={"door": "Main door"})
    assert page.status_code == 200 and opener.vendor.entries == []
    [opening] = (await access_of(gql, made["id"]))["access"][0]["openings"]
    assert opening["refusal"] == "INACTIVE"


async def test_the_lock_opens_only_at_the_statuses_it_may_open_from(gql, opener):
    """Not sticky like a credential: a status the lock may not open from ends the entitlement."""
    _, objects = await on_request_integration(gql, triggerStatuses=["confirmed", "checked_in"])
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    first = (await access_of(gql, made["id"]))["access"][0]["openLink"]["url"]
    assert (await set_status(gql, made["id"], "paid"))["access"][0]["state"] == "REVOKED"
    assert (await access_of(gql, made["id"]))["access"][0]["openLink"] is None
    assert (await set_status(gql, made["id"], "checked_in"))["access"][0]["state"] == "ACTIVE"
    again = (await access_of(gql, made["id"]))["access"][0]["openLink"]["url"]
    assert again != first  # a new link after the gap; the old one stays dead


# -- delivery by the product's own mail ----------------------------------------------------------------

class SmtpStub:
    """A mail server on 127.0.0.1 that takes any message (plain SMTP, no TLS)."""

    def __init__(self) -> None:
        self.messages: list = []
        self.server = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 stub\r\n")
        data = None
        while line := await reader.readline():
            command = line.decode().strip()
            if data is not None:
                if command == ".":
                    self.messages.append(message_from_bytes(b"\r\n".join(data), policy=policy.default))
                    data = None
                    writer.write(b"250 ok\r\n")
                else:
                    data.append(line.rstrip(b"\r\n"))
                continue
            verb = command.split(" ")[0].upper()
            if verb == "DATA":
                data = []
                writer.write(b"354 go\r\n")
            elif verb == "QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()


async def test_the_link_is_mailed_in_the_guest_s_language(host, gql, opener):
    import dataclasses

    from addon.door_access.on_request.settings import guest_settings

    stub = SmtpStub()
    async with stub as port:
        host.provide(dataclasses.replace(guest_settings(host), smtp_url=f"smtp://127.0.0.1:{port}",
                                         mail_from="doors@stay.example.com"))
        _, objects = await on_request_integration(gql)
        made = await create_booking(gql, objects["Studio 1"], soon(2), soon(50), status="confirmed", language="fr",
                                    email="anne@example.fr")
    link = (await access_of(gql, made["id"]))["access"][0]["openLink"]
    assert (link["delivery"], link["sentTo"]) == ("EMAILED", ["anne@example.fr"])
    [mail] = stub.messages
    assert mail["To"] == "anne@example.fr" and mail["From"] == "doors@stay.example.com"
    body = mail.get_content()
    assert link["url"] in body and "Ouvrez" in body  # the product's own words, in French


async def test_a_mail_server_that_refuses_leaves_the_link_for_staff_with_the_reason(host, gql, opener):
    import dataclasses

    from addon.door_access.on_request.settings import guest_settings

    host.provide(dataclasses.replace(guest_settings(host), smtp_url="smtp://127.0.0.1:1", smtp_timeout_seconds=1))
    _, objects = await on_request_integration(gql)
    made = await create_booking(gql, objects["Studio 1"], soon(2), soon(50), status="confirmed")
    [access] = (await access_of(gql, made["id"]))["access"]
    assert access["state"] == "ACTIVE" and access["openLink"]["delivery"] == "FAILED"
    assert "could not be sent" in access["openLink"]["deliveryError"]


async def test_two_vendors_of_either_model_side_by_side_on_one_object(gql, host, memory, vendor, opener):
    """A vendor that issues credentials (the reception building's doors) and a lock that opens on
    request (the studio's own door), both mapped on the same object: one booking, two kinds of access."""
    _, objects = await on_request_integration(gql)
    credential = await create_integration(gql, name="Reception doors", triggerStatuses=["confirmed"],
                                          revokeStatuses=["cancelled"], authorizationIdField=None)
    credential_id = credential["integration"]["id"]
    await create_booking_field(gql, "reception_set_id")
    await update_integration(gql, credential_id, authorizationIdField="reception_set_id")
    assert (await set_mapping(gql, credential_id, objects["Studio building"], ["Main door"]))["errors"] == []
    assert (await set_active(gql, credential_id))["errors"] == []
    made = await create_booking(gql, objects["Studio 1"], soon(-1), soon(50), status="confirmed")
    access = {a["accessModel"]: a for a in (await access_of(gql, made["id"]))["access"]}
    assert set(access) == {"ISSUES_CREDENTIAL", "OPENS_ON_REQUEST"}
    assert all(a["state"] == "ACTIVE" for a in access.values())
    assert len(vendor.active_sets()) == 1 and access["ISSUES_CREDENTIAL"]["openLink"] is None
    token = token_of(access["OPENS_ON_REQUEST"]["openLink"]["url"])
    assert (await gql(OPEN, {"i": {"openToken": token, "door": "Side door"}}))["openDoor"]["opened"] is True
    cancelled = await set_status(gql, made["id"], "cancelled", force=True)  # checked in by the opening
    assert {a["state"] for a in cancelled["access"]} == {"REVOKED"}
    assert vendor.active_sets() == []
