"""Salto KS's set-up guide, clicked through in a real browser against the Salto KS sandbox mounted
in the app (uvicorn on 127.0.0.1): add the integration; Authentication (the sandbox's demo
account), Resolve site ID, Test / request access; the IQ OTP setup — an offline IQ, a PIN changed
elsewhere and a refused one-time password each said in words on the way —, GET PIN, Set PIN, "IQ is
activated"; Details by the guide's labels; Mapping of a lock; Activate. Then a booking at a status
the lock may open from: staff see the guest's open link, the guest opens it and presses the door's
button, the lock opens at the sandbox, and the booking shows the open time in the open-action
field and the check-in status; staff open a door for the guest (a later opening only logs). A
booking outside its window and a cancelled one: their pages refuse, saying why."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from playwright.sync_api import expect

from addon.salto_ks.sandbox import load_seed
from tests.admin_console.conftest import (
    ADMIN,
    STAFF,
    api,
    assert_every_control_labelled,
    mutate,
    screenshot,
    sign_in,
)

SEED = load_seed()
SITE = SEED["sites"][0]
IQ, OFFLINE_IQ = SITE["iqs"]
ACCOUNT = SEED["accounts"][0]
LOCK = "Studio 1 entrance"
OPEN_FIELD, OPEN_FIELD_LABEL = "door_first_opened_at", "First door opening"
LINK = "access { integration { name } openLink { url } }"


def book(page, clock, reference: str, object_id: str, start_in: timedelta) -> str:
    """What a booking site does: a booking at a status the lock may open from (over GraphQL)."""
    start = clock.now() + start_in
    made = mutate(page, "createBooking", "CreateBookingInput", {
        "objectId": object_id, "start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
        "status": "confirmed", "reference": reference,
        "customer": {"name": "Grace Guest", "email": "grace@example.com", "language": "en"}}, "booking { id }")
    return made["booking"]["id"]


def open_link(page, booking: str) -> str:
    [access] = api(page, f"query($id: ID!) {{ booking(id: $id) {{ {LINK} }} }}", {"id": booking})["booking"]["access"]
    return access["openLink"]["url"]


def sandbox_openings(console) -> list[dict]:
    return httpx.get(f"{console.salto_sandbox_url}/openings").json()


def test_the_salto_ks_guide_from_the_console_to_an_opened_lock(console, open_context, clock):
    context = open_context()
    page = context.new_page()
    page_errors = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    sign_in(page, console, ADMIN)
    # The booking field the first opening's time goes to (the guide's open-action field).
    mutate(page, "createBookingField", "CreateBookingFieldInput", {"code": OPEN_FIELD, "label": OPEN_FIELD_LABEL})

    # Integrations → Add integration: every backend is offered, each saying how guests get in.
    page.get_by_role("link", name="Add integration").click()
    expect(page.get_by_label("Backend").locator("option")).to_have_text(["Resivo", "Salto KS"])
    page.get_by_label("Backend").select_option(label="Salto KS")
    expect(page.get_by_text("The lock opens on request")).to_be_visible()
    page.get_by_label("Name").fill("Duinpark chalets")
    page.get_by_role("button", name="Add integration").click()

    # Authentication: the guide's fields; Resolve site ID and the test save the form first.
    expect(page.get_by_role("tab")).to_have_text(["Authentication", "IQ OTP setup", "Details", "Mapping", "Activate"])
    expect(page.get_by_role("tab", name="Authentication")).to_have_attribute("aria-selected", "true")
    for label in ("Environment", "Site UID", "Username", "Password"):
        expect(page.get_by_label(label)).to_have_attribute("required", "")
    expect(page.get_by_label("Site ID")).to_have_attribute("readonly", "")
    page.get_by_label("Environment").select_option(label="Acceptance")
    page.get_by_label("Site UID").fill(SITE["uid"])
    page.get_by_label("Username").fill(ACCOUNT["username"])
    page.get_by_label("Password").fill(ACCOUNT["password"])
    page.get_by_role("button", name="Resolve site ID").click()
    result = page.locator(".connection-result")
    expect(result).to_contain_text(f"Site ID resolved: Duinpark ({SITE['id']})")
    expect(page.get_by_label("Site ID")).to_have_value(SITE["id"])
    expect(page.get_by_label("Password")).to_have_value("")  # write-only: never shown again
    expect(page.get_by_text("A password is stored")).to_be_visible()
    page.get_by_role("button", name="Test / request access").click()
    expect(result).to_contain_text("Token received")
    expect(result).to_contain_text("4 locks — 1 offline")
    locks = result.locator("table.locks")
    expect(locks.locator("tr", has_text=LOCK)).to_contain_text("online")
    expect(locks.locator("tr", has_text="Bike shed")).to_contain_text("offline")
    expect(result).to_contain_text("Enter the IQ id for the IQ OTP setup.")
    screenshot(page, "salto-ks-authentication")
    assert_every_control_labelled(page)

    # IQ OTP setup, with what can go wrong on the way said in words.
    page.get_by_role("link", name="Next: the IQ OTP setup").click()
    status = page.locator(".iq-status")
    expect(status).to_have_text("Status: IQ is not activated")
    outcome = page.locator(".iq-result")
    page.get_by_label("IQ id").fill(OFFLINE_IQ["id"])
    page.get_by_role("button", name="GET PIN").click()
    expect(outcome.locator('[data-code="IQ_OFFLINE"]')).to_contain_text("The IQ is offline.")
    expect(page.get_by_label("IQ id")).to_have_attribute("aria-invalid", "")
    page.get_by_label("IQ id").fill(IQ["id"])
    page.get_by_role("button", name="GET PIN").click()
    expect(page.get_by_label("Current pin")).to_have_value(IQ["pin"])
    expect(page.get_by_label("New pin")).to_be_focused()
    page.keyboard.type("2580")
    # Someone changes the IQ's PIN in Salto KS meanwhile: Set PIN is refused, saying so.
    assert httpx.post(f"{console.salto_sandbox_url}/iqs/{IQ['id']}/pin", json={"pin": "1357"}).status_code == 200
    page.get_by_role("button", name="Set PIN").click()
    expect(outcome.locator('[data-code="PIN_CHANGED_ELSEWHERE"]')).to_contain_text(
        "The PIN was changed outside the booking system.")
    page.get_by_role("button", name="GET PIN").click()
    expect(page.get_by_label("Current pin")).to_have_value("1357")
    # The IQ refuses the one-time password once (as with a server clock that is off).
    fault = {"mode": "otp_rejected", "operation": "set_pin"}
    assert httpx.post(f"{console.salto_sandbox_url}/faults", json=fault).status_code == 201
    page.get_by_role("button", name="Set PIN").click()
    expect(outcome.locator('[data-code="OTP_REJECTED"]')).to_contain_text("The IQ refused the one-time password.")
    expect(status).to_have_text("Status: IQ is not activated")
    page.get_by_role("button", name="Set PIN").click()
    expect(outcome).to_have_text("IQ is activated")
    expect(status).to_have_text("Status: IQ is activated")
    expect(page.get_by_label("Current pin")).to_have_value("")  # no longer the IQ's pin
    screenshot(page, "salto-ks-iq-otp-setup")
    assert_every_control_labelled(page)

    # Details, by the Salto guide's labels (those of a credential's model are not there).
    page.get_by_role("tab", name="Details").click()
    expect(page.get_by_label("Revoke statuses")).to_have_count(0)
    expect(page.get_by_label("Booking field for authorisation id")).to_have_count(0)
    page.get_by_label("Lock may open from status").select_option(["confirmed", "paid", "checked_in"])
    page.get_by_label("Time before (minutes)").fill("30")
    page.get_by_label("Open-action field").select_option(label=OPEN_FIELD_LABEL)
    page.get_by_label("Check-in status").select_option(label="Checked in")
    page.get_by_label("Default language (fallback)").fill("en")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#tab-panel .notice")).to_have_text("Saved.")
    screenshot(page, "salto-ks-details")
    assert_every_control_labelled(page)

    # Mapping: a lock of the site, as doors are mapped.
    page.get_by_role("tab", name="Mapping").click()
    page.get_by_role("button", name="Choose doors for Studio 1").click()
    studio = page.get_by_role("group", name="Doors for Studio 1")
    expect(studio.locator("li", has_text="Bike shed")).to_contain_text("offline")
    studio.get_by_label(LOCK).check()
    page.get_by_role("button", name="Review and save").click()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator(".save-result [role=status]")).to_contain_text("Saved 1 object.")

    # Activate.
    page.get_by_role("tab", name="Activate").click()
    expect(page.locator("#tab-panel")).to_contain_text("Ready. Activating gives an open link to 0 bookings")
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()

    # Bookings made by a booking site: one now, one that starts in five hours, one to be cancelled.
    studio_1 = next(o["id"] for o in api(page, "{ mappableObjects { id name } }")["mappableObjects"]
                    if o["name"] == "Studio 1")
    now = book(page, clock, "CHALET-1", studio_1, timedelta(hours=-1))
    early = book(page, clock, "CHALET-2", studio_1, timedelta(hours=5))
    cancelled = book(page, clock, "CHALET-3", studio_1, timedelta(hours=-2))
    early_url, cancelled_url = open_link(page, early), open_link(page, cancelled)
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/admin/login"))

    # Staff: the board shows the open link's state and when it may open — no set at a lock system.
    sign_in(page, console, STAFF)
    page.goto(f"{console.url}/admin#/access")
    row = page.locator('table.board tr[data-reference="CHALET-1"]')
    expect(row.locator("[data-state]")).to_have_text("Open link live")
    expect(row).to_contain_text("Entitled from")
    expect(row).to_contain_text("Not opened yet")
    screenshot(page, "salto-ks-board")
    row.get_by_role("link", name="Details of CHALET-1").click()
    section = page.locator("section.on-request")
    expect(section.locator("p.entitled")).to_contain_text("Entitled from")
    expect(section.locator(".link-delivery")).to_contain_text("Not e-mailed (no mail server is set up)")
    url = section.get_by_label("The guest's open link").input_value()
    assert url.startswith(f"{console.url}/open/")
    expect(section.locator(".openings-empty")).to_have_text("No door has been opened yet.")

    # The guest, on a phone: the open page, one button per door → the lock opens at the sandbox.
    guest = open_context().new_page()
    guest.set_viewport_size({"width": 390, "height": 844})
    guest.goto(url)
    expect(guest.get_by_role("heading", name="Studio 1")).to_be_visible()
    guest.get_by_role("button", name=f"Open {LOCK}").click()
    expect(guest.locator(".note.ok")).to_have_text("The door is open.")
    screenshot(guest, "salto-ks-guest-page")
    [opening] = sandbox_openings(console)
    assert (opening["lockName"], opening["outcome"], opening["username"]) == (LOCK, "opened", ACCOUNT["username"])

    # The booking: the open time in the open-action field, the check-in status, the opening.
    page.reload()
    facts = page.locator("dl.facts").first
    expect(facts).to_contain_text("Checked in")
    opened_at = facts.locator(f'dd[data-field="{OPEN_FIELD}"]')
    expect(opened_at).to_be_visible()
    assert opened_at.locator("[title]").get_attribute("title").startswith(clock.now().date().isoformat())
    first = page.locator("table.openings tbody tr")
    expect(first).to_have_count(1)
    expect(first.locator(".opening-result")).to_have_text("Opened: the lock confirmed it")
    expect(first.locator(".opening-checkin")).to_have_text("Checked in")
    expect(first).to_contain_text("The guest, with the open link")

    # Staff open the door for the guest (asked first); a later opening only logs.
    section.get_by_role("button", name=f"Open {LOCK}").click()
    ask = page.get_by_role("dialog", name=f"Open {LOCK} now?")
    expect(ask).to_contain_text("CHALET-1")
    ask.get_by_role("button", name="Open the door").click()
    expect(page.locator(".open-result")).to_have_text("The door is open.")
    rows = page.locator("table.openings tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Sam Staff")
    expect(rows.first.locator(".opening-checkin")).to_have_text("—")
    assert len(sandbox_openings(console)) == 2
    screenshot(page, "salto-ks-booking")
    assert_every_control_labelled(page)

    # Outside its window: the page says from when the doors open, and nothing opens.
    guest.goto(early_url)
    expect(guest.locator(".note.refused")).to_contain_text("The doors open from")
    expect(guest.get_by_role("button", name=f"Open {LOCK}")).to_be_disabled()
    # A cancelled booking: its link worked until the cancellation, and stops working at once.
    guest.goto(cancelled_url)
    expect(guest.get_by_role("button", name=f"Open {LOCK}")).to_be_enabled()
    mutate(page, "setBookingStatus", "SetBookingStatusInput", {"bookingId": cancelled, "status": "cancelled"})
    guest.reload()
    expect(guest.locator(".note.refused")).to_contain_text("This booking is")
    expect(guest.get_by_role("button", name=f"Open {LOCK}")).to_be_disabled()
    screenshot(guest, "salto-ks-guest-page-cancelled")
    assert len(sandbox_openings(console)) == 2  # nothing more opened
    page.goto(f"{console.url}/admin#/access/booking/{cancelled}")
    gone = page.locator("section.on-request")
    expect(gone.locator("[data-state]")).to_have_text("Open link revoked")
    expect(gone.locator("p.entitled")).to_have_text("Not entitled to open the doors now")
    expect(gone.locator(".no-link")).to_contain_text("No live open link")
    expect(gone.locator("ul.earlier-links")).to_contain_text("Revoked or expired")
    expect(gone.get_by_role("button", name=f"Open {LOCK}")).to_have_count(0)

    assert page_errors == [], page_errors
    assert context.requests.foreign() == []
