"""The console with a lock vendor that is not Resivo, and without the resivo addon: the in-memory
test lock (tests/door_access/memory_backend.py) brings its own console part (memory_part/), and
the set-up guide works with it from "Add integration" to an active integration."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from addon.base.public import load_host
from addon.door_access.public import ConsolePart, register_backend, register_console_part
from tests.admin_console.conftest import ADMIN, Console, _seed, assert_every_control_labelled, sign_in
from tests.conftest import base_environ
from tests.door_access.memory_backend import MemoryBackend, MemoryVendor
from tests.support.live_server import LiveServer

PART = Path(__file__).resolve().parent / "memory_part"


@pytest.fixture
def console_without_resivo(tmp_path, database_url, clock):
    host = load_host(wanted=["admin_console"], environ=base_environ(tmp_path, database_url), clock=clock)
    assert "resivo" not in host.addon_names
    register_backend(host, MemoryBackend(MemoryVendor()))
    register_console_part(host, ConsolePart(backend="memory", static_dir=PART, script="memory.js"))
    from addon.base.public import create_app

    server = LiveServer(create_app(host)).start()
    console = Console(server)
    console.run(_seed(host))
    yield console
    server.stop()


def test_the_set_up_guide_with_a_backend_that_is_not_resivo(console_without_resivo, open_context):
    console = console_without_resivo
    context = open_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, console, ADMIN)

    page.get_by_role("link", name="Add integration").click()
    expect(page.get_by_label("Backend").locator("option:checked")).to_have_text("Memory lock")
    page.get_by_label("Name").fill("Dune house doors")
    page.get_by_role("button", name="Add integration").click()

    # Authentication: the backend's own tab, from the part it registered (served by the console).
    expect(page.get_by_role("tab", name="Authentication")).to_have_attribute("aria-selected", "true")
    doors = page.locator("table.memory-doors")
    expect(doors.locator("tr", has_text="Main door")).to_contain_text("online")
    expect(doors.locator("tr", has_text="Cellar door")).to_contain_text("offline")
    assert_every_control_labelled(page)

    page.get_by_role("tab", name="Details").click()
    page.get_by_label("Trigger statuses (create)").select_option(["confirmed"])
    page.get_by_label("Revoke statuses").select_option(["cancelled"])
    page.get_by_label("Booking field for authorisation id").select_option("resivo_authorization_id")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")

    # Mapping: the memory lock's live doors.
    page.get_by_role("tab", name="Mapping").click()
    page.get_by_role("button", name="Choose doors for Studio building").click()
    building = page.get_by_role("group", name="Doors for Studio building")
    expect(building.locator("li", has_text="Cellar door")).to_contain_text("offline")
    building.get_by_label("Main door").check()
    page.get_by_role("button", name="Review and save").click()
    page.get_by_role("dialog").get_by_role("button", name="Save").click()
    expect(page.locator(".save-result [role=status]")).to_contain_text("Saved 1 object.")

    page.get_by_role("tab", name="Activate").click()
    page.get_by_role("button", name="Activate", exact=True).click()
    expect(page.get_by_role("button", name="Deactivate")).to_be_visible()

    assert errors == [], errors
    assert not any("resivo" in url for url in context.requests.urls), "nothing asked for Resivo"
    assert context.requests.foreign() == []
