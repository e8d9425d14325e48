"""GraphiQL at /graphql from our own files: it renders for a signed-in admin, runs a documented
operation with the session (no token to paste), and no request leaves the machine."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.admin_console.conftest import ADMIN, screenshot, sign_in


def test_graphiql_renders_and_runs_a_query_with_the_session_offline(console, open_context):
    context = open_context()
    page = context.new_page()
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in(page, console, ADMIN)
    page.goto(f"{console.url}/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()

    operations = page.get_by_label("Documented operations")
    expect(operations.locator("option", has_text="viewer.graphql")).to_have_count(1)
    operations.select_option(label=operations.locator("option", has_text="viewer.graphql").inner_text())
    page.get_by_role("button", name="Load into the editor").click()
    expect(page.locator(".graphiql-query-editor")).to_contain_text("query Viewer")
    page.locator(".graphiql-execute-button").click()
    result = page.locator(".graphiql-response")
    expect(result).to_contain_text('"name": "Ada Admin"')
    expect(result).to_contain_text('"role": "ADMIN"')
    # GraphiQL itself is vendored (its editors have unlabelled inputs); our page around it is checked.
    screenshot(page, "graphiql", vendored=(".graphiql-container",))

    assert context.requests.urls, "requests were recorded"
    assert context.requests.foreign() == []
    assert not [p for p in problems if "Content Security Policy" in p], problems
