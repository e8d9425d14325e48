"""HTTP request limits: a body over the size limit is a 413 (at once when its Content-Length says
so, and never read whole when it does not), JSON nested too deep is a 400 — never a 500."""

from __future__ import annotations

import json

import pytest

from addon.base.server.limits import MAX_JSON_DEPTH, ApiLimits, json_too_deep

pytestmark = pytest.mark.anyio

LIMIT = 20_000
CHUNK = 64 * 1024
FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture
def env_overrides():
    return {"IRESERVE_MAX_BODY_BYTES": str(LIMIT)}


class BodySource:
    """An ASGI ``receive`` that hands out a body of ``size`` bytes in chunks, made as they are
    asked for (never held whole), and counts what was taken."""

    def __init__(self, size: int, first: bytes = b'{"query": "') -> None:
        self.size, self.first, self.taken = size, first, 0

    async def __call__(self) -> dict:
        if self.taken >= self.size:
            return {"type": "http.disconnect"}
        piece = self.first if self.taken == 0 else b"x" * min(CHUNK, self.size - self.taken)
        self.taken += len(piece)
        return {"type": "http.request", "body": piece, "more_body": self.taken < self.size}


async def call_app(app, source: BodySource, headers: dict[str, str]) -> tuple[int, dict]:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/graphql", "raw_path": b"/graphql", "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, source, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body)


def assert_too_large(status: int, body: dict) -> None:
    assert status == 413
    error = body["errors"][0]
    assert error["extensions"] == {"code": "REQUEST_TOO_LARGE", "limit": LIMIT}
    assert str(LIMIT) in error["message"]


async def test_a_declared_length_over_the_limit_is_refused_before_reading(app, tokens):
    source = BodySource(FIFTY_MB)
    status, body = await call_app(app, source, {"content-type": "application/json", "content-length": str(FIFTY_MB),
                                                "authorization": f"Bearer {tokens['frontend']}"})
    assert_too_large(status, body)
    assert source.taken == 0


async def test_a_body_without_a_length_is_refused_once_past_the_limit(app, tokens):
    source = BodySource(FIFTY_MB)
    status, body = await call_app(app, source, {"content-type": "application/json",
                                                "authorization": f"Bearer {tokens['frontend']}"})
    assert_too_large(status, body)
    assert source.taken <= LIMIT + CHUNK, f"read {source.taken} bytes of a body refused at {LIMIT}"


async def test_a_body_longer_than_it_said_is_refused_too(app, tokens):
    source = BodySource(FIFTY_MB)
    status, body = await call_app(app, source, {"content-type": "application/json", "content-length": "100",
                                                "authorization": f"Bearer {tokens['frontend']}"})
    assert_too_large(status, body)
    assert source.taken <= LIMIT + CHUNK


async def test_a_body_within_the_limit_is_answered(http, tokens):
    padding = "x" * (LIMIT - 200)
    response = await http.post("/graphql", json={"query": "{ viewer { name } }",
                                                 "variables": {"p": padding}},
                               headers={"Authorization": f"Bearer {tokens['frontend']}"})
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"name": "test-frontend"}}}


async def test_over_the_limit_through_http(http, tokens):
    response = await http.post("/graphql", content=b'{"query": "' + b"x" * (2 * LIMIT) + b'"}',
                               headers={"Authorization": f"Bearer {tokens['frontend']}",
                                        "Content-Type": "application/json", "Accept-Language": "nl"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


def nested_body(depth: int) -> bytes:
    # The body object itself is one level, "variables" a second, "x" holds the rest.
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return ('{"query": "{ viewer { name } }", "variables": {"x": ' + inner + "}}").encode()


async def test_json_nested_a_thousand_deep_is_a_400_not_a_500(http, tokens):
    response = await http.post("/graphql", content=nested_body(1000),
                               headers={"Authorization": f"Bearer {tokens['frontend']}",
                                        "Content-Type": "application/json"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "REQUEST_TOO_DEEP", "limit": MAX_JSON_DEPTH}
    assert str(MAX_JSON_DEPTH) in error["message"]


async def test_json_at_the_depth_limit_is_read(http, tokens):
    headers = {"Authorization": f"Bearer {tokens['frontend']}", "Content-Type": "application/json"}
    response = await http.post("/graphql", content=nested_body(MAX_JSON_DEPTH), headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"viewer": {"name": "test-frontend"}}
    response = await http.post("/graphql", content=nested_body(MAX_JSON_DEPTH + 1), headers=headers)
    assert response.status_code == 400


@pytest.mark.parametrize(("text", "deep"), [
    ('{"a": [1, {"b": [2]}]}', False),  # 4 levels
    ('[' * 5 + ']' * 5, True),
    ('[{' * 2 + '}]' * 2, False),  # 4 levels, alternating kinds
    ('[{' * 3 + '}]' * 3, True),  # 6 levels
    ('{"a": "[[[[[[[[[[", "b": 1}', False),  # brackets inside a string do not count
    ('{"a": "\\"[[[[[[[[[[", "b": 1}', False),  # nor after an escaped quote
    ('{"a": "\\\\", "b": [[[[[[]]]]]]}', True),  # an escaped backslash ends no string early
    ('[[],[],[],[[]]]', False),  # wide, 3 deep
    ('[[[[', False),  # malformed: the parser says so
], ids=["object-4", "array-5", "alternating-4", "alternating-6", "in-string", "escaped-quote",
        "escaped-backslash", "wide", "malformed"])
def test_json_depth_is_measured_without_parsing(text, deep):
    assert json_too_deep(text.encode(), limit=4) is deep


def test_the_body_limit_defaults_to_one_mebibyte():
    assert ApiLimits.from_env({}).max_body_bytes == 1_048_576



# -- bodies that are not what they claim ------------------------------------------------------------

@pytest.mark.parametrize("body, says", [
    (b'{"query": "{ viewer { name } }", "variables": {"n": "\xff\xfe"}}', "UTF-8"),
    ("{\"query\": \"{ viewer { name } }\", \"x\": \"caf\u00e9\"}".encode("latin-1"), "UTF-8"),
    (b'{"query": "{ viewer { name } }"', "not valid JSON"),
    (b'"just a string"', "JSON object"),
], ids=["invalid UTF-8", "latin-1", "cut off", "not an object"])
async def test_a_body_that_is_not_utf8_json_is_a_400_with_a_json_answer(http, tokens, body, says):
    response = await http.post("/graphql", content=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_REQUEST"} and says in error["message"]
    assert "Traceback" not in response.text


async def test_strawberrys_own_refusals_are_json_too(http, tokens):
    response = await http.post("/graphql", content=b"{ viewer { name } }", headers={
        "Content-Type": "text/plain", "Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code == 400 and response.headers["content-type"].startswith("application/json")
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
