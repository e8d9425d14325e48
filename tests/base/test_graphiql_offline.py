"""GraphiQL needs nothing from outside: its page names only our own files, which are the vendored
ones recorded in VENDORED.json (checked here without any network), and the documented operations
come from our own server."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from addon.base.tools.vendoring import MANIFEST, PINNED, VENDOR_DIR

pytestmark = pytest.mark.anyio


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_vendored_files_are_the_recorded_ones():
    recorded = json.loads(MANIFEST.read_text())["packages"]
    assert [(p["package"], p["version"]) for p in recorded] == [(p.name, p.version) for p in PINNED]
    for package, pinned in zip(recorded, PINNED, strict=True):
        assert package["integrity"] == pinned.integrity and package["license"] == "MIT"
        assert set(package["files"]) == set(pinned.files.values())
        for name, digest in package["files"].items():
            assert hashlib.sha256((VENDOR_DIR / name).read_bytes()).hexdigest() == digest, name


async def test_the_graphiql_page_loads_only_our_own_files(http, tokens):
    response = await http.get("/graphql", headers={"Accept": "text/html", **bearer(tokens["admin"])})
    assert response.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert urls and all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert "default-src 'self'" in response.headers["content-security-policy"]
    for url in urls:
        if url.startswith("/assets/"):
            asset = await http.get(url)
            assert asset.status_code == 200, url


async def test_documented_operations_for_graphiql(http, tokens):
    refused = await http.get("/graphql/operations.json")
    assert refused.status_code == 401 and refused.json() == {"operations": []}
    response = await http.get("/graphql/operations.json", headers=bearer(tokens["admin"]))
    operations = {o["file"]: o for o in response.json()["operations"]}
    viewer = operations["viewer.graphql"]
    assert viewer["name"] == "Viewer" and viewer["kind"] == "query" and "viewer" in viewer["text"]
    assert operations["door_integration.graphql"]["role"] == "admin"
    assert operations["door_integration.graphql"]["variables"].startswith("{")
