"""The integration's configuration is for admins only: staff and frontend tokens get FORBIDDEN,
no token UNAUTHENTICATED, the lock vendor is not asked, and a refused mutation changes nothing."""

import pytest

from tests.door_access.helpers import ERRORS, configured, create_booking

pytestmark = pytest.mark.anyio

FIELDS = "id name backend active triggerStatuses revokeStatuses timeBeforeMinutes authorizationIdField defaultLanguage"
ONE = f"query($id: ID!) {{ doorIntegration(id: $id) {{ {FIELDS} }} }}"
ALL = f"query {{ doorIntegrations {{ {FIELDS} }} }}"
DOOR_MAPPINGS = "query($id: ID!) { doorIntegration(id: $id) { doorMappings { object { id } doorNames warnings } } }"


def operations(ident: str, objects: dict[str, str], booking_id: str) -> dict[str, tuple[str, dict]]:
    """Every configuration operation, by the root field it answers."""
    return {
        "doorBackends": ("query { doorBackends { name label } }", {}),
        "doorIntegrations": (ALL, {}),
        "doorIntegration": (ONE, {"id": ident}),
        "doorIntegration.doorMappings": (DOOR_MAPPINGS, {"id": ident}),
        "testDoorConnection": ("query($id: ID!) { testDoorConnection(integrationId: $id) { ok message } }",
                               {"id": ident}),
        "doors": ("query($id: ID!) { doors(integrationId: $id) { id name } }", {"id": ident}),
        "mappableObjects": ("query { mappableObjects { id } }", {}),
        "previewBookingAccess": ("query($id: ID!) { previewBookingAccess(bookingId: $id) { action } }",
                                 {"id": booking_id}),
        "createDoorIntegration": (
            "mutation($i: CreateDoorIntegrationInput!) { createDoorIntegration(input: $i) {"
            f" integration {{ id }} {ERRORS} }} }}", {"i": {"backend": "memory", "name": "Sneaky"}}),
        "updateDoorIntegration": (
            "mutation($i: UpdateDoorIntegrationInput!) { updateDoorIntegration(input: $i) {"
            f" integration {{ id }} {ERRORS} }} }}", {"i": {"id": ident, "name": "Sneaky"}}),
        "setDoorMapping": (
            "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) {"
            f" mapping {{ doorNames }} {ERRORS} }} }}",
            {"i": {"integrationId": ident, "objectId": objects["Studio building"], "doorNames": ["Barn door"]}}),
        "setDoorIntegrationActive": (
            "mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) {"
            f" integration {{ id }} {ERRORS} }} }}", {"i": {"integrationId": ident, "active": False}}),
    }


@pytest.mark.parametrize("role, code", [("staff", "FORBIDDEN"), ("frontend", "FORBIDDEN"), (None, "UNAUTHENTICATED")])
async def test_only_admins_configure_the_integration(gql, tokens, memory, vendor, role, code):
    ident, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2031-07-10T15:00:00+02:00", "2031-07-12T10:00:00+02:00")
    before = (await gql(ONE, {"id": ident}))["doorIntegration"]
    mappings_before = (await gql(DOOR_MAPPINGS, {"id": ident}))["doorIntegration"]["doorMappings"]
    calls_before = dict(vendor.calls)
    token = tokens[role] if role else None
    for name, (query, variables) in operations(ident, objects, made["id"]).items():
        body = await gql.raw(query, variables, token=token)
        root = name.split(".")[0]
        assert body["data"] in (None, {root: None}), (name, body)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], (name, body)
    assert dict(vendor.calls) == calls_before  # the lock vendor was not asked
    assert (await gql(ONE, {"id": ident}))["doorIntegration"] == before
    assert [i["id"] for i in (await gql(ALL))["doorIntegrations"]] == [ident]
    assert (await gql(DOOR_MAPPINGS, {"id": ident}))["doorIntegration"]["doorMappings"] == mappings_before


async def test_staff_see_only_the_public_part_of_an_integration_on_a_booking(gql, tokens, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2031-07-10T15:00:00+02:00", "2031-07-12T10:00:00+02:00",
                                status="confirmed")
    body = await gql.raw("query($id: ID!) { booking(id: $id) { access { integration { id name active backend } } } }",
                         {"id": made["id"]}, token=tokens["staff"])
    assert body.get("errors") is None
    assert body["data"]["booking"]["access"][0]["integration"]["name"] == "Duinpark doors"
    assert body["data"]["booking"]["access"][0]["integration"]["backend"] == "memory"
    for private in ("triggerStatuses", "authorizationIdField", "doorMappings"):
        body = await gql.raw(f"query($id: ID!) {{ booking(id: $id) {{ access {{ integration {{ {private} }} }} }} }}",
                             {"id": made["id"]}, token=tokens["staff"])
        assert body["errors"] and private in body["errors"][0]["message"]  # not a field of the public part
