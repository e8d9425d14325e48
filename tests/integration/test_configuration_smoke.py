import pytest

from tests.integration.helpers import create_booking_field, create_integration, create_objects, set_active, set_mapping

pytestmark = pytest.mark.anyio


async def test_configure_and_activate(gql, connector, sandbox):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql)
    assert created["errors"] == []
    integration = created["integration"]
    assert integration["clientSecretSet"] is True
    report = await gql("query($id: ID!) { testResivoConnection(integrationId: $id) { ok message sites { id } components { name online } } }",
                       {"id": integration["id"]})
    assert report["testResivoConnection"]["ok"], report
    mapped = await set_mapping(gql, integration["id"], objects["Studio building"], ["Studio building main door", "Studio building side door"])
    assert mapped["errors"] == [], mapped
    assert [d["id"] for d in mapped["mapping"]["doors"]] == ["duinpark-studio-main", "duinpark-studio-side"]
    activated = await set_active(gql, integration["id"])
    assert activated["errors"] == [] and activated["integration"]["active"]
