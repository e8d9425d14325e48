"""Helpers of the Salto KS GraphQL tests: an integration set up through the API the way the
set-up guide goes (Authentication tab, Resolve site ID, the IQ OTP setup)."""

from __future__ import annotations

from tests.door_access.helpers import ERRORS, INTEGRATION_FIELDS, create_integration
from tests.salto_ks.conftest import IQ_ID, PASSWORD, SITE_UID, USERNAME

AUTH_FIELDS = ("saltoKs { environment environmentConfigured siteUid siteId siteName siteTimeZone username passwordSet "
               "iqId iqActivated iqStatus currentPinFetchedAt }")
DEMO_CREDENTIALS = {"environment": "ACCEPTANCE", "siteUid": SITE_UID, "username": USERNAME, "password": PASSWORD}
READ = f"query($id: ID!) {{ doorIntegration(id: $id) {{ {INTEGRATION_FIELDS} {AUTH_FIELDS} }} }}"
TEST_CONNECTION = ("query($id: ID!) { testDoorConnection(integrationId: $id) { ok message locations { id name timeZone }"
                   " doors { id name online } } }")


async def new_integration(gql, **details) -> str:
    """A Salto KS integration whose Authentication tab is still empty."""
    created = await create_integration(gql, backend="salto_ks", **{"authorizationIdField": None, **details})
    assert created["errors"] == [], created
    return created["integration"]["id"]


async def set_credentials(gql, integration_id, **values) -> dict:
    data = await gql(
        "mutation($i: SetSaltoKsCredentialsInput!) { setSaltoKsCredentials(input: $i) {"
        f" integration {{ {INTEGRATION_FIELDS} {AUTH_FIELDS} }} {ERRORS} }} }}",
        {"i": {"integrationId": integration_id, **values}})
    return data["setSaltoKsCredentials"]


async def resolve_site(gql, integration_id) -> dict:
    data = await gql(
        "mutation($i: ResolveSaltoKsSiteIdInput!) { resolveSaltoKsSiteId(input: $i) {"
        f" integration {{ id {AUTH_FIELDS} }} {ERRORS} }} }}", {"i": {"integrationId": integration_id}})
    return data["resolveSaltoKsSiteId"]


async def get_pin(gql, integration_id, iq_id: str | None = IQ_ID) -> dict:
    values = {"integrationId": integration_id} | ({"iqId": iq_id} if iq_id is not None else {})
    data = await gql(
        "mutation($i: GetSaltoKsPinInput!) { getSaltoKsPin(input: $i) {"
        f" integration {{ id {AUTH_FIELDS} }} currentPin message {ERRORS} }} }}", {"i": values})
    return data["getSaltoKsPin"]


async def set_pin(gql, integration_id, new_pin) -> dict:
    data = await gql(
        "mutation($i: SetSaltoKsPinInput!) { setSaltoKsPin(input: $i) {"
        f" integration {{ id {AUTH_FIELDS} }} message {ERRORS} }} }}",
        {"i": {"integrationId": integration_id, "newPin": new_pin}})
    return data["setSaltoKsPin"]


async def settings_of(gql, integration_id) -> dict | None:
    return (await gql(READ, {"id": integration_id}))["doorIntegration"]["saltoKs"]


async def configured_integration(gql, **details) -> str:
    """Authentication tab filled in with the sandbox's demo account, site resolved."""
    integration_id = await new_integration(gql, **details)
    saved = await set_credentials(gql, integration_id, **DEMO_CREDENTIALS)
    assert saved["errors"] == [], saved
    resolved = await resolve_site(gql, integration_id)
    assert resolved["errors"] == [], resolved
    return integration_id


async def activated_integration(gql, new_pin: str = "2580", **details) -> str:
    """... and the IQ OTP setup done: the IQ is activated with ``new_pin``."""
    integration_id = await configured_integration(gql, **details)
    fetched = await get_pin(gql, integration_id)
    assert fetched["errors"] == [], fetched
    activated = await set_pin(gql, integration_id, new_pin)
    assert activated["errors"] == [], activated
    return integration_id
