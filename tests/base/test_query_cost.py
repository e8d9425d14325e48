"""The cost of a GraphQL operation, from the document alone (before anything runs)."""

import pytest

from addon.base.core.host import load_host
from addon.base.server.query_cost import LIST_SIZE, TOTAL_COUNT_COST, query_cost
from addon.base.server.schema import build_schema
from graphql import parse
from tests.conftest import base_environ


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    host = load_host(environ=base_environ(tmp_path_factory.mktemp("cost")))
    return build_schema(host)._schema


def cost(schema, query: str, variables=None, **kwargs) -> int:
    return query_cost(schema, parse(query), variables, **kwargs)


def test_plain_fields_cost_one_each(schema):
    assert cost(schema, "{ viewer { name role } }") == 3


def test_a_page_multiplies_what_each_item_selects(schema):
    one = cost(schema, "{ bookings(first: 1) { edges { node { reference } } } }")
    many = cost(schema, "{ bookings(first: 200) { edges { node { reference } } } }")
    # bookings, the rows of its page and edges once; node and reference once per item of the page
    assert one == 1 + 1 + 1 + 1 * (1 + 1)
    assert many == 1 + 200 + 1 + 200 * (1 + 1)
    assert cost(schema, "query($n: Int) { bookings(first: $n) { edges { node { reference } } } }", {"n": 200}) == many


def test_nested_lists_multiply(schema):
    nested = cost(schema, "{ bookings(first: 10) { edges { node { access { doors { name } } } } } }")
    # per booking: node, access (a list of grants), each with its doors (a list) and their names
    assert nested == 1 + 10 + 1 + 10 * (1 + 1 + LIST_SIZE * (1 + LIST_SIZE * 1))


def test_aliases_and_fragments_count_like_any_field(schema):
    single = cost(schema, "{ bookings(first: 500) { edges { node { reference } } } }")
    aliased = "{ " + " ".join(f"a{i}: bookings(first: 500) {{ edges {{ node {{ reference }} }} }}" for i in range(100)) + " }"
    assert cost(schema, aliased) == 100 * single
    with_fragment = ("query { bookings(first: 500) { edges { node { ...B } } } } "
                     "fragment B on Booking { reference }")
    assert cost(schema, with_fragment) == single


def test_counting_stops_once_over_the_limit(schema):
    aliased = "{ " + " ".join(f"a{i}: bookings(first: 500) {{ edges {{ node {{ reference }} }} }}" for i in range(100)) + " }"
    assert cost(schema, aliased, stop_at=5000) < 100 * (1 + 500 + 1 + 500 * 2)


def test_a_page_is_paid_for_whether_or_not_its_edges_are_selected(schema):
    """The server reads the page (and pageInfo needs it) even when no edge is asked for."""
    info_only = cost(schema, "{ bookings(first: 500) { pageInfo { hasNextPage } } }")
    assert info_only == 1 + 500 + (1 + 1)
    assert cost(schema, "{ bookings(last: 300) { pageInfo { hasPreviousPage } } }") == 1 + 300 + 2
    # Without first/last the default page is read.
    assert cost(schema, "{ bookings { pageInfo { hasNextPage } } }", default_page_size=50) == 1 + 50 + 2
    # Capped where the resolver caps it: a larger page is refused before any work.
    assert cost(schema, "{ bookings(first: 9000) { pageInfo { hasNextPage } } }", max_page_size=500) == 1 + 500 + 2


def test_total_count_has_a_price_of_its_own(schema):
    """A count reads every row the filters match, however small the page."""
    counted = cost(schema, "{ bookings(first: 1) { totalCount } }")
    assert counted == 1 + 1 + TOTAL_COUNT_COST
    assert TOTAL_COUNT_COST >= 1_000
    # Every connection's count, nested ones too.
    assert cost(schema, "{ customers(first: 1) { totalCount } }") == 1 + 1 + TOTAL_COUNT_COST
    # A field of another type called totalCount would cost 1; only a connection's count is priced.
    assert cost(schema, "{ bookings(first: 1) { pageInfo { hasNextPage } } }") == 1 + 1 + 2


def test_thirty_aliased_counts_cost_more_than_a_staff_request_may(schema):
    """The flood of the issue: 30 aliases of a page of 500 that selects only pageInfo and the count
    cost 2 each before; now each reads a page and counts."""
    alias = "bookings(first: 500) { pageInfo { hasNextPage } totalCount }"
    flood = "{ " + " ".join(f"a{i}: {alias}" for i in range(30)) + " }"
    assert cost(schema, flood) == 30 * (1 + 500 + 2 + TOTAL_COUNT_COST)
    assert cost(schema, flood) > 50_000
