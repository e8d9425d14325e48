"""Shared pieces of the configuration tests (issue 4): queries and small GraphQL helpers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.integration.helpers import INTEGRATION_FIELDS

FULL_FIELDS = INTEGRATION_FIELDS + " createdAt updatedAt"
ERRORS = "errors { field code message }"

CREATE = (
    "mutation($input: CreateResivoIntegrationInput!) { createResivoIntegration(input: $input) {"
    f" integration {{ {FULL_FIELDS} }} {ERRORS} }} }}"
)
UPDATE = (
    "mutation($input: UpdateResivoIntegrationInput!) { updateResivoIntegration(input: $input) {"
    f" integration {{ {FULL_FIELDS} }} {ERRORS} }} }}"
)
ONE = f"query($id: ID!) {{ resivoIntegration(id: $id) {{ {FULL_FIELDS} }} }}"
ALL = f"query {{ resivoIntegrations {{ {FULL_FIELDS} }} }}"
TEST_CONNECTION = (
    "query($id: ID!) { testResivoConnection(integrationId: $id) { ok message durationMs"
    " sites { id name defaultLocale timeZone } components { id name online site { id name } } } }"
)
COMPONENTS = "query($id: ID!) { resivoComponents(integrationId: $id) { id name online site { id name } } }"
MAPPABLE = "query { mappableObjects { id code name parent { id name } } }"
SET_MAPPING = (
    "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) {"
    " mapping { object { id name } componentNames doors { name id online } warnings }"
    f" warnings {ERRORS} }} }}"
)
DOOR_MAPPINGS = (
    "query($id: ID!) { resivoIntegration(id: $id) { doorMappings {"
    " object { id name } componentNames doors { name id online } warnings } } }"
)
SET_ACTIVE = (
    "mutation($i: SetResivoIntegrationActiveInput!) { setResivoIntegrationActive(input: $i) {"
    f" integration {{ id active }} {ERRORS} }} }}"
)
PREVIEW = (
    "query($id: ID!) { previewBookingAccess(bookingId: $id) {"
    " integration { id name } action reason bookedObject { id name } mappedObject { id name }"
    " componentNames doors { name id online } siteId"
    " validFrom { utc local timeZone } validTo { utc local timeZone }"
    " locale localeReason recipients { email phoneNumber } displayName message problems warnings } }"
)

MINIMAL = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": "demo-secret"}


async def create(gql, **values) -> dict:
    """createResivoIntegration with exactly ``values`` (no defaults added); the payload."""
    return (await gql(CREATE, {"input": values}))["createResivoIntegration"]


async def update(gql, integration_id, **values) -> dict:
    return (await gql(UPDATE, {"input": {"id": integration_id, **values}}))["updateResivoIntegration"]


async def read(gql, integration_id) -> dict | None:
    return (await gql(ONE, {"id": integration_id}))["resivoIntegration"]


async def read_all(gql) -> list[dict]:
    return (await gql(ALL))["resivoIntegrations"]


async def door_mappings(gql, integration_id) -> list[dict]:
    return (await gql(DOOR_MAPPINGS, {"id": integration_id}))["resivoIntegration"]["doorMappings"]


async def mapping(gql, integration_id, object_id, names) -> dict:
    data = await gql(SET_MAPPING, {"i": {"integrationId": integration_id, "objectId": object_id,
                                         "componentNames": names}})
    return data["setDoorMapping"]


async def activate(gql, integration_id, active=True) -> dict:
    data = await gql(SET_ACTIVE, {"i": {"integrationId": integration_id, "active": active}})
    return data["setResivoIntegrationActive"]


async def connection_test(gql, integration_id) -> dict:
    return (await gql(TEST_CONNECTION, {"id": integration_id}))["testResivoConnection"]


async def preview(gql, booking_id) -> list[dict]:
    return (await gql(PREVIEW, {"id": booking_id}))["previewBookingAccess"]


async def add_fault(sandbox, **spec) -> None:
    response = await sandbox.post("/_sandbox/faults", json=spec)
    assert response.status_code == 201, response.text


async def sandbox_calls(sandbox) -> dict[str, int]:
    response = await sandbox.get("/_sandbox/stats")
    assert response.status_code == 200, response.text
    body = response.json()
    return body.get("calls", body)


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


def future(days=10, hour=15, tz="+02:00") -> str:
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00{tz}"
