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


ACCESS_FIELDS = "access { integration { id name } state desired authorizationId doors { id name } validFrom validTo locale attempts lastError nextAttemptAt }"
BOOKING_FIELDS = f"id reference status {{ code }} fields {{ code value }} {ACCESS_FIELDS}"
STUDIO_DOORS = ["Studio building main door", "Studio building side door"]


async def configured(gql, **overrides) -> tuple[str, dict[str, str]]:
    """The seed's acceptance set-up: trigger confirmed (and paid), revoke cancelled, 30 minutes
    before, field resivo_authorization_id, default nl, Studio building → two doors; active."""
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, **overrides)
    assert created["errors"] == [], created
    integration_id = created["integration"]["id"]
    mapped = await set_mapping(gql, integration_id, objects["Studio building"], STUDIO_DOORS)
    assert mapped["errors"] == [], mapped
    activated = await set_active(gql, integration_id)
    assert activated["errors"] == [], activated
    return integration_id, objects


async def create_booking(gql, object_id, start, end, language="de", email="guest@example.com", phone=None,
                         status="option", reference=None) -> dict:
    data = await gql(
        f"mutation($i: CreateBookingInput!) {{ createBooking(input: $i) {{ booking {{ {BOOKING_FIELDS} }} errors {{ field code message }} }} }}",
        {"i": {"objectId": object_id, "start": start, "end": end, "status": status, "reference": reference,
               "customer": {"name": "Guest", "email": email, "phone": phone, "language": language}}},
    )
    assert data["createBooking"]["errors"] == [], data
    return data["createBooking"]["booking"]


async def set_status(gql, booking_id, status) -> dict:
    data = await gql(
        f"mutation($i: SetBookingStatusInput!) {{ setBookingStatus(input: $i) {{ booking {{ {BOOKING_FIELDS} }} errors {{ field code message }} }} }}",
        {"i": {"bookingId": booking_id, "status": status}},
    )
    assert data["setBookingStatus"]["errors"] == [], data
    return data["setBookingStatus"]["booking"]


async def booking(gql, booking_id) -> dict:
    return (await gql(f"query($id: ID!) {{ booking(id: $id) {{ {BOOKING_FIELDS} }} }}", {"id": booking_id}))["booking"]


async def sandbox_sets(sandbox, **params) -> list[dict]:
    response = await sandbox.get("/_sandbox/authorizations", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["authorizations"] if isinstance(body, dict) else body


def field_value(booking_data: dict, code="resivo_authorization_id"):
    return next((f["value"] for f in booking_data["fields"] if f["code"] == code), None)
