"""Every GraphQL error carries extensions.code: parse, validation, variables, bad values (with a
useful message that does not quote the value), auth, limits and internal errors."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-value-do-not-echo"
DATES = "query($from: DateTime) { bookings(first: 1, startsFrom: $from) { edges { cursor } } }"


async def post(http, token: str | None, query: str, variables: dict | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def codes(body: dict) -> list[str]:
    errors = body.get("errors") or []
    assert errors, body
    missing = [e for e in errors if not (e.get("extensions") or {}).get("code")]
    assert not missing, f"errors without extensions.code: {missing}"
    return [e["extensions"]["code"] for e in errors]


# Whatever the mistake, the answer's errors are coded; (request, variables, role, expected codes)
CASES = {
    "syntax": ("{ viewer { name ", None, "frontend", ["GRAPHQL_PARSE_FAILED"]),
    "unknown-field": ("{ viewer { nope } }", None, "frontend", ["GRAPHQL_VALIDATION_FAILED"]),
    "unused-variable": ("query($x: Int) { viewer { name } }", None, "frontend", ["GRAPHQL_VALIDATION_FAILED"]),
    "wrong-variable-type": ("query($n: Int) { bookings(first: $n) { edges { cursor } } }", {"n": "many"}, "frontend",
                            ["BAD_USER_INPUT"]),
    "missing-variable": ("query($n: Int!) { bookings(first: $n) { edges { cursor } } }", {}, "frontend",
                         ["BAD_USER_INPUT"]),
    "bad-date-variable": (DATES, {"from": SECRET}, "frontend", ["BAD_USER_INPUT"]),
    "bad-date-literal": ('{ bookings(first: 1, startsFrom: "' + SECRET + '") { edges { cursor } } }', None,
                         "frontend", ["BAD_USER_INPUT"]),
    "no-token": ("{ bookings(first: 1) { edges { cursor } } }", None, None, ["UNAUTHENTICATED"]),
    "role-too-low": ("{ users { email } }", None, "frontend", ["FORBIDDEN"]),
    "too-costly": ("{ a: bookings(first: 500) { edges { node { reference object { name } } } } "
                   "b: bookings(first: 500) { edges { node { reference customer { name } } } } "
                   "c: bookings(first: 500) { edges { node { reference start end } } } }",
                   None, "frontend", ["QUERY_TOO_COSTLY"]),
    "page-too-large": ("{ bookings(first: 100000) { edges { cursor } } }", None, "admin", ["BAD_USER_INPUT"]),
    "page-zero": ("{ bookings(first: 0) { edges { cursor } } }", None, "admin", ["BAD_USER_INPUT"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_every_error_has_a_code(http, tokens, case):
    query, variables, role, expected = CASES[case]
    body = await post(http, tokens[role] if role else None, query, variables)
    assert codes(body) == expected
    assert SECRET not in str(body), "the answer quotes the value sent"


@pytest.mark.parametrize("how", ["variable", "literal"])
async def test_a_date_that_cannot_be_read_says_what_is_expected(http, tokens, how):
    if how == "variable":
        body = await post(http, tokens["frontend"], DATES, {"from": "12/06/2026 14:00"})
    else:
        body = await post(http, tokens["frontend"], '{ bookings(first: 1, startsFrom: "12/06/2026 14:00") '
                                                     '{ edges { cursor } } }')
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "DateTime" in error["message"] and "ISO 8601" in error["message"]
    assert "2026-06-12T14:00:00+02:00" in error["message"], "an example of what is expected"
    assert "12/06/2026" not in error["message"]
    if how == "variable":
        assert "$from" in error["message"]
    assert body["data"] is None


async def test_a_readable_date_still_works(http, tokens):
    body = await post(http, tokens["frontend"], DATES, {"from": "2026-06-12T14:00:00+02:00"})
    assert "errors" not in body, body


async def test_an_internal_error_is_masked_with_its_code(http, tokens, monkeypatch, caplog):
    from addon.base.identity import viewer as api

    def broken(*_args):
        raise RuntimeError("internal detail: password=hunter2")

    monkeypatch.setattr(api, "ViewerKind", broken)
    body = await post(http, tokens["frontend"], "{ viewer { name } }")
    [error] = body["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["message"] == "Internal error; see the server log."
    assert "hunter2" not in str(body)
    assert "hunter2" in caplog.text, "the details go to the server log"


async def test_errors_are_coded_by_the_schema_not_by_http(app):
    """The codes come from the schema itself, so every transport (HTTP, WebSocket) answers them."""
    from types import SimpleNamespace

    schema = next(route.endpoint.schema for route in app.routes if getattr(route, "path", None) == "/graphql")
    result = await schema.execute("{ viewer { ", context_value=SimpleNamespace(principal=None, response=None))
    assert [e.extensions["code"] for e in result.errors] == ["GRAPHQL_PARSE_FAILED"]
