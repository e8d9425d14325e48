"""What the console says when something is wrong: a rejected secret, an activation that is refused,
a staff member at the integration settings; and the console in the browser's language."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.admin_console.conftest import ADMIN, STAFF, screenshot, sign_in


def test_a_wrong_secret_and_a_refused_activation(console, open_context):
    page = open_context().new_page()
    sign_in(page, console, ADMIN)
    page.get_by_role("link", name="Add integration").click()
    page.get_by_role("button", name="Add integration").click()

    # Nothing entered: each required field says so, next to it.
    page.get_by_label("Site Owner ID").fill(" ")
    page.get_by_label("Client ID").fill(" ")
    page.get_by_label("Client secret").fill(" ")
    page.get_by_role("button", name="Save & test connection").click()
    expect(page.locator("#" + page.get_by_label("Site Owner ID").get_attribute("id") + "-error")).to_contain_text(
        "Site Owner ID is required")

    page.get_by_label("Site Owner ID").fill("demo-owner")
    page.get_by_label("Client ID").fill("demo-client")
    page.get_by_label("Client secret").fill("not-the-secret")
    page.get_by_role("button", name="Advanced").click()
    page.get_by_label("Base URL").fill(console.sandbox_url)
    page.get_by_role("button", name="Save & test connection").click()
    failed = page.locator(".connection-result")
    expect(failed).to_contain_text("Connection failed.")
    expect(failed).to_contain_text("Client id or secret rejected by Resivo")
    screenshot(page, "authentication-rejected")

    # Details: a wrong value is shown next to its field.
    page.get_by_role("tab", name="Details").click()
    page.get_by_label("Default language (fallback)").fill("dutch")
    page.get_by_role("button", name="Save").click()
    language = page.get_by_label("Default language (fallback)")
    expect(page.locator(f"#{language.get_attribute('id')}-error")).to_contain_text("not a two-letter language code")
    expect(language).to_have_attribute("aria-invalid", "")

    # Activation with nothing mapped (and no trigger status): every problem is listed.
    page.get_by_role("tab", name="Activate").click()
    page.get_by_role("button", name="Activate", exact=True).click()
    problems = page.locator("[role=alert] ul.problems")
    expect(problems).to_contain_text("Map at least one object to a door on the Mapping tab.")
    expect(problems).to_contain_text("Choose at least one trigger status.")
    screenshot(page, "activate-refused")


def test_staff_cannot_open_the_integration_settings_and_read_the_console_in_their_language(console, open_context):
    page = open_context(locale="de-DE").new_page()
    sign_in(page, console, STAFF, labels=("E-Mail", "Passwort", "Anmelden"))
    navigation = page.get_by_role("navigation")
    expect(navigation.get_by_role("link", name="Türzugang")).to_be_visible()
    expect(navigation.get_by_role("link", name="Integrationen")).to_have_count(0)
    page.goto(f"{console.url}/admin#/integrations")
    expect(page.get_by_role("alert")).to_contain_text("Nur Administratoren")
    # Their own choice beats the browser's language, and stays.
    page.get_by_label("Sprache").select_option("fr")
    expect(page.get_by_role("alert")).to_contain_text("Seuls les administrateurs")
    page.reload()
    expect(page.get_by_role("navigation").get_by_role("link", name="Accès aux portes")).to_be_visible()
    # The board is theirs: bookings with repair actions (no health, which is the admins').
    page.get_by_role("navigation").get_by_role("link", name="Accès aux portes").click()
    expect(page.locator("table.board tbody tr").first).to_be_visible()
    expect(page.get_by_role("heading", name="État de santé")).to_have_count(0)
    # On a tablet the page fits its width (the wide table scrolls inside its own box).
    page.set_viewport_size({"width": 820, "height": 1180})
    assert page.evaluate("document.documentElement.scrollWidth") <= 820
    screenshot(page, "board-tablet")
