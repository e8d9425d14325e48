"""The cost of a GraphQL operation, from the document alone (before anything runs)."""

import pytest

from addon.base.core.host import load_host
from addon.base.server.query_cost import LIST_SIZE, query_cost
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
    # bookings and edges once; node and reference once per item of the page
    assert one == 1 + 1 + 1 * (1 + 1)
    assert many == 1 + 1 + 200 * (1 + 1)
    assert cost(schema, "query($n: Int) { bookings(first: $n) { edges { node { reference } } } }", {"n": 200}) == many


def test_nested_lists_multiply(schema):
    nested = cost(schema, "{ bookings(first: 10) { edges { node { access { doors { name } } } } } }")
    # per booking: node, access (a list of grants), each with its doors (a list) and their names
    assert nested == 1 + 1 + 10 * (1 + 1 + LIST_SIZE * (1 + LIST_SIZE * 1))


def test_aliases_and_fragments_count_like_any_field(schema):
    single = cost(schema, "{ bookings(first: 500) { edges { node { reference } } } }")
    aliased = "{ " + " ".join(f"a{i}: bookings(first: 500) {{ edges {{ node {{ reference }} }} }}" for i in range(100)) + " }"
    assert cost(schema, aliased) == 100 * single
    with_fragment = ("query { bookings(first: 500) { edges { node { ...B } } } } "
                     "fragment B on Booking { reference }")
    assert cost(schema, with_fragment) == single


def test_counting_stops_once_over_the_limit(schema):
    aliased = "{ " + " ".join(f"a{i}: bookings(first: 500) {{ edges {{ node {{ reference }} }} }}" for i in range(100)) + " }"
    assert cost(schema, aliased, stop_at=5000) < 100 * 1501
