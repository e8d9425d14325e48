"""The documented door-access operations (graphql/operations/door_*.graphql, doors, integration_log,
resivo_*) do what their comments say on the demo data, whose integration is a Resivo one talking to
the sandbox — beyond "no errors", which tests/base/test_graphql_operations.py checks."""

import json

import httpx
import pytest

from addon.base.public import DEMO_FILE, REPO_ROOT, seed
from addon.door_access.public import call_log
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CallLogBridge
from tests.base.test_graphql_operations import Operation, resolve

pytestmark = pytest.mark.anyio

OPERATIONS = REPO_ROOT / "graphql" / "operations"
EXPECTED = ["door_access_bulk_resync", "door_access_health", "door_access_preview", "door_access_reissue",
            "door_access_resync", "door_access_retry_failed", "door_activation_preview", "door_backends",
            "door_connection_test", "door_integration", "door_integration_archive", "door_integration_create",
            "door_integration_set_active", "door_integration_update", "door_integrations", "door_mappable_objects",
            "door_mapping_change_preview", "door_mapping_set", "doors", "integration_access_changed",
            "integration_log", "resivo_set_credentials"]


@pytest.fixture
def env_overrides():
    return {"IRESERVE_SANDBOX": "true"}


@pytest.fixture
async def demo(host, app):
    connector = host.provide(ResivoConnector(transport=httpx.ASGITransport(app=app), on_call=CallLogBridge(host)))
    await seed(host, json.loads(DEMO_FILE.read_text(encoding="utf-8")))
    yield host
    await connector.aclose()


async def run(name, demo, http, tokens) -> dict:
    path = OPERATIONS / f"{name}.graphql"
    operation = Operation.read(path)
    async with demo.database.session() as session:
        variables = await resolve(operation.variables, session, demo)
    response = await http.post("/graphql", json={"query": path.read_text(encoding="utf-8"), "variables": variables},
                               headers={"Authorization": f"Bearer {tokens[operation.role]}"})
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]


def test_every_door_access_operation_is_documented():
    found = sorted(p.stem for p in OPERATIONS.glob("*.graphql")
                   if p.stem.startswith(("door", "resivo_", "integration_")))
    assert found == EXPECTED
    for name in EXPECTED:
        header = [line for line in (OPERATIONS / f"{name}.graphql").read_text().splitlines() if line.startswith("#")]
        assert len(header) >= 2 and any(line.startswith("# role:") for line in header), name


async def test_documented_operations_on_the_demo(demo, http, tokens):
    assert "resivo" in [b["name"] for b in (await run("door_backends", demo, http, tokens))["doorBackends"]]
    # The demo's Resivo integration (another vendor's may sit beside it).
    [integration] = [i for i in (await run("door_integrations", demo, http, tokens))["doorIntegrations"]
                     if i["backend"] == "resivo"]
    assert integration["name"] == "Duinpark doors (sandbox)" and integration["active"] is True
    assert integration["backend"] == "resivo" and integration["resivo"]["clientSecretSet"] is True
    mapped = {m["object"]["name"]: m for m in integration["doorMappings"]}
    assert set(mapped) == {"Studio building", "Studio 2", "Meeting room", "Sauna"}
    assert mapped["Sauna"]["warnings"] == [
        "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; it cannot be opened remotely."]
    assert (await run("door_integration", demo, http, tokens))["doorIntegration"]["id"] == integration["id"]

    report = (await run("door_connection_test", demo, http, tokens))["testDoorConnection"]
    assert report["ok"] is True, report
    doors = (await run("doors", demo, http, tokens))["doors"]
    assert len(doors) == 5 and {d["location"]["id"] for d in doors} == {"demo-site"}
    objects = (await run("door_mappable_objects", demo, http, tokens))["mappableObjects"]
    assert [o["code"] for o in objects][:3] == ["meeting-room", "sauna", "studio-building"]

    [plan] = (await run("door_access_preview", demo, http, tokens))["previewBookingAccess"]
    assert plan["mappedObject"]["name"] == "Studio building" and plan["locale"] == "de"
    assert [d["id"] for d in plan["doors"]] == ["duinpark-studio-main", "duinpark-studio-side"]
    assert plan["problems"] == [] and plan["locationId"] == "demo-site"

    mapping = (await run("door_mapping_set", demo, http, tokens))["setDoorMapping"]
    assert mapping["mapping"]["doors"] == [{"name": "Studio building main door", "id": "duinpark-studio-main",
                                            "online": True}]
    assert mapping["affectedBookings"] == 0  # no booking on Studio 1 has access yet
    [plan] = (await run("door_access_preview", demo, http, tokens))["previewBookingAccess"]
    assert plan["mappedObject"]["name"] == "Studio 1"  # the sub-object's own mapping now wins

    updated = (await run("door_integration_update", demo, http, tokens))["updateDoorIntegration"]
    assert updated["integration"]["timeBeforeMinutes"] == 45
    credentials = (await run("resivo_set_credentials", demo, http, tokens))["setResivoCredentials"]
    assert credentials["integration"]["resivo"]["targetMobileAppId"] == 12345
    assert credentials["integration"]["resivo"]["clientSecretSet"] is True
    activated = (await run("door_integration_set_active", demo, http, tokens))["setDoorIntegrationActive"]
    assert activated["integration"]["active"] is True and activated["grantsQueued"] == 0  # already active
    preview = (await run("door_activation_preview", demo, http, tokens))["activationPreview"]
    assert preview == {"canActivate": True, "bookingsToGrant": 0, "problems": []}
    created = (await run("door_integration_create", demo, http, tokens))["createDoorIntegration"]
    assert created["errors"] == [] and created["integration"]["active"] is False
    assert created["integration"]["backend"] == "resivo"

    resynced = (await run("door_access_resync", demo, http, tokens))["resyncBookingAccess"]
    assert [a["state"] for a in resynced["booking"]["access"]] == ["ACTIVE"]
    change = (await run("door_mapping_change_preview", demo, http, tokens))["doorMappingChangePreview"]
    assert change == {"added": ["Studio building main door"], "removed": ["Studio building side door"],
                      "affectedBookings": 1}  # DEMO-1002, on Studio 2, now active
    reissued = (await run("door_access_reissue", demo, http, tokens))["reissueBookingAccess"]
    [access] = reissued["booking"]["access"]
    new, old = access["deliveries"]
    assert access["state"] == "ACTIVE" and (new["status"], old["status"], old["resolution"]) == (
        "CURRENT", "GONE", "REPLACED")
    assert new["recipients"] == [{"email": "jan.devries@example.nl", "phoneNumber": None}] and new["locale"] == "nl"
    await call_log(demo).flush()  # written in the background
    log = (await run("integration_log", demo, http, tokens))["integrationLog"]
    assert "create_remote_access" in {e["node"]["operation"] for e in log["edges"]}
    assert (await run("door_access_retry_failed", demo, http, tokens))["retryFailedAccess"]["requeued"] == 0
    queued = (await run("door_access_bulk_resync", demo, http, tokens))["resyncAccess"]
    assert queued["errors"] == [] and queued["queued"] >= 1
    health = (await run("door_access_health", demo, http, tokens))["doorAccessHealth"]
    assert sum(c["count"] for c in health["grantsByState"]) >= 2 and health["dueNow"] >= queued["queued"]
