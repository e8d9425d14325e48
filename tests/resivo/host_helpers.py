"""Helpers of the Resivo end-to-end tests: a Resivo integration set up through the GraphQL API,
the way the set-up guide's tabs do it (Details and Mapping through the door-access core,
Authentication through the Resivo backend)."""

from __future__ import annotations

from tests.door_access.helpers import (
    ERRORS,
    INTEGRATION_FIELDS,
    create_booking_field,
    create_integration,
    create_objects,
    set_active,
    set_mapping,
)

SANDBOX_URL = "http://sandbox.test"
AUTH_FIELDS = "resivo { siteOwnerId clientId clientSecretSet siteId targetMobileAppId baseUrl }"
STUDIO_DOORS = ["Studio building main door", "Studio building side door"]
DEMO_CREDENTIALS = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": "demo-secret",
                    "siteId": "demo-site", "baseUrl": SANDBOX_URL}


async def set_credentials(gql, integration_id, **values) -> dict:
    data = await gql(
        "mutation($i: SetResivoCredentialsInput!) { setResivoCredentials(input: $i) {"
        f" integration {{ {INTEGRATION_FIELDS} {AUTH_FIELDS} }} {ERRORS} }} }}",
        {"i": {"integrationId": integration_id, **values}})
    return data["setResivoCredentials"]


async def create_resivo_integration(gql, credentials: dict | None = None, **details) -> str:
    """A Resivo integration with the demo credential (or ``credentials``); returns its id."""
    created = await create_integration(gql, backend="resivo", **details)
    assert created["errors"] == [], created
    integration_id = created["integration"]["id"]
    saved = await set_credentials(gql, integration_id, **(DEMO_CREDENTIALS if credentials is None else credentials))
    assert saved["errors"] == [], saved
    return integration_id


async def configured_resivo(gql, **details) -> tuple[str, dict[str, str]]:
    """The set-up guide's acceptance set-up against the sandbox: trigger confirmed (and paid),
    revoke cancelled, 30 minutes before, default nl, Studio building → its two doors; active."""
    await create_booking_field(gql)
    objects = await create_objects(gql)
    integration_id = await create_resivo_integration(gql, **details)
    mapped = await set_mapping(gql, integration_id, objects["Studio building"], STUDIO_DOORS)
    assert mapped["errors"] == [], mapped
    activated = await set_active(gql, integration_id)
    assert activated["errors"] == [], activated
    return integration_id, objects
