"""A page of bookings costs a small, constant number of SQL statements, whatever its size."""

import pytest

from addon.base.public import commit
from addon.booking import services
from tests.booking.helpers import local
from tests.conftest import count_statements

pytestmark = pytest.mark.anyio

MAX_STATEMENTS = 10
PAGE = """
query($first: Int!) {
  bookings(first: $first) {
    edges {
      cursor
      node {
        id reference start end
        object { id code name timeZone parent { id name subObjects { code } } }
        customer { name email language }
        status { code name }
        fields { code value }
        history { from { code } to { code } at by }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
async def thirty_bookings(host) -> None:
    async with host.database.session() as session:
        await services.create_booking_field(host, session, code="plate", label="Plate")
        await services.create_booking_field(host, session, code="note", label="Note")
        objects = []
        for main in range(3):
            parent = await services.create_object(host, session, code=f"main-{main}", name=f"Main {main}")
            objects.append(parent)
            for sub in range(2):
                objects.append(await services.create_object(host, session, code=f"sub-{main}-{sub}",
                                                            name=f"Sub {main}.{sub}", parent_id=parent.id))
        plate = await services.get_field(session, "plate")
        note = await services.get_field(session, "note")
        for n in range(30):
            booking = await services.create_booking(
                host, session, object_id=objects[n % len(objects)].id, start=local(n), end=local(n + 2),
                customer=services.CustomerData(name=f"Guest {n}", email=f"g{n}@example.org", language="nl"),
            )
            for status in ["confirmed", "paid", "checked_in"][: n % 4]:
                await services.set_booking_status(host, session, booking.id, status, actor="setup")
            if n % 2:
                await services.write_field_value(session, booking.id, plate, f"P-{n}")
                await services.write_field_value(session, booking.id, note, "late arrival")
        await commit(session)


async def page_cost(gql, host, first: int) -> tuple[int, dict]:
    await gql("{ viewer { name } }")  # a token's use is written at most once a minute: not the page's cost
    with count_statements(host) as counter:
        data = await gql(PAGE, {"first": first})
    return counter["n"], data


async def test_page_cost_does_not_grow_with_page_size(gql, host, thirty_bookings):
    small_cost, small = await page_cost(gql, host, 5)
    large_cost, large = await page_cost(gql, host, 200)

    edges = large["bookings"]["edges"]
    assert len(small["bookings"]["edges"]) == 5 and len(edges) == 30
    # The page really resolved everything it asked for ...
    assert {e["node"]["object"]["parent"]["name"] for e in edges if e["node"]["object"]["parent"]} == {
        "Main 0", "Main 1", "Main 2"}
    assert {len(e["node"]["history"]) for e in edges} == {1, 2, 3, 4}
    assert sum(1 for e in edges if e["node"]["fields"]) == 15
    assert all(e["node"]["customer"]["language"] == "nl" for e in edges)
    # ... at the same, small cost.
    assert large_cost == small_cost, f"5 bookings cost {small_cost} statements, 30 cost {large_cost}"
    assert large_cost <= MAX_STATEMENTS


async def test_objects_tree_cost_is_constant(gql, host, thirty_bookings):
    query = "{ objects { code subObjects { code parent { code subObjects { code } } } } }"
    with count_statements(host) as counter:
        data = await gql(query)
    assert len(data["objects"]) == 3 and all(len(o["subObjects"]) == 2 for o in data["objects"])
    assert counter["n"] <= 5, counter["sql"]
