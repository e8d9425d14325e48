"""Who may read the schema: introspection and GraphiQL need a signed-in user or an API token,
unless IRESERVE_PUBLIC_SCHEMA=true opens them (for development)."""

from __future__ import annotations

import pytest

from addon.base.core.events import commit
from addon.base.core.settings import Settings, SettingsError
from addon.base.identity import sessions
from addon.base.identity.users import create_user
from graphql import get_introspection_query

pytestmark = pytest.mark.anyio

INTROSPECTIONS = {
    "schema": "{ __schema { queryType { name } } }",
    "type": '{ __type(name: "Booking") { name fields { name } } }',
    "fragment": "query { ...Types } fragment Types on Query { __schema { types { name } } }",
    "graphiql": get_introspection_query(descriptions=True),
}


@pytest.fixture
def env_overrides(request) -> dict[str, str]:
    return getattr(request, "param", {})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(http, query: str, headers: dict | None = None) -> dict:
    response = await http.post("/graphql", json={"query": query}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


def assert_refused(body: dict) -> None:
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "API token" in error["message"]


@pytest.mark.parametrize("kind", sorted(INTROSPECTIONS))
async def test_introspection_needs_a_principal(http, tokens, kind):
    assert_refused(await post(http, INTROSPECTIONS[kind]))
    assert_refused(await post(http, INTROSPECTIONS[kind], bearer("irs_not-a-token")))


async def test_a_revoked_token_may_not_introspect(host, http, tokens):
    from sqlalchemy import update

    from addon.base.identity.models import ApiToken

    assert "errors" not in await post(http, INTROSPECTIONS["schema"], bearer(tokens["frontend"]))
    async with host.database.session() as session:
        await session.execute(update(ApiToken).where(ApiToken.name == "test-frontend").values(revoked_at=host.clock.now()))
        await commit(session)
    assert_refused(await post(http, INTROSPECTIONS["schema"], bearer(tokens["frontend"])))


async def test_introspection_over_get_is_refused_too(http):
    response = await http.get("/graphql", params={"query": INTROSPECTIONS["type"]}, headers={"Accept": "application/json"})
    assert_refused(response.json())


@pytest.mark.parametrize("role", ["frontend", "staff", "admin"])
async def test_every_role_may_introspect(http, tokens, role):
    body = await post(http, INTROSPECTIONS["graphiql"], bearer(tokens[role]))
    assert "errors" not in body
    assert "Booking" in {t["name"] for t in body["data"]["__schema"]["types"]}


async def test_typename_is_not_introspection_of_the_schema(http):
    assert await post(http, "{ __typename }") == {"data": {"__typename": "Query"}}


async def test_graphiql_without_a_principal_says_where_to_sign_in(http):
    for headers in ({}, bearer("irs_not-a-token"), {"Cookie": f"{sessions.SESSION_COOKIE}=made-up"}):
        response = await http.get("/graphql", headers={"Accept": "text/html", **headers})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert 'href="/admin/login?next=%2Fgraphql"' in response.text
        assert "Sign in to use GraphiQL" in response.text
        assert "graphiql.min.js" not in response.text.lower() and "__schema" not in response.text


async def test_graphiql_with_a_token(http, tokens):
    response = await http.get("/graphql", headers={"Accept": "text/html", **bearer(tokens["frontend"])})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_graphiql_for_a_signed_in_browser_sends_the_csrf_token(host, http):
    async with host.database.session() as session:
        user = await create_user(session, email="anna@example.com", name="Anna Admin", role="staff",
                                 password="a long enough passphrase 42")
        session_id = await sessions.start(session, user, sessions.sign_in_settings(host), host.clock.now(), None)
        await commit(session)
    response = await http.get("/graphql", headers={"Accept": "text/html",
                                                   "Cookie": f"{sessions.SESSION_COOKIE}={session_id}"})
    assert response.status_code == 200
    # Its queries carry the session's CSRF token, read from our cookie, in our header (graphiql.js).
    assert f'data-csrf-cookie="{sessions.CSRF_COOKIE}"' in response.text
    assert f'data-csrf-header="{sessions.CSRF_HEADER}"' in response.text
    # ... which is what its introspection needs to be answered.
    proof = {"Cookie": f"{sessions.SESSION_COOKIE}={session_id}", "Origin": "http://testserver",
             sessions.CSRF_HEADER: sessions.csrf_token_for(session_id)}
    body = await post(http, INTROSPECTIONS["graphiql"], proof)
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"


@pytest.mark.parametrize("env_overrides", [{"IRESERVE_PUBLIC_SCHEMA": "true"}], indirect=True)
async def test_a_public_schema_is_open_to_everyone(http):
    body = await post(http, INTROSPECTIONS["graphiql"])
    assert "errors" not in body and body["data"]["__schema"]["queryType"]["name"] == "Query"
    response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    # Only the schema is open: the data still needs a token.
    body = await post(http, "{ bookings(first: 1) { edges { cursor } } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_the_setting():
    assert Settings.from_env({}).public_schema is False
    assert Settings.from_env({"IRESERVE_PUBLIC_SCHEMA": "yes"}).public_schema is True
    with pytest.raises(SettingsError, match="IRESERVE_PUBLIC_SCHEMA must be true or false"):
        Settings.from_env({"IRESERVE_PUBLIC_SCHEMA": "maybe"})


# -- no hints of the schema for whoever may not read it ----------------------------------------------

MISSPELT = {
    # what is sent: (query, variables), and the name graphql-core would suggest
    "field": (("{ bookngs { totalCount } }", None), "bookings"),
    "argument": (("{ bookings(frist: 2) { totalCount } }", None), "first"),
    "type": (("query($o: BookingOrdr) { bookings(orderBy: $o) { totalCount } }", None), "BookingOrder"),
    "enum value": (("query($o: BookingOrder) { bookings(orderBy: $o) { totalCount } }",
                    {"o": {"field": "STRT"}}), "START"),
    "enum literal": (("{ bookings(orderBy: {field: STRT}) { totalCount } }", None), "START"),
    "input field": (("{ bookings(orderBy: {feld: START}) { totalCount } }", None), "field"),
}


async def post_variables(http, query: str, variables: dict | None, headers: dict | None = None) -> dict:
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("kind", sorted(MISSPELT))
async def test_a_caller_who_may_not_read_the_schema_gets_no_suggestions(http, tokens, kind):
    (query, variables), suggested = MISSPELT[kind]
    anonymous = await post_variables(http, query, variables)
    messages = [error["message"] for error in anonymous["errors"]]
    assert messages and all(error["extensions"]["code"] for error in anonymous["errors"])
    assert not [m for m in messages if "Did you mean" in m or f"'{suggested}'" in m], messages
    # Whoever may read the schema keeps the hint: it helps and tells them nothing new.
    signed_in = await post_variables(http, query, variables, bearer(tokens["frontend"]))
    assert any("Did you mean" in e["message"] and suggested in e["message"] for e in signed_in["errors"]), signed_in


@pytest.mark.parametrize("env_overrides", [{"IRESERVE_PUBLIC_SCHEMA": "true"}], indirect=True)
async def test_a_public_schema_keeps_its_suggestions(http):
    body = await post(http, "{ bookngs { totalCount } }")
    assert "Did you mean 'bookings'" in body["errors"][0]["message"]
