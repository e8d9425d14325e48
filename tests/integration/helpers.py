"""Helpers for the integration tests: admin set-up through the GraphQL API."""

from tests.integration.conftest import SANDBOX_URL

INTEGRATION_FIELDS = "id name active siteOwnerId clientId clientSecretSet siteId targetMobileAppId baseUrl triggerStatuses revokeStatuses timeBeforeMinutes authorizationIdField defaultLanguage"


async def create_integration(gql, **overrides) -> dict:
    values = {
        "name": "Duinpark doors",
        "siteOwnerId": "demo-owner",
        "clientId": "demo-client",
        "clientSecret": "demo-secret",
        "siteId": "demo-site",
        "baseUrl": SANDBOX_URL,
        "triggerStatuses": ["confirmed", "paid"],
        "revokeStatuses": ["cancelled"],
        "timeBeforeMinutes": 30,
        "authorizationIdField": "resivo_authorization_id",
        "defaultLanguage": "nl",
    }
    values.update(overrides)
    data = await gql(
        "mutation($input: CreateResivoIntegrationInput!) { createResivoIntegration(input: $input) {"
        f" integration {{ {INTEGRATION_FIELDS} }} errors {{ field code message }} }} }}",
        {"input": values},
    )
    return data["createResivoIntegration"]


async def create_booking_field(gql, code="resivo_authorization_id"):
    await gql("mutation($i: CreateBookingFieldInput!) { createBookingField(input: $i) { errors { code } } }",
              {"i": {"code": code, "label": "Resivo authorisation id"}})


async def create_objects(gql) -> dict[str, str]:
    """Studio building (with Studio 1 and Studio 2), Meeting room; returns name → id."""
    ids = {}
    mutation = "mutation($i: CreateObjectInput!) { createObject(input: $i) { object { id name } errors { message } } }"
    building = await gql(mutation, {"i": {"code": "studio-building", "name": "Studio building", "timeZone": "Europe/Amsterdam"}})
    ids["Studio building"] = building["createObject"]["object"]["id"]
    for code, name in (("studio-1", "Studio 1"), ("studio-2", "Studio 2")):
        row = await gql(mutation, {"i": {"code": code, "name": name, "parentId": ids["Studio building"]}})
        ids[name] = row["createObject"]["object"]["id"]
    room = await gql(mutation, {"i": {"code": "meeting-room", "name": "Meeting room", "timeZone": "Europe/Amsterdam"}})
    ids["Meeting room"] = room["createObject"]["object"]["id"]
    return ids


async def set_mapping(gql, integration_id, object_id, names) -> dict:
    data = await gql(
        "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { mapping { componentNames doors { name id online } warnings }"
        " warnings errors { field code message } } }",
        {"i": {"integrationId": integration_id, "objectId": object_id, "componentNames": names}},
    )
    return data["setDoorMapping"]


async def set_active(gql, integration_id, active=True) -> dict:
    data = await gql(
        "mutation($i: SetResivoIntegrationActiveInput!) { setResivoIntegrationActive(input: $i) {"
        " integration { active } errors { field code message } } }",
        {"i": {"integrationId": integration_id, "active": active}},
    )
    return data["setResivoIntegrationActive"]
