"""No silent failures, end to end against the Resivo sandbox: a lost create answer without a Site ID,
a door taken offline or renamed at Resivo, a mapping change, and the demo's bookings getting access."""

from __future__ import annotations

import json

import httpx
import pytest

from addon.base.public import DEMO_FILE, seed
from addon.door_access.worker import Worker
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CallLogBridge
from tests.door_access.helpers import create_booking, future, set_status
from tests.resivo.host_helpers import DEMO_CREDENTIALS, STUDIO_DOORS, configured_resivo

pytestmark = pytest.mark.anyio

COMPONENTS = "/_sandbox/sites/demo-site/components"
ACCESS = "query($id: ID!) { booking(id: $id) { access { state lastError warnings doors { name } authorizationId } } }"
MAPPING = "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) { affectedBookings errors { message } } }"


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60"}


async def access_of(gql, booking_id) -> dict:
    [access] = (await gql(ACCESS, {"id": booking_id}))["booking"]["access"]
    return access


async def test_a_lost_create_is_revoked_at_cancel_without_a_site_id(gql, wired_sandbox):
    """Site ID is optional: the set's site is recorded before the create is sent, so the revoke
    finds the set whose answer was lost."""
    credentials = {key: value for key, value in DEMO_CREDENTIALS.items() if key != "siteId"}
    _, objects = await configured_resivo(gql, credentials=credentials)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await wired_sandbox.fault(mode="drop_answer", operation="create_remote_access", count=1)
    pending = await set_status(gql, made["id"], "confirmed")
    assert pending["access"][0]["state"] == "PENDING"
    [lost] = await wired_sandbox.sets()
    assert lost["status"] == "active"  # made at Resivo; its answer never reached us

    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await wired_sandbox.sets()] == ["revoked"]


async def test_a_door_taken_offline_at_resivo_is_a_warning_on_the_access(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    offline = await wired_sandbox.admin.patch(f"{COMPONENTS}/duinpark-studio-side", json={"online": False})
    assert offline.status_code == 200
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = await access_of(gql, made["id"])
    assert access["state"] == "ACTIVE"
    assert access["warnings"] == [
        "Door 'Studio building side door' on site 'Duinpark' (demo-site) is offline; it cannot be opened remotely."]


async def test_a_door_renamed_at_resivo_no_longer_resolves_and_says_so(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    renamed = await wired_sandbox.admin.patch(f"{COMPONENTS}/duinpark-studio-side", json={"displayName": "Back door"})
    assert renamed.status_code == 200
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = await access_of(gql, made["id"])
    assert access["state"] == "ACTIVE" and [d["name"] for d in access["doors"]] == [STUDIO_DOORS[0]]
    assert access["warnings"] == ["Door 'Studio building side door' does not exist on site 'Duinpark' (demo-site)."]
    [made_set] = await wired_sandbox.sets()
    assert made_set["componentIds"] == ["duinpark-studio-main"]


async def test_a_mapping_change_replaces_the_set_at_resivo(gql, host, wired_sandbox):
    integration_id, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = (await access_of(gql, made["id"]))["authorizationId"]
    changed = (await gql(MAPPING, {"i": {"integrationId": integration_id, "objectId": objects["Studio building"],
                                         "doorNames": [STUDIO_DOORS[0]]}}))["setDoorMapping"]
    assert changed == {"affectedBookings": 1, "errors": []}
    await Worker(host).run_until_idle()
    access = await access_of(gql, made["id"])
    sets = {s["id"]: s for s in await wired_sandbox.sets()}
    assert sets[old_id]["status"] == "revoked"
    assert sets[access["authorizationId"]]["status"] == "active"
    assert sets[access["authorizationId"]]["componentIds"] == ["duinpark-studio-main"]


@pytest.mark.parametrize("env_overrides", [{"IRESERVE_SANDBOX": "true"}])
async def test_the_demo_bookings_at_a_trigger_status_get_access(host, app, http, env_overrides):
    """`make run`: the demo integration is active from the start, so the demo bookings that are
    already confirmed or paid get their door links from the worker (from the sandbox mounted in
    the app, as with `make run`)."""
    connector = host.provide(ResivoConnector(transport=httpx.ASGITransport(app=app), on_call=CallLogBridge(host)))
    data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
    try:
        await seed(host, data)
        await Worker(host).run_until_idle()
    finally:
        await connector.aclose()
    sets = (await http.get("/resivo-sandbox/_sandbox/authorizations")).json()
    sets = sets["authorizations"] if isinstance(sets, dict) else sets
    references = {s["displayName"].split(" – ")[0] for s in sets if s["status"] == "active"}
    expected = {b["reference"] for b in data["bookings"]
                if set(b.get("statuses", [])) & {"confirmed", "paid"} and b["statuses"][-1] in ("confirmed", "paid")}
    assert {"DEMO-1002", "DEMO-1003"} <= expected
    assert references == expected
