"""Issue 4: the integration's configuration is for admins only — staff and frontend tokens get
FORBIDDEN, no token UNAUTHENTICATED, and a refused mutation changes nothing."""

import pytest

from tests.integration.config_support import (
    ALL,
    COMPONENTS,
    CREATE,
    DOOR_MAPPINGS,
    MAPPABLE,
    MINIMAL,
    ONE,
    PREVIEW,
    SET_ACTIVE,
    SET_MAPPING,
    TEST_CONNECTION,
    UPDATE,
    read,
    read_all,
)
from tests.integration.helpers import configured, create_booking

pytestmark = pytest.mark.anyio


def operations(ident: str, objects: dict[str, str], booking_id: str) -> dict[str, tuple[str, dict]]:
    return {
        "resivoIntegrations": (ALL, {}),
        "resivoIntegration": (ONE, {"id": ident}),
        "doorMappings": (DOOR_MAPPINGS, {"id": ident}),
        "testResivoConnection": (TEST_CONNECTION, {"id": ident}),
        "resivoComponents": (COMPONENTS, {"id": ident}),
        "mappableObjects": (MAPPABLE, {}),
        "previewBookingAccess": (PREVIEW, {"id": booking_id}),
        "createResivoIntegration": (CREATE, {"input": {**MINIMAL, "name": "Sneaky"}}),
        "updateResivoIntegration": (UPDATE, {"input": {"id": ident, "name": "Sneaky", "clientSecret": "x"}}),
        "setDoorMapping": (SET_MAPPING, {"i": {"integrationId": ident, "objectId": objects["Studio building"],
                                              "componentNames": []}}),
        "setResivoIntegrationActive": (SET_ACTIVE, {"i": {"integrationId": ident, "active": False}}),
    }


@pytest.mark.parametrize("role, code", [("staff", "FORBIDDEN"), ("frontend", "FORBIDDEN"), (None, "UNAUTHENTICATED")])
async def test_only_admins_configure_the_integration(gql, tokens, connector, sandbox, role, code):
    ident, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2031-07-10T15:00:00+02:00", "2031-07-12T10:00:00+02:00")
    before = await read(gql, ident)
    mappings_before = (await gql(DOOR_MAPPINGS, {"id": ident}))["resivoIntegration"]["doorMappings"]
    calls_before = (await sandbox.get("/_sandbox/stats")).json()["calls"]
    token = tokens[role] if role else None
    for name, (query, variables) in operations(ident, objects, made["id"]).items():
        body = await gql.raw(query, variables, token=token)
        assert body["data"] in (None, {name if name != "doorMappings" else "resivoIntegration": None}), (name, body)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], (name, body)
    assert (await sandbox.get("/_sandbox/stats")).json()["calls"] == calls_before  # Resivo was not asked
    assert await read(gql, ident) == before
    assert [i["id"] for i in await read_all(gql)] == [ident]
    assert (await gql(DOOR_MAPPINGS, {"id": ident}))["resivoIntegration"]["doorMappings"] == mappings_before


async def test_staff_see_only_the_public_part_of_an_integration_on_a_booking(gql, tokens, connector):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2031-07-10T15:00:00+02:00", "2031-07-12T10:00:00+02:00",
                                status="confirmed")
    body = await gql.raw("query($id: ID!) { booking(id: $id) { access { integration { id name active } } } }",
                         {"id": made["id"]}, token=tokens["staff"])
    assert body.get("errors") is None
    assert body["data"]["booking"]["access"][0]["integration"]["name"] == "Duinpark doors"
    body = await gql.raw("query($id: ID!) { booking(id: $id) { access { integration { clientId } } } }",
                         {"id": made["id"]}, token=tokens["staff"])
    assert body["errors"] and "clientId" in body["errors"][0]["message"]  # not a field of the public part
