"""GraphQL over HTTP: health, GraphiQL, limits, bad input and masked internal errors."""

import pytest

from addon.booking import services
from tests.booking.helpers import SET_STATUS, create_booking, create_object

pytestmark = pytest.mark.anyio

INTERNAL = "Internal error; see the server log."


def assert_no_internals(text: str) -> None:
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "sqlalchemy" not in text.lower()


async def test_healthz(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {"base", "booking"} <= set(body["addons"])


async def test_readyz_reports_an_unreachable_database_and_healthz_stays_ok(http, host, monkeypatch):
    def broken_session(**_options):
        raise OSError("connection refused")

    monkeypatch.setattr(host.database, "session", broken_session)
    response = await http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"database": "unreachable"}}
    assert "connection refused" not in response.text
    assert (await http.get("/healthz")).status_code == 200, "the process lives: no restart for a database outage"


async def test_graphiql_is_served_to_browsers(http, tokens):
    """To a caller with a token (the rule for callers without one: test_schema_access)."""
    response = await http.get("/graphql", headers={"Accept": "text/html", "Authorization": f"Bearer {tokens['frontend']}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


async def test_no_cors_headers_by_default(http, tokens):
    origin = "https://app.example"
    response = await http.options("/graphql", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
    response = await http.post("/graphql", json={"query": "{ viewer { role } }"},
                               headers={"Origin": origin, "Authorization": f"Bearer {tokens['frontend']}"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_graphiql_can_introspect(http, tokens):
    """GraphiQL's deep introspection query must not be cut by the depth limit. It needs a token
    or a signed-in user (without: test_schema_access)."""
    from graphql import get_introspection_query

    response = await http.post("/graphql", json={"query": get_introspection_query(descriptions=True)},
                               headers={"Authorization": f"Bearer {tokens['frontend']}"})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    types = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Booking", "BookableObject", "UserError"} <= types


async def test_queries_over_get(http, tokens):
    response = await http.get("/graphql", params={"query": "{ viewer { role } }"},
                              headers={"Authorization": f"Bearer {tokens['frontend']}", "Accept": "application/json"})
    assert response.status_code == 200
    assert response.json()["data"] == {"viewer": {"role": "FRONTEND"}}


async def test_several_root_fields_share_the_request_safely(gql):
    """Sibling fields resolve concurrently on one request session; none may trip over another."""
    obj = await create_object(gql, "room", "Room")
    await create_booking(gql, obj["id"])
    query = """{
      viewer { name } objects { code subObjects { code } } bookingStatuses { code } bookingFields { code }
      bookings(first: 5) { edges { node { reference customer { name } object { code } status { code } } } }
      a: object(id: "%s") { code } b: bookings(first: 1, status: "option") { edges { cursor } }
    }""" % obj["id"]
    for _ in range(5):
        data = await gql(query)
        assert data["a"] == {"code": "room"} and len(data["bookings"]["edges"]) == 1


def nested_objects(levels: int) -> str:
    """objects { parent { subObjects { parent { ... { code } } } } } with ``levels`` fields in all."""
    inner = "code"
    for n in range(levels - 1, 0, -1):
        inner = f"{'subObjects' if n % 2 else 'parent'} {{ code {inner} }}"
    return f"{{ objects {{ {inner} }} }}"


class TestQueryDepth:
    @pytest.fixture
    def env_overrides(self):
        # Nested lists are costly (tests/base/test_cost_limits.py); here only the depth limit counts.
        return {"IRESERVE_COST_BUDGET_ADMIN": "10000000000"}

    async def test_query_depth_is_limited(self, gql):
        main = await create_object(gql, "main", "Main")
        await create_object(gql, "sub", "Sub", parentId=main["id"])

        allowed = await gql.raw(nested_objects(9))
        assert "errors" not in allowed
        assert allowed["data"]["objects"][0]["subObjects"][0]["parent"]["code"] == "main"

        body = await gql.raw(nested_objects(14))
        assert body.get("data") is None
        assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": 10}
        assert "more than 10 levels deep" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query, message",
    [
        ("{ objects { code ", "Syntax Error"),
        ("{ objects { nonsense } }", "Cannot query field 'nonsense'"),
        ("query { bookings(first: \"ten\") { edges { cursor } } }", "Int cannot represent"),
        ("mutation { setBookingStatus(input: {}) { errors { code } } }", "bookingId"),
        ("", "No GraphQL query found"),
    ],
)
async def test_malformed_graphql_is_a_clear_error(http, tokens, query, message):
    response = await http.post("/graphql", json={"query": query},
                               headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert response.status_code in (200, 400)
    assert_no_internals(response.text)
    if response.headers["content-type"].startswith("application/json") and "errors" in response.json():
        assert message in " ".join(e["message"] for e in response.json()["errors"])
    else:
        assert message in response.text


@pytest.mark.parametrize(
    "content, content_type",
    [
        ("{not json", "application/json"),
        ('{"query": "{ viewer { name } }"', "application/json"),
        ('"just a string"', "application/json"),
        ("[1, 2, 3]", "application/json"),
        ("null", "application/json"),
        ('{"query": 42}', "application/json"),
        ('{"query": "{ viewer { name } }", "variables": "nope"}', "application/json"),
        ("query=%7B%7D", "application/x-www-form-urlencoded"),
        ("\xff\xfe garbage", "application/json"),
        ("{ viewer { name } }", "text/plain"),
    ],
)
async def test_malformed_http_bodies_are_client_errors(http, tokens, content, content_type):
    response = await http.post("/graphql", content=content.encode("utf-8", "surrogateescape"),
                               headers={"Content-Type": content_type, "Authorization": f"Bearer {tokens['admin']}"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert_no_internals(response.text)


async def test_unexpected_exceptions_are_masked(gql, host, monkeypatch, caplog):
    obj = await create_object(gql, "room", "Room")
    booking = await create_booking(gql, obj["id"])

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(services, "change_booking_status", broken)
    response = await gql.http.post("/graphql", json={
        "query": SET_STATUS, "variables": {"input": {"bookingId": booking["id"], "status": "paid"}}},
        headers={"Authorization": f"Bearer {gql.token}"})
    assert response.status_code == 200
    body = response.json()
    assert [e["message"] for e in body["errors"]] == [INTERNAL]
    assert "secret internals" not in response.text and "hunter2" not in response.text
    assert_no_internals(response.text)
    assert "secret internals" in caplog.text, "the details go to the server log"


async def test_masked_errors_in_queries_keep_the_rest_of_the_answer(gql, monkeypatch):
    from addon.booking.api import queries

    obj = await create_object(gql, "room", "Room")

    def broken(row):
        raise ZeroDivisionError("internal arithmetic")

    monkeypatch.setattr(queries.BookingStatusType, "from_model", staticmethod(broken))
    body = await gql.raw("query($id: ID!) { object(id: $id) { code } bookingStatuses { code } }", {"id": obj["id"]})
    assert body["data"] is None or body["data"]["object"] == {"code": "room"}
    assert [e["message"] for e in body["errors"]] == [INTERNAL]
    assert "arithmetic" not in str(body)


async def test_coded_errors_are_not_masked(gql):
    body = await gql.raw("{ bookings(first: 0) { edges { cursor } } }")
    assert body["errors"][0]["message"] != INTERNAL
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_unknown_routes_are_404(http):
    assert (await http.get("/nothing-here")).status_code == 404
