"""The documented admin operations (graphql/operations/resivo_*.graphql) do what their comments
say on the demo data — beyond "no errors", which tests/base/test_graphql_operations.py checks."""

import json

import httpx
import pytest

from addon.base.cli import DEMO_FILE, seed
from addon.base.settings import REPO_ROOT
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CONNECTOR_KEY, CallLogger
from tests.base.test_graphql_operations import Operation, resolve

pytestmark = pytest.mark.anyio

OPERATIONS = REPO_ROOT / "graphql" / "operations"
EXPECTED = ["resivo_components", "resivo_create_integration", "resivo_integration", "resivo_integrations",
            "resivo_mappable_objects", "resivo_preview_booking_access", "resivo_set_active",
            "resivo_set_door_mapping", "resivo_test_connection", "resivo_update_integration"]


@pytest.fixture
def settings_overrides():
    return {"sandbox": True}


@pytest.fixture
async def demo(host, app):
    connector = ResivoConnector(transport=httpx.ASGITransport(app=app), on_call=CallLogger(host))
    host.services[CONNECTOR_KEY] = connector
    await seed(host, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    yield host
    await connector.aclose()
    await connector.on_call.flush()


async def run(name, demo, http, tokens) -> dict:
    path = OPERATIONS / f"{name}.graphql"
    operation = Operation.read(path)
    assert operation.role == "admin"
    async with demo.database.session() as session:
        variables = await resolve(operation.variables, session)
    response = await http.post("/graphql", json={"query": path.read_text(encoding="utf-8"), "variables": variables},
                               headers={"Authorization": f"Bearer {tokens['admin']}"})
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


def test_every_admin_operation_is_documented():
    assert sorted(p.stem for p in OPERATIONS.glob("resivo_*.graphql")) == EXPECTED
    for name in EXPECTED:
        header = [line for line in (OPERATIONS / f"{name}.graphql").read_text().splitlines() if line.startswith("#")]
        assert len(header) >= 2 and "(admin)" in " ".join(header), name


async def test_documented_operations_on_the_demo(demo, http, tokens):
    [integration] = (await run("resivo_integrations", demo, http, tokens))["resivoIntegrations"]
    assert integration["name"] == "Duinpark doors (sandbox)" and integration["active"] is True
    assert integration["clientSecretSet"] is True
    mapped = {m["object"]["name"]: m for m in integration["doorMappings"]}
    assert set(mapped) == {"Studio building", "Studio 2", "Meeting room", "Sauna"}
    assert mapped["Sauna"]["warnings"] == [
        "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; Resivo cannot open it remotely."]
    assert (await run("resivo_integration", demo, http, tokens))["resivoIntegration"]["id"] == integration["id"]

    report = (await run("resivo_test_connection", demo, http, tokens))["testResivoConnection"]
    assert report["ok"] is True, report
    doors = (await run("resivo_components", demo, http, tokens))["resivoComponents"]
    assert len(doors) == 5 and {d["site"]["id"] for d in doors} == {"demo-site"}
    objects = (await run("resivo_mappable_objects", demo, http, tokens))["mappableObjects"]
    assert [o["code"] for o in objects][:3] == ["meeting-room", "sauna", "studio-building"]

    [plan] = (await run("resivo_preview_booking_access", demo, http, tokens))["previewBookingAccess"]
    assert plan["mappedObject"]["name"] == "Studio building" and plan["locale"] == "de"
    assert [d["id"] for d in plan["doors"]] == ["duinpark-studio-main", "duinpark-studio-side"]
    assert plan["problems"] == []

    mapping = (await run("resivo_set_door_mapping", demo, http, tokens))["setDoorMapping"]
    assert mapping["mapping"]["doors"] == [{"name": "Studio building main door", "id": "duinpark-studio-main",
                                            "online": True}]
    [plan] = (await run("resivo_preview_booking_access", demo, http, tokens))["previewBookingAccess"]
    assert plan["mappedObject"]["name"] == "Studio 1"  # the sub-object's own mapping now wins

    updated = (await run("resivo_update_integration", demo, http, tokens))["updateResivoIntegration"]
    assert updated["integration"]["timeBeforeMinutes"] == 45 and updated["integration"]["targetMobileAppId"] is None
    assert (await run("resivo_set_active", demo, http, tokens))["setResivoIntegrationActive"]["integration"]["active"]
    created = (await run("resivo_create_integration", demo, http, tokens))["createResivoIntegration"]
    assert created["errors"] == [] and created["integration"]["active"] is False
