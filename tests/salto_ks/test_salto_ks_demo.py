"""`make run`'s demo: the Salto KS sandbox mounted beside Resivo's (IRESERVE_SANDBOX), the demo
integration seeded inactive with its Authentication tab, an unconfigured Acceptance environment
pointing at the mounted sandbox, and the documented operations (graphql/operations/salto_ks_*)
doing the set-up guide's steps on it."""

import json

import httpx
import pytest
from sqlalchemy import select

from addon.base.public import DEMO_FILE, REPO_ROOT, create_app, load_host, seed
from addon.salto_ks.client import SaltoKsConnector
from addon.salto_ks.connection import CallLogBridge
from addon.salto_ks.models import SaltoKsCredentials
from addon.salto_ks.sandbox import load_seed
from addon.salto_ks.sandbox_address import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_PATH
from addon.salto_ks.settings import environment_settings
from tests.base.test_graphql_operations import Operation, resolve
from tests.conftest import base_environ
from tests.salto_ks.conftest import IQ_ID, SITE_ID, SITE_UID
from tests.salto_ks.host_helpers import AUTH_FIELDS, TEST_CONNECTION

pytestmark = pytest.mark.anyio

OPERATIONS = REPO_ROOT / "graphql" / "operations"
DEMO_NAME = "Duinpark studios (Salto KS sandbox)"
LIST = ("{ doorIntegrations { id name backend active authorizationIdField doorMappings { object { code } doorNames } "
        f"{AUTH_FIELDS} }} }}")


@pytest.fixture
def env_overrides():
    return {"IRESERVE_SANDBOX": "true"}  # and no SALTO_KS_ACCEPTANCE_* at all, as with `make run`


@pytest.fixture
async def demo(host, app):
    # The Acceptance environment is the app's own /salto-ks-sandbox; its calls go to the app in-process.
    connector = host.provide(SaltoKsConnector(transport=httpx.ASGITransport(app=app), on_call=CallLogBridge(host)))
    await seed(host, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    yield host
    await connector.aclose()


async def run(name, host, http, tokens) -> dict:
    path = OPERATIONS / f"{name}.graphql"
    operation = Operation.read(path)
    async with host.database.session() as session:
        variables = await resolve(operation.variables, session, host)
    response = await http.post("/graphql", json={"query": path.read_text(encoding="utf-8"), "variables": variables},
                               headers={"Authorization": f"Bearer {tokens[operation.role]}"})
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


async def salto_integration(gql) -> dict:
    [found] = [i for i in (await gql(LIST))["doorIntegrations"] if i["backend"] == "salto_ks"]
    return found


async def test_the_demo_integration_is_seeded_inactive_with_its_authentication_tab(demo, gql):
    integration = await salto_integration(gql)
    assert integration["name"] == DEMO_NAME and integration["active"] is False
    assert {m["object"]["code"]: m["doorNames"] for m in integration["doorMappings"]} == {
        "studio-1": ["Studio 1 entrance"], "studio-2": ["Studio 2 entrance"], "sauna": ["Sauna entrance"]}
    assert integration["saltoKs"] == {
        "environment": "ACCEPTANCE", "environmentConfigured": True, "siteUid": SITE_UID, "siteId": None,
        "siteName": None, "siteTimeZone": None, "username": "demo@duinpark.example", "passwordSet": True,
        "iqId": IQ_ID, "iqActivated": False, "iqStatus": "IQ is not activated", "currentPinFetchedAt": None}


async def test_seeding_again_keeps_what_the_admin_set_up(demo, gql):
    integration = await salto_integration(gql)
    done = await gql(
        "mutation($id: ID!) { resolveSaltoKsSiteId(input: {integrationId: $id}) { errors { code } } }",
        {"id": integration["id"]})
    assert done["resolveSaltoKsSiteId"]["errors"] == []
    await seed(demo, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    assert (await salto_integration(gql))["saltoKs"]["siteId"] == SITE_ID
    async with demo.database.session() as session:
        assert len((await session.execute(select(SaltoKsCredentials))).scalars().all()) == 1


async def test_the_set_up_guide_by_the_documented_operations(demo, http, tokens, gql):
    saved = (await run("salto_ks_set_credentials", demo, http, tokens))["setSaltoKsCredentials"]
    assert saved["errors"] == [] and saved["integration"]["saltoKs"]["passwordSet"] is True
    steps = await run("salto_ks_iq_otp_setup", demo, http, tokens)
    assert steps["resolveSaltoKsSiteId"]["integration"]["saltoKs"]["siteId"] == SITE_ID
    assert steps["getSaltoKsPin"]["currentPin"] == load_seed()["sites"][0]["iqs"][0]["pin"]
    assert steps["setSaltoKsPin"]["errors"] == [] and steps["setSaltoKsPin"]["message"] == "IQ is activated"
    assert steps["setSaltoKsPin"]["integration"]["saltoKs"]["iqStatus"] == "IQ is activated"
    integration = await salto_integration(gql)
    report = (await gql(TEST_CONNECTION, {"id": integration["id"]}))["testDoorConnection"]
    assert report["ok"] is True and report["message"].endswith("IQ is activated"), report
    # The mounted sandbox saw it all: its page shows the IQ activated with the new pin.
    page = await http.get(f"{SANDBOX_PATH}/_sandbox/")
    assert page.status_code == 200 and "activated, PIN <code>2580</code>" in page.text


async def test_the_mounted_sandbox_keeps_the_apps_time(demo, http, tokens, clock):
    """One-time passwords the app signs with its clock are checked by the mounted sandbox against the
    same clock: with the host's clock ten minutes off the wall clock, the IQ OTP setup still succeeds."""
    clock.advance(minutes=10)
    assert (await run("salto_ks_set_credentials", demo, http, tokens))["setSaltoKsCredentials"]["errors"] == []
    steps = await run("salto_ks_iq_otp_setup", demo, http, tokens)
    assert steps["setSaltoKsPin"]["errors"] == [] and steps["setSaltoKsPin"]["message"] == "IQ is activated"


async def test_an_unconfigured_acceptance_is_the_mounted_sandbox(demo):
    found = environment_settings(demo, "acceptance")
    assert found.api_url == found.identity_url == f"http://127.0.0.1:{demo.settings.port}{SANDBOX_PATH}"
    assert (found.client_id, found.client_secret) == (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    assert {c["clientId"]: c["clientSecret"] for c in load_seed()["clients"]}[SANDBOX_CLIENT_ID] == SANDBOX_CLIENT_SECRET
    assert environment_settings(demo, "production") is None


async def test_without_the_sandbox_nothing_is_mounted_and_acceptance_needs_its_settings(tmp_path, database_url):
    host = load_host(environ=base_environ(tmp_path, database_url))
    try:
        assert environment_settings(host, "acceptance") is None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(host)),
                                     base_url="http://testserver") as client:
            assert (await client.get(f"{SANDBOX_PATH}/_sandbox/")).status_code == 404
    finally:
        await host.database.dispose()
