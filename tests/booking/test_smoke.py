import pytest

pytestmark = pytest.mark.anyio


async def test_statuses(gql):
    data = await gql("{ bookingStatuses { code name } viewer { role } }")
    assert [s["code"] for s in data["bookingStatuses"]] == ["option", "confirmed", "paid", "checked_in", "checked_out", "cancelled"]
    assert data["viewer"]["role"] == "admin"
