"""Trusted documents: graphql/operations/ published by hash; with IRESERVE_TRUSTED_DOCUMENTS=true
a frontend token (or no token) runs only those, staff and admins anything."""

from __future__ import annotations

import json

import pytest

from addon.base.server.trusted_documents import (
    MANIFEST,
    OPERATIONS_DIR,
    TrustedDocuments,
    document_hash,
)
from addon.base.tools.trusted_documents import (
    build_manifest,
    render_manifest,
    write_manifest,
)
from tests.conftest import count_statements

pytestmark = pytest.mark.anyio

VIEWER_FILE = OPERATIONS_DIR / "viewer.graphql"
UNLISTED = "{ viewer { name } }"


def persisted(digest: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def send(http, token: str | None, *, query: str | None = None, extensions: dict | None = None,
               variables: dict | None = None) -> dict:
    body: dict = {"variables": variables or {}}
    if query is not None:
        body["query"] = query
    if extensions is not None:
        body["extensions"] = extensions
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def code(body: dict) -> str:
    assert body["data"] is None, body
    [error] = body["errors"]
    return error["extensions"]["code"]


def test_the_manifest_lists_every_operation_as_it_is_now():
    expected = render_manifest(build_manifest())
    current = MANIFEST.read_text(encoding="utf-8") if MANIFEST.exists() else ""
    assert current == expected, "graphql/trusted-documents.json is out of date: run 'make trusted-documents'"
    documents = json.loads(current)["documents"]
    files = sorted(p.name for p in OPERATIONS_DIR.glob("*.graphql"))
    assert sorted(entry["file"] for entry in documents.values()) == files
    assert documents[document_hash(VIEWER_FILE.read_text(encoding="utf-8"))]["name"] == "Viewer"


def test_a_document_changed_after_the_manifest_is_not_trusted(tmp_path):
    folder = tmp_path / "operations"
    folder.mkdir()
    (folder / "a.graphql").write_text("query A { viewer { name } }\n")
    (folder / "b.graphql").write_text("# b\nquery B { viewer { role } }\n")
    manifest = tmp_path / "trusted-documents.json"
    assert write_manifest(manifest, folder) == 2
    (folder / "b.graphql").write_text("query B { bookings(first: 500) { edges { cursor } } }\n")
    loaded = TrustedDocuments.load(manifest, folder)
    assert [d.name for d in loaded.by_hash.values()] == ["A"]
    assert document_hash("query A { viewer { name } }\n") in loaded


class TestEnforced:
    @pytest.fixture
    def env_overrides(self):
        return {"IRESERVE_TRUSTED_DOCUMENTS": "true"}

    async def test_a_frontend_token_runs_a_trusted_document_by_hash(self, http, tokens):
        body = await send(http, tokens["frontend"], extensions=persisted(document_hash(VIEWER_FILE.read_text())))
        assert "errors" not in body, body
        assert body["data"]["viewer"]["name"] == "test-frontend"

    async def test_and_by_its_exact_text(self, http, tokens):
        body = await send(http, tokens["frontend"], query=VIEWER_FILE.read_text())
        assert body["data"]["viewer"]["name"] == "test-frontend"

    async def test_and_over_get(self, http, tokens):
        digest = document_hash(VIEWER_FILE.read_text())
        response = await http.get("/graphql", params={"extensions": json.dumps(persisted(digest))},
                                  headers={"Authorization": f"Bearer {tokens['frontend']}", "Accept": "application/json"})
        assert response.status_code == 200
        assert response.json()["data"]["viewer"]["name"] == "test-frontend"

    async def test_a_frontend_token_cannot_run_a_document_of_its_own(self, http, host, tokens):
        with count_statements(host) as counter:
            body = await send(http, tokens["frontend"], query="{ bookings(first: 5) { edges { cursor } } }")
        assert code(body) == "DOCUMENT_NOT_TRUSTED"
        assert "graphql/operations" in body["errors"][0]["message"]
        assert not [s for s in counter["sql"] if "booking" in s.lower()]
        # The text must be the file's, byte for byte: a reformatted copy is another document.
        assert code(await send(http, tokens["frontend"], query=VIEWER_FILE.read_text().strip())) == "DOCUMENT_NOT_TRUSTED"

    async def test_nor_can_a_caller_without_a_token(self, http):
        assert code(await send(http, None, query=UNLISTED)) == "DOCUMENT_NOT_TRUSTED"

    async def test_an_unknown_hash_is_not_found(self, http, tokens):
        body = await send(http, tokens["frontend"], extensions=persisted("0" * 64))
        assert code(body) == "PERSISTED_QUERY_NOT_FOUND"
        assert "0" * 64 in body["errors"][0]["message"]

    @pytest.mark.parametrize("role", ["staff", "admin"])
    async def test_staff_and_admins_are_not_restricted(self, http, tokens, role):
        body = await send(http, tokens[role], query=UNLISTED)
        assert body == {"data": {"viewer": {"name": f"test-{role}"}}}
        body = await send(http, tokens[role], extensions=persisted(document_hash(VIEWER_FILE.read_text())))
        assert body["data"]["viewer"]["name"] == f"test-{role}"


class TestNotEnforced:
    async def test_anyone_runs_any_document_and_hashes_work(self, http, tokens):
        assert await send(http, tokens["frontend"], query=UNLISTED) == {"data": {"viewer": {"name": "test-frontend"}}}
        body = await send(http, tokens["frontend"], extensions=persisted(document_hash(VIEWER_FILE.read_text())))
        assert body["data"]["viewer"]["name"] == "test-frontend"

    async def test_a_hash_that_does_not_match_the_text_is_refused(self, http, tokens):
        body = await send(http, tokens["admin"], query=UNLISTED,
                          extensions=persisted(document_hash(VIEWER_FILE.read_text())))
        assert code(body) == "PERSISTED_QUERY_HASH_MISMATCH"

    @pytest.mark.parametrize("extensions", [
        {"persistedQuery": {"version": 2, "sha256Hash": "0" * 64}},
        {"persistedQuery": {"version": 1, "sha256Hash": "abc"}},
        {"persistedQuery": "yes"},
    ], ids=["version-2", "short-hash", "not-an-object"])
    async def test_a_malformed_persisted_query_is_refused(self, http, tokens, extensions):
        assert code(await send(http, tokens["admin"], extensions=extensions)) == "PERSISTED_QUERY_NOT_SUPPORTED"

    async def test_an_unknown_hash_with_an_operation_name_is_answered_with_its_code(self, http, tokens):
        """The refusal keeps the requested operation's name: strawberry finds "its" operation and
        answers the code, not an HTTP 400 about an unknown operation."""
        body = await send(http, tokens["frontend"], extensions=persisted("f" * 64))
        assert code(body) == "PERSISTED_QUERY_NOT_FOUND"
        response = await http.post("/graphql", json={"operationName": "Viewer", "extensions": persisted("f" * 64)},
                                   headers={"Authorization": f"Bearer {tokens['frontend']}"})
        assert response.status_code == 200
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
