"""The console an admin trusts, in a real browser against the Resivo sandbox: doors picked by
keyboard and by mouse with the summary before saving (and exactly those doors saved), a guest's
link sent again from a booking's page (the old set revoked, the new one sent), and every page
walked in Dutch, German and French — those of a Salto KS integration (a lock that opens on request)
too — with no raw code, no "(s)" and a board that fits 1280 × 800."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from playwright.sync_api import expect

from tests.admin_console.conftest import (
    ADMIN,
    PASSWORD,
    STAFF,
    api,
    assert_accessible,
    booking_id,
    mutate,
    object_ids,
    screenshot,
    sign_in,
)

MAIN = "Studio building main door"
SIDE = "Studio building side door"


def set_up_integration(page, console, mapping: dict[str, list[str]], confirm=("DEMO-1001",)) -> str:
    """The set-up guide through the API (the guide test clicks it): credentials for the sandbox,
    details, the mapping, active; then the given bookings confirmed. Returns the integration's id."""
    created = mutate(page, "createDoorIntegration", "CreateDoorIntegrationInput",
                     {"backend": "resivo", "name": "Duinpark doors", "triggerStatuses": ["confirmed", "paid"],
                      "revokeStatuses": ["cancelled"], "authorizationIdField": "resivo_authorization_id",
                      "defaultLanguage": "nl"}, "integration { id }")
    integration = created["integration"]["id"]
    mutate(page, "setResivoCredentials", "SetResivoCredentialsInput",
           {"integrationId": integration, "siteOwnerId": "demo-owner", "clientId": "demo-client",
            "clientSecret": "demo-secret", "siteId": "demo-site", "baseUrl": console.sandbox_url})
    objects = object_ids(page)
    for name, doors in mapping.items():
        mutate(page, "setDoorMapping", "SetDoorMappingInput",
               {"integrationId": integration, "objectId": objects[name], "doorNames": doors})
    mutate(page, "setDoorIntegrationActive", "SetDoorIntegrationActiveInput",
           {"integrationId": integration, "active": True})
    for reference in confirm:
        mutate(page, "setBookingStatus", "SetBookingStatusInput",
               {"bookingId": booking_id(page, reference), "status": "confirmed"})
    return integration


def stored_mapping(page, integration: str) -> dict[str, list[str]]:
    found = api(page, "query($id: ID!) { doorIntegration(id: $id) { doorMappings { object { name } doorNames } } }",
                {"id": integration})["doorIntegration"]["doorMappings"]
    return {m["object"]["name"]: sorted(m["doorNames"]) for m in found}


def chips(page, name: str):
    return page.get_by_role("list", name=f"Chosen doors for {name}").get_by_role("listitem")


def test_doors_are_picked_by_keyboard_and_by_mouse_summarised_and_saved_exactly(console, open_context):
    page = open_context().new_page()
    sign_in(page, console, ADMIN)
    integration = set_up_integration(page, console, {"Studio building": [MAIN]}, confirm=("DEMO-1001",))
    page.goto(f"{console.url}/admin#/integrations/{integration}/mapping")
    expect(chips(page, "Studio building")).to_have_text([re.compile(MAIN)])
    expect(page.locator("tr", has_text="Studio 1").locator("td.origin")).to_contain_text("Inherited from Studio building")

    # By keyboard: Studio 1 gets the side door of its own — a search, a space on its checkbox.
    page.get_by_role("button", name="Choose doors for Studio 1").focus()
    page.keyboard.press("Enter")
    search = page.get_by_label("Search doors for Studio 1")
    expect(search).to_be_focused()
    page.keyboard.type("side")
    expect(page.get_by_role("group", name="Doors for Studio 1").get_by_role("checkbox")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.get_by_role("group", name="Doors for Studio 1").get_by_label(SIDE)).to_be_focused()
    page.keyboard.press("Space")
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Choose doors for Studio 1")).to_be_focused()
    expect(chips(page, "Studio 1")).to_have_text([re.compile(SIDE)])

    # By mouse: the building's main door goes (its chip), its side door comes (the picker).
    page.get_by_role("button", name=f"Remove {MAIN} from Studio building").click()
    page.get_by_role("button", name="Choose doors for Studio building").click()
    page.get_by_role("group", name="Doors for Studio building").get_by_label(SIDE).click()
    page.get_by_role("button", name="Choose doors for Studio building").click()  # closes it
    expect(chips(page, "Studio building")).to_have_text([re.compile(SIDE)])
    # The chosen doors stay clearly shown once focus is elsewhere, and the rows say they are not saved.
    page.get_by_role("heading", name="Mapping", exact=True).click()
    chip = chips(page, "Studio building").first
    assert chip.evaluate("(el) => getComputedStyle(el).color") == "rgb(13, 58, 117)"
    expect(page.locator("tr.changed")).to_have_count(2)
    expect(page.locator(".unsaved-count")).to_have_text("2 objects have changes that are not saved.")
    screenshot(page, "mapping-picker")

    # Leaving asks first; staying keeps every change.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Door access").click()
    leave = page.get_by_role("dialog", name="Leave without saving?")
    expect(leave).to_be_visible()
    leave.get_by_role("button", name="Stay on this page").click()
    expect(page).to_have_url(re.compile("/mapping$"))
    expect(page.locator("tr.changed")).to_have_count(2)

    # Before anything is stored: what changes per row, and how many bookings follow.
    page.get_by_role("button", name="Review and save").click()
    summary = page.get_by_role("dialog", name="Save these changes?")
    expect(summary.locator("li")).to_have_text([
        f"Studio building: + {SIDE}, − {MAIN}; 2 bookings affected",  # DEMO-1001 (Studio 1) and DEMO-1002 (Studio 2)
        f"Studio 1: + {SIDE}; 1 booking affected",
    ])
    screenshot(page, "mapping-summary")
    summary.get_by_role("button", name="Save").click()
    expect(page.locator(".save-result [role=status]")).to_contain_text("Saved 2 objects.")
    expect(page.locator("tr.changed")).to_have_count(0)
    assert stored_mapping(page, integration) == {"Studio building": [SIDE], "Studio 1": [SIDE]}

    # Drawn again from the server: exactly those doors, and nothing left to save.
    page.reload()
    expect(chips(page, "Studio building")).to_have_text([re.compile(SIDE)])
    expect(chips(page, "Studio 1")).to_have_text([re.compile(SIDE)])
    expect(page.get_by_role("list", name="Chosen doors for Studio 2")).to_be_hidden()
    page.get_by_role("tab", name="Activate").click()
    expect(page.get_by_role("tab", name="Activate")).to_have_attribute("aria-selected", "true")

    # A wrong Site ID: a clear empty state, not empty boxes that look like text fields.
    wrong = mutate(page, "createDoorIntegration", "CreateDoorIntegrationInput",
                   {"backend": "resivo", "name": "Wrong site"}, "integration { id }")["integration"]["id"]
    mutate(page, "setResivoCredentials", "SetResivoCredentialsInput",
           {"integrationId": wrong, "siteOwnerId": "demo-owner", "clientId": "demo-client",
            "clientSecret": "demo-secret", "siteId": "no-such-site", "baseUrl": console.sandbox_url})
    page.goto(f"{console.url}/admin#/integrations/{wrong}/mapping")
    empty = page.locator(".empty-state")
    expect(empty.get_by_role("heading")).to_have_text("The door list could not be loaded")
    expect(empty).to_contain_text("Check the Site ID")
    expect(page.get_by_role("link", name="Open the Authentication tab")).to_be_visible()
    main = page.locator("main")
    expect(main.locator("input[type=checkbox], select, input[type=search]")).to_have_count(0)
    expect(main.locator("table.mapping-readonly tr", has_text="Studio 1")).to_contain_text("Not mapped")
    screenshot(page, "mapping-wrong-site")


def test_staff_send_a_guest_a_new_link_from_the_console(console, open_context):
    page = open_context().new_page()
    sign_in(page, console, ADMIN)
    set_up_integration(page, console, {"Studio building": [MAIN, SIDE]})
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile("/admin/login"))

    sign_in(page, console, STAFF)
    page.goto(f"{console.url}/admin#/access")
    row = page.locator('table.board tr[data-reference="DEMO-1001"]')
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "ACTIVE")
    row.get_by_role("link", name="Details of DEMO-1001").click()
    link = page.locator("section.delivery")
    facts = link.locator("dl.delivery-facts")
    expect(facts).to_contain_text("anna.schmidt@example.de, +49 30 1234567")
    expect(facts).to_contain_text("German")
    expect(facts.locator(".set-state")).to_have_text("Live: the guest's current link")
    expect(facts.locator(".set-state [title]")).to_have_attribute("title", "CURRENT")
    sets = httpx.get(f"{console.sandbox_url}/_sandbox/authorizations").json()
    [old] = [s for s in sets if s["status"] == "active"]

    link.get_by_role("button", name="Send a new link").click()
    ask = page.get_by_role("dialog", name="Send DEMO-1001 a new link?")
    expect(ask).to_contain_text("anna.schmidt@example.de")
    ask.get_by_role("button", name="Send a new link").click()
    expect(page.locator(".reissue-result [role=status]")).to_contain_text("A new link was sent")
    expect(facts.locator(".set-state")).to_have_text("Live: the guest's current link")
    expect(link.locator("ul.earlier-links li")).to_have_count(1)
    expect(link.locator("ul.earlier-links li")).to_contain_text("Revoked or expired (replaced by a new link)")
    screenshot(page, "booking-new-link")

    # The lock system: the old set revoked, a new one made for the same guest, in her language.
    sets = {s["id"]: s for s in httpx.get(f"{console.sandbox_url}/_sandbox/authorizations").json()}
    assert sets[old["id"]]["status"] == "revoked"
    [new] = [s for s in sets.values() if s["status"] == "active"]
    assert new["id"] != old["id"] and new["locale"] == "de"
    assert new["recipients"] == old["recipients"] and new["link"] != old["link"]
    assert set(new["componentIds"]) == {"duinpark-studio-main", "duinpark-studio-side"}


# -- every page in Dutch, German and French --------------------------------------------------------

LANGUAGES = {
    "nl": {"name": "Nederlands", "labels": ("E-mail", "Wachtwoord", "Aanmelden"), "revoke": "Intrekken"},
    "de": {"name": "Deutsch", "labels": ("E-Mail", "Passwort", "Anmelden"), "revoke": "Widerrufen"},
    "fr": {"name": "Français", "labels": ("E-mail", "Mot de passe", "Se connecter"), "revoke": "Révoquer"},
}
# Codes the API answers that a page must show as words (the code may be a tooltip).
CODES = {"OK", "TRANSIENT", "PERMANENT", "GRANT", "REVOKE", "PENDING", "ACTIVE", "FAILED", "REVOKING", "REVOKED",
         "CURRENT", "SENDING", "GONE", "NEVER", "REPLACED", "CREATED", "ADMIN", "STAFF", "resivo", "admin", "staff",
         # a lock that opens on request: the model, how the link went out, what became of an opening and why
         "salto_ks", "OPENS_ON_REQUEST", "ISSUES_CREDENTIAL", "EMAILED", "FOR_STAFF", "REFUSED", "ACCEPTED",
         "CONFIRMED", "NOT_YET", "LINK_REVOKED", "ACCEPTANCE", "PRODUCTION"}


def set_up_salto_ks(page, clock) -> tuple[str, str]:
    """A Salto KS integration through the API, as its guide goes (the Salto KS console test clicks
    it), on the Sauna (no demo booking there asks for access); a booking there opened by staff
    (checked in), and one opened too early (refused). Returns the integration's id and the opened
    booking's."""
    from addon.salto_ks.sandbox import load_seed

    seed = load_seed()
    site, account = seed["sites"][0], seed["accounts"][0]
    mutate(page, "createBookingField", "CreateBookingFieldInput", {"code": "door_first_opened_at",
                                                                    "label": "First door opening"})
    integration = mutate(page, "createDoorIntegration", "CreateDoorIntegrationInput", {
        "backend": "salto_ks", "name": "Duinpark chalets", "triggerStatuses": ["confirmed", "paid", "checked_in"],
        "timeBeforeMinutes": 30, "openActionField": "door_first_opened_at", "checkinStatus": "checked_in",
        "defaultLanguage": "en"}, "integration { id }")["integration"]["id"]
    mutate(page, "setSaltoKsCredentials", "SetSaltoKsCredentialsInput", {
        "integrationId": integration, "environment": "ACCEPTANCE", "siteUid": site["uid"],
        "username": account["username"], "password": account["password"]})
    mutate(page, "resolveSaltoKsSiteId", "ResolveSaltoKsSiteIdInput", {"integrationId": integration})
    mutate(page, "getSaltoKsPin", "GetSaltoKsPinInput", {"integrationId": integration, "iqId": site["iqs"][0]["id"]})
    mutate(page, "setSaltoKsPin", "SetSaltoKsPinInput", {"integrationId": integration, "newPin": "2580"})
    sauna = object_ids(page)["Sauna"]
    mutate(page, "setDoorMapping", "SetDoorMappingInput",
           {"integrationId": integration, "objectId": sauna, "doorNames": ["Sauna entrance"]})
    mutate(page, "setDoorIntegrationActive", "SetDoorIntegrationActiveInput",
           {"integrationId": integration, "active": True})
    booked = {}
    for reference, hours in (("CHALET-1", -1), ("CHALET-2", 5)):
        start = clock.now() + timedelta(hours=hours)
        booked[reference] = mutate(page, "createBooking", "CreateBookingInput", {
            "objectId": sauna, "start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(),
            "status": "confirmed", "reference": reference,
            "customer": {"name": "Grace Guest", "email": "grace@example.com", "language": "en"}},
            "booking { id }")["booking"]["id"]
        opened = api(page, "mutation($i: OpenDoorInput!) { openDoor(input: $i) { opened errors { code } } }",
                     {"i": {"door": "Sauna entrance", "bookingId": booked[reference]}})["openDoor"]
        assert (opened["opened"], opened["errors"]) == ((True, []) if hours < 0 else (False, [{"code": "NOT_YET"}]))
    return integration, booked["CHALET-1"]


def raw_codes(text: str, codes: set[str]) -> list[str]:
    """The codes ``text`` shows as they are (not within a word, an address or a name)."""
    return sorted(code for code in codes if re.search(rf"(?<![\w.@-]){re.escape(code)}(?![\w@-])", text))


def test_every_page_in_dutch_german_and_french_has_words_not_codes_and_passes_axe(console, open_context, clock):
    setup = open_context().new_page()
    sign_in(setup, console, ADMIN)
    integration = set_up_integration(setup, console, {"Studio building": [MAIN, SIDE]})
    salto, chalet = set_up_salto_ks(setup, clock)
    detail = booking_id(setup, "DEMO-1001")
    setup.goto(f"{console.url}/admin#/access")
    expect(setup.locator('table.board tr[data-reference="DEMO-1001"] [data-state]')).to_have_attribute(
        "data-state", "ACTIVE")
    mutate(setup, "reissueBookingAccess", "ReissueBookingAccessInput", {"bookingId": detail})
    trail = api(setup, "{ auditTrail(first: 100) { edges { node { action changes { field } } } } }")["auditTrail"]
    codes = CODES | {e["node"]["action"] for e in trail["edges"]} | {
        c["field"] for e in trail["edges"] for c in e["node"]["changes"] if "_" in c["field"]}
    assert "access.reissue" in codes and "trigger_statuses" in codes
    assert {"door.open", "door.open_refused", "salto_ks.iq.activate"} <= codes and "open_action_field" in codes

    pages = ["#/integrations", f"#/integrations/{integration}/authentication", f"#/integrations/{integration}/details",
             f"#/integrations/{integration}/mapping", f"#/integrations/{integration}/activate", "#/access",
             f"#/access/booking/{detail}", "#/logs", f"#/integrations/{salto}/authentication",
             f"#/integrations/{salto}/iq-otp-setup", f"#/integrations/{salto}/details",
             f"#/integrations/{salto}/activate", f"#/access/booking/{chalet}"]
    context = open_context(locale="en-GB")
    page = context.new_page()
    for language, words in LANGUAGES.items():
        # The sign-in page, styled, with its own language choice (each language in its own name).
        page.goto(f"{console.url}/admin")
        page.get_by_role("link", name=words["name"]).click()
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert "(s)" not in page.locator("body").inner_text()
        assert_accessible(page)
        sign_in_here(page, console, words["labels"])
        expect(page.locator("html")).to_have_attribute("lang", language)
        for address in pages:
            page.goto(f"{console.url}/admin{address}")
            main = page.locator("main")
            expect(main.locator("h1")).to_be_visible()
            page.wait_for_load_state("networkidle")
            if address == "#/logs":
                expect(main.locator("section").nth(1).locator("tbody tr").first).to_be_visible()
            if address.endswith(f"{salto}/authentication"):  # what Test / request access finds, in words
                main.locator("form p.actions button").nth(1).click()
                expect(main.locator(".connection-result table.locks")).to_be_visible()
            if address.endswith(f"booking/{chalet}"):
                expect(main.locator("table.openings tbody tr")).to_have_count(1)
            text = page.locator("body").inner_text()
            assert "(s)" not in text, (language, address)
            assert raw_codes(text, codes) == [], (language, address, raw_codes(text, codes))
            assert_accessible(page)
        # The board at 1280 × 800: health above the table, every action in view, nothing sideways.
        page.goto(f"{console.url}/admin#/access")
        row = page.locator('table.board tr[data-reference="DEMO-1001"]')
        revoke = row.get_by_role("button", name=re.compile(words["revoke"]))
        expect(revoke).to_be_visible()
        box = revoke.bounding_box()
        assert box["x"] + box["width"] <= 1280, (language, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, language
        health = page.locator("section.health").bounding_box()
        table = page.locator("table.board").bounding_box()
        assert health["y"] + health["height"] <= table["y"], "the health panel is above the board"
        screenshot(page, f"board-{language}")
        page.get_by_role("button", name=re.compile("Afmelden|Abmelden|Se déconnecter")).click()
        page.wait_for_url(re.compile("/admin/login"))


def sign_in_here(page, console, labels) -> None:
    email, password, button = labels
    page.get_by_label(email).fill(ADMIN)
    page.get_by_label(password).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    page.wait_for_url(f"{console.url}/admin#/*")
