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
    parts = {p["backend"]: p for p in (await http.get("/admin/parts.json")).json()["parts"]}
    assert sorted(parts) == ["resivo", "salto_ks"]
    assert parts["resivo"]["fields"].startswith("resivo {")
    assert parts["salto_ks"]["fields"].startswith("saltoKs {")
    for part in parts.values():
        script = await http.get(part["script"])
        assert script.status_code == 200 and "export const tabs" in script.text
    # A part may be several modules: the entry imports its tabs from beside it.
    iq_setup = await http.get("/admin/parts/salto_ks/iq_setup.js")
    assert iq_setup.status_code == 200 and "export async function iqSetupTab" in iq_setup.text


async def test_a_parts_texts_are_translated_with_the_consoles(http):
    """Salto KS's tabs: the set-up guide's labels, in each language (extracted by make i18n)."""
    labels = ("IQ OTP setup", "Resolve site ID", "Test / request access", "GET PIN", "Set PIN", "IQ is activated",
              "Lock may open from status", "Open-action field", "Check-in status")
    for language in ("nl", "de", "fr"):
        served = (await http.get(f"/admin/messages.json?lang={language}")).json()["messages"]
        for label in labels:
            assert served.get(label) not in (None, "", label), (language, label)
    english = (await http.get("/admin/messages.json?lang=en")).json()["messages"]
    assert all(english[label] == label for label in labels)
