import pytest

from tests.door_access.helpers import create_booking, field_value, future, set_status
from tests.resivo.host_helpers import configured_resivo

pytestmark = pytest.mark.anyio


async def test_confirm_then_cancel_over_the_sandbox(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    confirmed = await set_status(gql, made["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "ACTIVE", access
    [made_set] = await wired_sandbox.sets()
    assert made_set["status"] == "active" and field_value(confirmed) == made_set["id"]
    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await wired_sandbox.sets()] == ["revoked"]
