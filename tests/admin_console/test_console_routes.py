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
    assert "Doors for {name}" in console_msgids()
    # A backend's console part brings its own texts (Resivo's Authentication tab), served with the console's.
    assert "Save & test connection" not in console_msgids()
    german = (await http.get("/admin/messages.json?lang=de")).json()
    assert german["messages"]["Save & test connection"] != "Save & test connection"
    assert german["language"] == "de"
    assert german["messages"]["Door access"] == "Türzugang"
    assert german["messages"]["Doors for {name}"] == "Türen für {name}"
    # Without a choice, the browser's language; an unknown one falls back to English.
    assert (await http.get("/admin/messages.json", headers={"Accept-Language": "fr"})).json()["language"] == "fr"
    english = (await http.get("/admin/messages.json?lang=xx")).json()
    assert english["language"] == "en" and english["messages"]["Door access"] == "Door access"


async def test_the_parts_backends_add_are_listed_and_served(http):
    parts = (await http.get("/admin/parts.json")).json()["parts"]
    assert [p["backend"] for p in parts] == ["resivo"]
    assert parts[0]["fields"].startswith("resivo {")
    script = await http.get(parts[0]["script"])
    assert script.status_code == 200 and "export const tabs" in script.text
