"""The console's server side: its page only for someone signed in, its texts per language, its
files from the package."""

from __future__ import annotations

import pytest

from addon.admin_console.web import console_msgids

pytestmark = pytest.mark.anyio


async def test_the_console_sends_strangers_to_the_sign_in_page(http):
    response = await http.get("/admin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login?next=%2Fadmin"


async def test_the_console_page_for_a_signed_in_caller(http, tokens):
    response = await http.get("/admin", headers={"Authorization": f"Bearer {tokens['staff']}",
                                                 "Accept-Language": "nl-NL,nl;q=0.9"})
    assert response.status_code == 200
    assert 'data-language="nl"' in response.text and 'type="module"' in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    script = await http.get("/admin/assets/js/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


async def test_the_console_texts_in_each_language(http):
    assert "Save & test connection" in console_msgids() and "Doors for {name}" in console_msgids()
    german = (await http.get("/admin/messages.json?lang=de")).json()
    assert german["language"] == "de"
    assert german["messages"]["Door access"] == "Türzugang"
    assert german["messages"]["Doors for {name}"] == "Türen für {name}"
    # Without a choice, the browser's language; an unknown one falls back to English.
    assert (await http.get("/admin/messages.json", headers={"Accept-Language": "fr"})).json()["language"] == "fr"
    english = (await http.get("/admin/messages.json?lang=xx")).json()
    assert english["language"] == "en" and english["messages"]["Door access"] == "Door access"
