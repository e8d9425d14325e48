"""Cost, alias, token and depth limits: an expensive document is refused before it runs, with a
coded error that says the cost and the budget, while other requests go on being answered."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from addon.base.core.settings import SettingsError
from addon.base.server.limits import ApiLimits, api_limits, repeated_fields
from addon.base.server.query_cost import query_cost
from addon.base.server.schema import build_schema
from addon.base.server.trusted_documents import OPERATIONS_DIR
from graphql import parse
from tests.base.test_graphql_operations import Operation
from tests.conftest import count_statements

pytestmark = pytest.mark.anyio

PAGE = "bookings(first: 500) { edges { node { reference } } }"
ONE_PAGE_COST = 1 + 500 + 1 + 500 * (1 + 1)  # bookings, the rows of its page, edges; node and reference per item
HUNDRED_PAGES = "{ " + " ".join(f"a{i}: {PAGE}" for i in range(100)) + " }"
BUDGETS = {"frontend": 5_000, "staff": 50_000, "admin": 100_000}


class _AnyRole:
    def __eq__(self, other) -> bool:
        return isinstance(other, str) and other.lower() == "frontend"


ANY_ROLE = _AnyRole()  # how the role is spelled (frontend, FRONTEND) is not this module's business


async def post(http, token: str | None, query: str, variables: dict | None = None, **extra) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}, **extra},
                               headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def only_error(body: dict) -> dict:
    assert body["data"] is None, body
    assert len(body["errors"]) == 1, body["errors"]
    return body["errors"][0]


def booking_statements(counter) -> list[str]:
    return [s for s in counter["sql"] if "booking" in s.lower()]


@pytest.mark.parametrize("role", sorted(BUDGETS))
async def test_a_hundred_aliased_pages_are_refused_for_every_role_before_anything_runs(http, host, tokens, role):
    with count_statements(host) as counter:
        error = only_error(await post(http, tokens[role], HUNDRED_PAGES))
    cost, budget = 100 * ONE_PAGE_COST, BUDGETS[role]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": budget}
    assert str(cost) in error["message"] and str(budget) in error["message"]
    assert role in error["message"]
    assert booking_statements(counter) == [], "the refused query read bookings"


async def test_a_caller_without_a_token_has_the_frontend_budget(http):
    error = only_error(await post(http, None, HUNDRED_PAGES))
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["budget"] == BUDGETS["frontend"]


async def test_a_query_within_the_budget_runs(http, tokens):
    body = await post(http, tokens["frontend"], "{ " + PAGE + " }")
    assert "errors" not in body, body
    assert body["data"]["bookings"]["edges"] == []
    # Staff may spend more: what the frontend may not, they may.
    ten_pages = "{ " + " ".join(f"a{i}: {PAGE}" for i in range(10)) + " }"
    assert only_error(await post(http, tokens["frontend"], ten_pages))["extensions"]["code"] == "QUERY_TOO_COSTLY"
    body = await post(http, tokens["staff"], ten_pages)
    assert "errors" not in body, body


class TestBudgetFromSettings:
    @pytest.fixture
    def env_overrides(self):
        return {"IRESERVE_COST_BUDGET_FRONTEND": "100"}

    QUERY = "query Page($n: Int) { bookings(first: $n) { edges { node { reference } } } }"

    async def test_the_page_size_comes_from_the_variables(self, http, tokens):
        # 1 + n + 1 + n * 2: 60 items cost 182, 30 items 92
        error = only_error(await post(http, tokens["frontend"], self.QUERY, {"n": 60}))
        assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 182, "budget": 100}
        assert "errors" not in await post(http, tokens["frontend"], self.QUERY, {"n": 30})

    async def test_a_variable_not_given_costs_its_default(self, http, tokens):
        query = "query Page($n: Int = 60) { bookings(first: $n) { edges { node { reference } } } }"
        assert only_error(await post(http, tokens["frontend"], query))["extensions"]["cost"] == 182

    async def test_only_the_operation_that_runs_is_counted(self, http, tokens):
        document = ("query Cheap { viewer { name } } "
                    "query Dear { bookings(first: 200) { edges { node { reference } } } }")
        body = await post(http, tokens["frontend"], document, operationName="Cheap")
        assert body == {"data": {"viewer": {"name": "test-frontend"}}}
        error = only_error(await post(http, tokens["frontend"], document, operationName="Dear"))
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"

    async def test_aliases_and_fragments_cannot_hide_the_cost(self, http, tokens):
        spread = ("query { a: bookings(first: 30) { ...Page } b: bookings(first: 30) { ...Page } } "
                  "fragment Page on BookingConnection { edges { node { reference } } }")
        error = only_error(await post(http, tokens["frontend"], spread))
        assert error["extensions"]["cost"] == 2 * (1 + 30 + 1 + 30 * 2)


async def test_refused_requests_do_not_hold_up_others(http, tokens):
    """While a stream of refused queries is being sent, a cheap one is answered."""
    async def refused() -> str:
        return only_error(await post(http, tokens["frontend"], HUNDRED_PAGES))["extensions"]["code"]

    async def viewer() -> dict:
        return await post(http, tokens["frontend"], "{ viewer { name } }")

    flood = [asyncio.create_task(refused()) for _ in range(20)]
    await asyncio.sleep(0)  # the flood is under way
    answered = await viewer()
    codes = await asyncio.gather(*flood)
    assert answered == {"data": {"viewer": {"name": "test-frontend"}}}
    assert codes == ["QUERY_TOO_COSTLY"] * 20


FLOOD_ALIAS = "bookings(first: 500) { pageInfo { hasNextPage } totalCount }"
FLOOD = "{ " + " ".join(f"a{i}: {FLOOD_ALIAS}" for i in range(30)) + " }"
# What a console page asks for: a page of bookings with what the board shows, and their count.
BOARD_PAGE = """query($after: String) { bookings(first: 50, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id reference start end status { code name } customer { name } object { id name timeZone }
    access { id state desired doors { name } validFrom validTo locale attempts lastError lastVerifiedAt
             nextAttemptAt warnings integration { id name } } } } } }"""


async def test_a_flood_of_aliased_counts_is_priced_out_while_normal_pages_pass(http, host, tokens):
    """The flood of the issue: 50 concurrent requests, each 30 aliases of a page of 500 that asks
    only for pageInfo and totalCount — cost 2 an alias before, while each read 501 rows and
    counted. Priced by what it reads, each is over a staff caller's budget and refused before it
    reads anything; a staff caller's own requests meanwhile are answered."""
    with count_statements(host) as counter:
        flood = [asyncio.create_task(post(http, tokens["staff"], FLOOD)) for _ in range(50)]
        await asyncio.sleep(0)  # the flood is under way
        viewer = await post(http, tokens["staff"], "{ viewer { name } }")
        answers = await asyncio.gather(*flood)
    assert viewer == {"data": {"viewer": {"name": "test-staff"}}}
    errors = [only_error(answer)["extensions"] for answer in answers]
    assert {e["code"] for e in errors} == {"QUERY_TOO_COSTLY"} and len(errors) == 50
    assert errors[0]["budget"] == BUDGETS["staff"] and errors[0]["cost"] > BUDGETS["staff"]
    assert booking_statements(counter) == [], "no request of the flood read a booking or counted them"
    # An admin's larger budget still covers it (and the count of an admin's page is worth it).
    assert "errors" not in await post(http, tokens["admin"], FLOOD)
    # Normal pages pass: the board's page with its count, for staff; a page and its count for a frontend.
    assert "errors" not in await post(http, tokens["staff"], BOARD_PAGE)
    frontend = await post(http, tokens["frontend"], "{ bookings(first: 20) { totalCount edges { node { reference } } "
                                                    "pageInfo { hasNextPage endCursor } } }")
    assert "errors" not in frontend


async def test_too_many_aliases_are_refused(http, tokens, host):
    limit = api_limits(host).max_aliases
    many = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(limit + 1)) + " }"
    error = only_error(await post(http, tokens["admin"], many))
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES", "limit": limit}
    assert str(limit) in error["message"] and str(limit + 1) in error["message"]
    body = await post(http, tokens["admin"], "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(limit)) + " }")
    assert "errors" not in body


async def test_twenty_thousand_aliases_are_refused_while_parsing(http, tokens, host):
    document = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(20_000)) + " }"
    with count_statements(host) as counter:
        error = only_error(await post(http, tokens["frontend"], document))
    assert error["extensions"]["code"] == "DOCUMENT_TOO_LARGE"
    assert str(error["extensions"]["limit"]) in error["message"]
    assert booking_statements(counter) == []


async def test_a_document_over_the_token_limit_is_refused(http, tokens, host):
    limits = api_limits(host)
    document = "{ " + " ".join(f"a{i}: __typename" for i in range(limits.max_tokens // 3 + 1)) + " }"
    assert len(document) < limits.max_document_length  # refused for its tokens, not its length
    error = only_error(await post(http, tokens["admin"], document))
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": limits.max_tokens}
    assert "tokens" in error["message"]


async def test_a_document_over_the_length_limit_is_refused_before_it_is_read(http, tokens, host):
    limit = api_limits(host).max_document_length
    padded = "{ viewer { name } }" + " " * limit  # blanks are not tokens, but take reading
    error = only_error(await post(http, tokens["admin"], padded))
    assert error["extensions"] == {"code": "DOCUMENT_TOO_LARGE", "limit": limit}
    assert "characters" in error["message"]
    comments = "# " + "x" * limit + "\n{ viewer { name } }"
    assert only_error(await post(http, tokens["admin"], comments))["extensions"]["code"] == "DOCUMENT_TOO_LARGE"


async def test_a_too_deep_query_is_refused_with_its_code(http, tokens, host):
    depth = host.settings.max_query_depth
    nested = "object { " + "parent { " * depth + "name" + " }" * (depth + 1)
    query = "query Deep { bookings(first: 1) { edges { node { " + nested + " } } } }"
    error = only_error(await post(http, tokens["admin"], query))
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP", "limit": depth}
    assert "Deep" in error["message"] and str(depth) in error["message"]


async def test_fields_repeated_over_and_over_are_refused_before_validation(http, tokens, host):
    """330 copies of a cheap field (no alias, cost 660, within the token limit) took validation a
    second, comparing every pair; refused before validation instead."""
    copies = "{ " + "viewer { name } " * 330 + "}"
    with count_statements(host) as counter:
        error = only_error(await post(http, tokens["frontend"], copies))
    assert error["extensions"]["code"] == "TOO_MANY_REPEATED_FIELDS"
    assert "viewer" in error["message"] and "330" in error["message"]
    assert booking_statements(counter) == []
    # Through fragments and inline fragments just the same.
    spread = "{ ...V " + "... on Query { viewer { name } } " * 100 + "} fragment V on Query { viewer { role } }"
    assert only_error(await post(http, tokens["frontend"], spread))["extensions"]["code"] == "TOO_MANY_REPEATED_FIELDS"


async def test_a_few_repeats_through_fragments_are_fine(http, tokens):
    document = ("query { viewer { name ...A ...B } ...C } fragment A on Viewer { name role } "
                "fragment B on Viewer { name } fragment C on Query { viewer { name } }")
    assert await post(http, tokens["frontend"], document) == {"data": {"viewer": {"name": "test-frontend",
                                                                                  "role": ANY_ROLE}}}


# -- settings and the shipped operations -------------------------------------------------------------

def test_budgets_have_defaults_and_are_never_unlimited():
    limits = ApiLimits.from_env({})
    assert (limits.cost_budget_frontend, limits.cost_budget_staff, limits.cost_budget_admin) == (5_000, 50_000, 100_000)
    for environ in ({"IRESERVE_COST_BUDGET_FRONTEND": "0"},
                    {"IRESERVE_COST_BUDGET_STAFF": "100", "IRESERVE_COST_BUDGET_FRONTEND": "200"},
                    {"IRESERVE_COST_BUDGET_ADMIN": "10"},
                    {"IRESERVE_COST_BUDGET_ADMIN": "unlimited"}):
        with pytest.raises(SettingsError):
            ApiLimits.from_env(environ)
    raised = ApiLimits.from_env({"IRESERVE_COST_BUDGET_FRONTEND": "20000", "IRESERVE_COST_BUDGET_STAFF": "20000",
                                 "IRESERVE_COST_BUDGET_ADMIN": "20000"})
    assert raised.cost_budget_admin == 20_000


@pytest.fixture(scope="module")
def graphql_schema(tmp_path_factory):
    from addon.base.core.host import load_host
    from tests.conftest import base_environ

    return build_schema(load_host(environ=base_environ(tmp_path_factory.mktemp("cost-ops"))))._schema


def test_every_shipped_operation_fits_the_budget_of_its_role(graphql_schema):
    limits = ApiLimits.from_env({})
    budget = {"frontend": limits.cost_budget_frontend, "staff": limits.cost_budget_staff,
              "admin": limits.cost_budget_admin}
    over = {}
    for path in sorted(OPERATIONS_DIR.glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        operation = Operation.read(path)
        role = operation.role
        variables = json.loads(re.sub(r'"\$[A-Z_]*ID_OF:[^"]*"', '"1"', json.dumps(operation.variables)))
        cost = query_cost(graphql_schema, parse(text), variables)
        if cost > budget[role]:
            over[path.name] = (cost, budget[role])
        assert repeated_fields(parse(text)) is None, path.name
    assert not over, f"shipped operations over their role's budget: {over}"
