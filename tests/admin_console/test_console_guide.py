"""The set-up guide, clicked through in a real browser: sign in, add a Resivo integration, the
Authentication, Details and Mapping tabs, Activate, and the door-access board seeing a booking's
access become ACTIVE (the door link present in the sandbox) and then REVOKED."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect

from addon.door_access.heartbeat import Heartbeat
from tests.admin_console.conftest import (
    ADMIN,
    assert_every_control_labelled,
    screenshot,
    sign_in,
)

STUDIO_MAIN = "Studio building main door"
STUDIO_SIDE = "Studio building side door"


def set_status_through_the_api(page, reference: str, status: str) -> dict:
    """What a booking site does: setBookingStatus over GraphQL (here with the page's session)."""
    return page.evaluate("""async ([reference, status]) => {
      const csrf = decodeURIComponent(document.cookie.split("; ").find((c) => c.startsWith("ireserve_csrf=")).split("=")[1]);
      const call = async (query, variables) => (await (await fetch("/graphql", {method: "POST",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify({query, variables})})).json());
      const found = await call("query($r: String!) { bookingByReference(reference: $r) { id } }", {r: reference});
      const changed = await call("mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) { errors { message } } }",
        {i: {bookingId: found.data.bookingByReference.id, status}});
      return changed.data.setBookingStatus;
    }""", [reference, status])


def board_row(page, reference: str):
    return page.locator(f'table.board tr[data-reference="{reference}"]')


def test_the_whole_set_up_guide(console, open_context):
    context = open_context()
    page = context.new_page()
    sign_in(page, console, ADMIN)
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Integrations")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Door access")).to_be_visible()

    # Administration → Integrations → add a Resivo integration.
    page.get_by_role("link", name="Add integration").click()
    expect(page.get_by_label("Backend")).to_have_value("resivo")
    expect(page.get_by_label("Backend").locator("option:checked")).to_have_text("Resivo")
    page.get_by_label("Name").fill("Duinpark doors")
    page.get_by_role("button", name="Add integration").click()

    # 2.1 Authentication: the guide's fields, required ones marked; Base URL under "Advanced".
    expect(page.get_by_role("tab", name="Authentication")).to_have_attribute("aria-selected", "true")
    for label in ("Site Owner ID", "Client ID", "Client secret"):
        expect(page.get_by_label(label)).to_have_attribute("required", "")
    for label in ("Site ID", "Target mobile app id"):
        expect(page.get_by_label(label)).not_to_have_attribute("required", "")
    page.get_by_label("Site Owner ID").fill("demo-owner")
    page.get_by_label("Client ID").fill("demo-client")
    page.get_by_label("Client secret").fill("demo-secret")
    page.get_by_label("Site ID").fill("demo-site")
    expect(page.get_by_label("Base URL")).to_be_hidden()
    page.get_by_role("button", name="Advanced").click()
    page.get_by_label("Base URL").fill(console.sandbox_url)
    page.get_by_role("button", name="Save & test connection").click()
    result = page.locator(".connection-result")
    expect(result).to_contain_text("Token received")
    doors = result.locator("table.doors")
    expect(doors.locator("tr", has_text=STUDIO_MAIN)).to_contain_text("online")
    expect(doors.locator("tr", has_text="Sauna door")).to_contain_text("offline")
    expect(result.locator("ul.sites")).to_contain_text("demo-site")
    # The stored secret is never shown again, only that one is set.
    expect(page.get_by_label("Client secret")).to_have_value("")
    expect(page.get_by_text("A secret is stored")).to_be_visible()
    screenshot(page, "authentication")
    assert_every_control_labelled(page)

    # 2.2 Details, reached by keyboard: the arrow keys move between the tabs.
    page.get_by_role("tab", name="Authentication").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Details")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="Details")).to_be_focused()
    page.get_by_label("Trigger statuses (create)").select_option(["confirmed", "paid"])
    page.get_by_label("Revoke statuses").select_option(["cancelled"])
    page.get_by_label("Time before (minutes)").fill("30")
    page.get_by_label("Booking field for authorisation id").select_option("resivo_authorization_id")
    page.get_by_label("Default language (fallback)").fill("nl")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    screenshot(page, "details")
    assert_every_control_labelled(page)

    # 2.3 Mapping: the main object to both doors, one of its sub-objects differently.
    page.get_by_role("tab", name="Mapping").click()
    page.get_by_role("button", name="Choose doors for Studio building").click()
    building = page.get_by_role("group", name="Doors for Studio building")
    expect(building.locator("li", has_text="Sauna door")).to_contain_text("offline")
    building.get_by_label(STUDIO_MAIN).check()
    building.get_by_label(STUDIO_SIDE).check()
    page.get_by_role("button", name="Choose doors for Studio 2").click()
    page.get_by_role("group", name="Doors for Studio 2").get_by_label(STUDIO_SIDE).check()
    page.get_by_role("button", name="Review and save").click()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator(".save-result [role=status]")).to_contain_text("Saved 2 objects.")
    rows = page.locator("table tr")
    expect(rows.filter(has_text="Studio 2").locator("td.origin")).to_have_text("Own")
    expect(rows.filter(has_text="Studio 1").locator("td.origin")).to_contain_text("Inherited from Studio building")
    expect(page.locator("tr.sub-object", has_text="Studio 1")).to_be_visible()  # indented under its main object
    screenshot(page, "mapping")
    assert_every_control_labelled(page)

    # 2.4 Activate: the bookings already at a trigger status are being granted access.
    page.get_by_role("tab", name="Activate").click()
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.locator(".activation-result")).to_contain_text(re.compile(r"Active\. \d+ bookings? (is|are) being granted access"))
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()
    screenshot(page, "activate")
    assert_every_control_labelled(page)

    # The board: DEMO-1001 (Studio 1: its parent's doors) moves to a trigger status → ACTIVE.
    page.get_by_role("link", name="Door access").click()
    expect(page.get_by_role("heading", name="Health")).to_be_visible()
    # No access worker has gone round (this server runs none): the health panel says so.
    expect(page.locator(".health dd.workers")).to_contain_text("None at work")
    console.run(Heartbeat(console.server.app.state.host, "console-test-worker").beat())  # one goes round
    assert set_status_through_the_api(page, "DEMO-1001", "confirmed")["errors"] == []
    row = board_row(page, "DEMO-1001")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "ACTIVE")
    expect(row).to_contain_text(STUDIO_MAIN)
    expect(page.locator(".health dd.workers")).to_contain_text("1 alive, last round")
    sets = httpx.get(f"{console.sandbox_url}/_sandbox/authorizations").json()
    [granted] = [s for s in sets if s["status"] == "active" and s["locale"] == "de"]
    assert granted["link"].startswith("http") and set(granted["componentIds"]) == {"duinpark-studio-main", "duinpark-studio-side"}
    screenshot(page, "board")
    assert_every_control_labelled(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scrolling at 1280 × 800

    # The booking's detail: what would be sent, with the guest's message in the guest's language.
    row.get_by_role("link", name="Details of DEMO-1001").click()
    expect(page.get_by_role("heading", name="Guest's message")).to_be_visible()
    expect(page.locator("pre.message")).to_contain_text("Ihr Türzugang für Studio 1")  # Anna's language: de
    screenshot(page, "booking")

    # A revoke status → REVOKED, and the set is revoked in the sandbox.
    page.get_by_role("link", name="Door access").first.click()
    expect(board_row(page, "DEMO-1001").locator("[data-state]")).to_have_attribute("data-state", "ACTIVE")
    assert set_status_through_the_api(page, "DEMO-1001", "cancelled")["errors"] == []
    expect(board_row(page, "DEMO-1001").locator("[data-state]")).to_have_attribute("data-state", "REVOKED")
    revoked = [s for s in httpx.get(f"{console.sandbox_url}/_sandbox/authorizations").json() if s["id"] == granted["id"]]
    assert revoked[0]["status"] == "revoked"

    # Logs: the calls made to Resivo and the audit trail of what was just configured.
    page.get_by_role("link", name="Logs").click()
    expect(page.locator("section", has_text="Calls to the lock vendor").locator("tbody tr").first).to_be_visible()
    expect(page.locator("section", has_text="Audit trail")).to_contain_text("Door mapping saved")
    screenshot(page, "logs")
    assert_every_control_labelled(page)
    assert context.requests.foreign() == []
