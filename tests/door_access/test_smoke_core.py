import pytest

from tests.door_access.helpers import configured, create_booking, field_value, future, set_status

pytestmark = pytest.mark.anyio


async def test_confirm_then_cancel(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    assert made["access"] == []
    confirmed = await set_status(gql, made["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "ACTIVE", access
    assert len(vendor.active_sets()) == 1
    assert field_value(confirmed) == access["authorizationId"]
    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert vendor.active_sets() == []
