"""Requests signed in by the session cookie must prove they come from our own pages: the CSRF
token in ``X-CSRF-Token`` and our own ``Origin`` (or ``Referer``). Bearer tokens are unaffected."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from addon.base.identity.sessions import from_other_origin, from_own_origin
from addon.booking.public import BookableObject
from tests.base.identity_helpers import (
    ORIGIN,
    VIEWER,
    add_user,
    browser,
    code_of,
    graphql,
    signed_in,
)
from tests.booking.helpers import CREATE_OBJECT

pytestmark = pytest.mark.anyio

CREATE = {"input": {"code": "sauna", "name": "Sauna"}}


async def objects(host) -> int:
    async with host.database.session(read_only=True) as session:
        return (await session.execute(select(func.count()).select_from(BookableObject))).scalar_one()


@pytest.fixture
async def client(host, app):
    await add_user(host)
    async with browser(app) as signed:
        await signed_in(signed)
        yield signed


async def test_a_page_of_ours_may_change_things_with_the_cookie(client, host):
    response = await graphql(client, CREATE_OBJECT, CREATE)
    assert response.status_code == 200
    assert response.json()["data"]["createObject"]["errors"] == []
    assert await objects(host) == 1


@pytest.mark.parametrize("headers, why", [
    ({"Origin": "https://evil.example"}, "a cross-site form or script: no token"),
    ({"Origin": ORIGIN}, "no token"),
    ({"Origin": ORIGIN, "X-CSRF-Token": "forged"}, "a wrong token"),
    ({"Origin": ORIGIN, "X-CSRF-Token": ""}, "an empty token"),
])
async def test_a_cookie_request_without_the_right_token_is_refused(client, host, headers, why):
    response = await graphql(client, CREATE_OBJECT, CREATE, csrf=False, headers=headers)
    assert response.status_code == 403, why
    body = response.json()
    assert body["data"] is None and code_of(body) == "CSRF_REFUSED"
    assert "X-CSRF-Token" in body["errors"][0]["message"]
    assert await objects(host) == 0, "nothing ran"


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://127.0.0.1:8001"},  # another port is another origin
    {"Referer": "https://evil.example/page"},
    {},  # neither Origin nor Referer
])
async def test_the_token_alone_is_not_enough_without_our_origin(client, host, headers):
    sent = {"X-CSRF-Token": client.cookies["ireserve_csrf"], **headers}
    response = await graphql(client, CREATE_OBJECT, CREATE, csrf=False, headers=sent)
    assert response.status_code == 403 and code_of(response.json()) == "CSRF_REFUSED"
    assert await objects(host) == 0


async def test_our_referer_stands_in_for_a_missing_origin(client):
    sent = {"X-CSRF-Token": client.cookies["ireserve_csrf"], "Referer": f"{ORIGIN}/admin/console"}
    response = await graphql(client, VIEWER, csrf=False, headers=sent)
    assert response.json()["data"]["viewer"]["kind"] == "USER"


async def test_the_token_of_another_session_does_not_fit(client, host, app):
    await add_user(host, "sam@example.com", "Sam Staff", "staff")
    async with browser(app) as other:
        await signed_in(other, "sam@example.com")
        foreign = other.cookies["ireserve_csrf"]
    response = await graphql(client, VIEWER, csrf=False, headers={"X-CSRF-Token": foreign, "Origin": ORIGIN})
    assert response.status_code == 403


async def test_reads_need_the_token_as_well(client):
    """A cross-site page cannot read the answer, but a GET/POST query still runs as the person."""
    response = await client.get("/graphql", params={"query": VIEWER}, headers={"Accept": "application/json"})
    assert response.status_code == 403 and code_of(response.json()) == "CSRF_REFUSED"


async def test_the_graphiql_page_opens_with_the_cookie_alone(client):
    """Navigating to GraphiQL runs nothing; its queries then carry the token."""
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


async def test_bearer_requests_are_unaffected(http, tokens, host):
    response = await http.post("/graphql", json={"query": CREATE_OBJECT, "variables": CREATE},
                               headers={"Authorization": f"Bearer {tokens['admin']}", "Origin": "https://evil.example"})
    assert response.status_code == 200 and response.json()["data"]["createObject"]["errors"] == []
    assert await objects(host) == 1


async def test_a_bearer_token_wins_over_the_cookie(client, tokens):
    response = await graphql(client, VIEWER, csrf=False, headers={"Authorization": f"Bearer {tokens['staff']}"})
    assert response.json()["data"]["viewer"] == {"kind": "TOKEN", "name": "test-staff", "role": "STAFF",
                                                 "email": None}
    wrong = await graphql(client, VIEWER, headers={"Authorization": "Bearer irs_wrong"})
    assert code_of(wrong.json()) == "UNAUTHENTICATED", "a wrong bearer token does not fall back to the cookie"


async def test_a_stale_cookie_without_a_token_is_simply_ignored(app, tokens):
    async with browser(app) as client:
        client.cookies.set("ireserve_session", "long-gone")
        response = await graphql(client, VIEWER, csrf=False)
    assert response.status_code == 200 and code_of(response.json()) == "UNAUTHENTICATED"


def request_to(host_header: str, scheme: str = "http", **headers: str) -> Request:
    raw = [(b"host", host_header.encode())] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": "POST", "path": "/graphql", "query_string": b"", "scheme": scheme,
                    "headers": raw, "server": ("10.0.0.1", 8000)})


@pytest.mark.parametrize("request_scheme, origin, ours", [
    ("https", "https://booking.example.com", True),
    ("http", "https://booking.example.com", True),  # TLS ended at a proxy in front of us
    ("https", "http://booking.example.com", False),  # a plain-http page cannot speak for the https site
    ("https", "https://booking.example.com.evil.test", False),
    ("https", "https://BOOKING.example.com", True),
    ("https", "https://booking.example.com:444", False),
])
def test_what_counts_as_our_origin(request_scheme, origin, ours):
    request = request_to("booking.example.com", request_scheme, Origin=origin)
    assert from_own_origin(request) is ours
    assert from_other_origin(request) is not ours


def test_no_origin_and_no_referer_is_neither_ours_nor_another_sites():
    request = request_to("booking.example.com", "https")
    assert not from_own_origin(request) and not from_other_origin(request)
