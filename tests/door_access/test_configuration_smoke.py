"""The set-up guide's path on the memory lock: create, test the connection, map, activate."""

import pytest

from tests.door_access.helpers import (
    HOUSE_DOORS,
    create_booking_field,
    create_integration,
    create_objects,
    set_active,
    set_mapping,
)

pytestmark = pytest.mark.anyio


async def test_configure_and_activate(gql, memory):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql)
    assert created["errors"] == []
    integration = created["integration"]
    assert (integration["backend"], integration["active"]) == ("memory", False)
    report = await gql("query($id: ID!) { testDoorConnection(integrationId: $id) { ok message locations { id name }"
                       " doors { name online location { id } } } }", {"id": integration["id"]})
    test = report["testDoorConnection"]
    assert test["ok"], report
    assert [loc["id"] for loc in test["locations"]] == ["house", "barn"]
    assert {"name": "Main door", "online": True, "location": {"id": "house"}} in test["doors"]
    mapped = await set_mapping(gql, integration["id"], objects["Studio building"], HOUSE_DOORS)
    assert mapped["errors"] == [], mapped
    assert [d["id"] for d in mapped["mapping"]["doors"]] == ["d-main", "d-side"]
    activated = await set_active(gql, integration["id"])
    assert activated["errors"] == [] and activated["integration"]["active"]
