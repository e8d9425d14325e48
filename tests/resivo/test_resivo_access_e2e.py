"""Door access end to end with Resivo: from setBookingStatus through the door-access engine and the
Resivo backend to the sandbox (over ASGI). The engine's rules are tested against the in-memory
vendor (tests/door_access); here what only Resivo shows: the wire body, sites, the sandbox's faults,
Resivo's messages and status codes, and secrets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text

from addon.door_access.public import call_log, forget_doors
from addon.door_access.worker import Worker
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CallLogBridge
from tests.door_access.helpers import (
    booking,
    create_booking,
    field_value,
    future,
    set_status,
)
from tests.resivo.host_helpers import configured_resivo
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

RESYNC = ("mutation($i: BookingAccessInput!) { resyncBookingAccess(input: $i) { booking { fields { code value }"
          " access { state authorizationId lastError } } errors { field code message } } }")
LOG = """query($integrationId: ID!, $bookingId: ID) {
  integrationLog(integrationId: $integrationId, bookingId: $bookingId, first: 100) {
    edges { node { id operation bookingId method path httpStatus outcome error } }
  }
}"""
SIDE_DOOR = {"id": "duinpark-studio-side", "displayName": "Studio building side door"}


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "60",
            "RESIVO_READ_TIMEOUT": "1", "RESIVO_CONNECT_TIMEOUT": "0.5"}


def utc_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def log_nodes(host, gql, integration_id, booking_id=None) -> list[dict]:
    await call_log(host).flush()
    data = await gql(LOG, {"integrationId": integration_id, "bookingId": booking_id})
    return [e["node"] for e in data["integrationLog"]["edges"]]


async def test_set_up_guide_acceptance_confirm_then_cancel(host, gql, wired_sandbox):
    integration_id, objects = await configured_resivo(gql)
    start, end = future(10, 15), future(12, 10)
    created = await create_booking(gql, objects["Studio 1"], start, end, language="de", email="anna@example.de")
    assert created["access"] == []  # option is neither trigger nor revoke

    confirmed = await set_status(gql, created["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "ACTIVE", access
    assert {d["id"] for d in access["doors"]} == {"duinpark-studio-main", "duinpark-studio-side"}
    [made] = await wired_sandbox.sets()
    assert made["status"] == "active"
    assert sorted(made["componentIds"]) == ["duinpark-studio-main", "duinpark-studio-side"]
    assert made["restrictions"]["validFrom"] == utc_z(datetime.fromisoformat(start) - timedelta(minutes=30))
    assert made["restrictions"]["validTo"] == utc_z(datetime.fromisoformat(end))
    assert made["locale"] == "de"
    assert made["recipients"] == [{"email": "anna@example.de"}]
    assert made["siteId"] == "demo-site"
    assert field_value(confirmed) == made["id"] == access["authorizationId"]

    # The integration log shows the calls as Resivo answered them.
    nodes = await log_nodes(host, gql, integration_id, created["id"])
    [create] = [n for n in nodes if n["operation"] == "create_remote_access"]
    assert (create["method"], create["httpStatus"], create["outcome"], create["error"]) == ("POST", 201, "OK", None)
    assert create["path"] == "/v8/sites/demo-site/authorizations/remote-access"
    assert {"get_site", "list_components", "create_remote_access"} <= {n["operation"] for n in nodes}

    cancelled = await set_status(gql, created["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await wired_sandbox.sets()] == ["revoked"]


async def test_lost_create_answer_is_adopted(host, gql, clock, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await wired_sandbox.fault(mode="drop_answer", count=1, operation="create_remote_access")
    result = await set_status(gql, made["id"], "confirmed")
    assert result["access"][0]["state"] == "PENDING"
    assert len(await wired_sandbox.sets()) == 1  # Resivo did act

    clock.advance(61)
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    [only] = await wired_sandbox.sets()
    assert after["access"][0]["state"] == "ACTIVE"
    assert after["access"][0]["authorizationId"] == only["id"] == field_value(after)
    assert (await wired_sandbox.stats())["calls"]["create_remote_access"] == 1


async def test_resivo_down_leaves_pending_and_worker_finishes(host, gql, clock, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await wired_sandbox.fault(mode="status", status=503, count=1000)
    result = await set_status(gql, made["id"], "confirmed")
    assert result["status"]["code"] == "confirmed"
    assert result["access"][0]["state"] == "PENDING"
    assert "503" in (result["access"][0]["lastError"] or "")
    assert await wired_sandbox.sets() == []

    await wired_sandbox.admin.delete("/_sandbox/faults")
    clock.advance(61)
    assert await Worker(host).run_until_idle() == 1
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"
    assert len(await wired_sandbox.sets()) == 1


async def test_permanent_error_brings_resivos_message_to_last_error(host, gql, clock, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await wired_sandbox.fault(mode="status", status=422, count=1, operation="create_remote_access")
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "FAILED"
    assert "sandbox fault: 422 for create_remote_access" in access["lastError"]
    assert access["attempts"] == 1 and access["nextAttemptAt"] is None
    clock.advance(3600)
    assert await Worker(host).run_until_idle() == 0  # FAILED waits for a change or an admin
    assert await wired_sandbox.sets() == []
    assert (await wired_sandbox.stats())["calls"]["create_remote_access"] == 1


async def test_resivo_refusing_the_window_fails_with_its_message(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(2), future(3))
    # Resivo's clock is a month ahead: for it the booking has ended and it refuses the window.
    response = await wired_sandbox.admin.post("/_sandbox/clock", json={"advanceSeconds": 30 * 86400})
    assert response.status_code == 200, response.text
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "FAILED"
    assert "422" in access["lastError"] and "is not in the future" in access["lastError"]
    assert access["attempts"] == 1
    assert await wired_sandbox.sets() == []


async def test_retry_after_of_a_429_is_honoured(host, gql, clock, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await wired_sandbox.fault(mode="status", status=429, count=1, operation="create_remote_access", retryAfter=120)
    access = (await set_status(gql, made["id"], "confirmed"))["access"][0]
    assert access["state"] == "PENDING" and "429" in access["lastError"]
    wait = datetime.fromisoformat(access["nextAttemptAt"]) - clock.now()
    assert timedelta(seconds=119) < wait <= timedelta(seconds=121)  # not the backoff of at most 60 s
    clock.advance(119)
    assert await Worker(host).run_until_idle() == 0  # not due before Retry-After
    clock.advance(2)
    assert await Worker(host).run_until_idle() == 1
    after = await booking(gql, made["id"])
    [only] = await wired_sandbox.sets()
    assert after["access"][0]["state"] == "ACTIVE" and after["access"][0]["authorizationId"] == only["id"]


async def test_unknown_door_fails_naming_door_and_site(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    for component in ("duinpark-studio-main", SIDE_DOOR["id"]):  # every mapped door gone at Resivo
        removed = await wired_sandbox.admin.delete(f"/_sandbox/sites/demo-site/components/{component}")
        assert removed.status_code == 204
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    access = made["access"][0]
    assert access["state"] == "FAILED"
    assert SIDE_DOOR["displayName"] in access["lastError"] and "Duinpark" in access["lastError"]
    assert await wired_sandbox.sets() == []


async def test_resync_repairs_a_set_revoked_behind_our_back(gql, wired_sandbox, make_credentials):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    async with wired_sandbox.connector() as someone_else:  # drift: someone revoked it in Resivo
        await someone_else.client(make_credentials()).revoke("demo-site", old_id)

    result = (await gql(RESYNC, {"i": {"bookingId": made["id"]}}))["resyncBookingAccess"]
    assert result["errors"] == []
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["lastError"] is None
    assert access["authorizationId"] != old_id
    sets = {s["id"]: s["status"] for s in await wired_sandbox.sets()}
    assert sets == {old_id: "revoked", access["authorizationId"]: "active"}
    assert field_value(result["booking"]) == access["authorizationId"]


@pytest.mark.parametrize("gone, status", [("revoked", 409), ("unknown", 404)])
async def test_revoking_a_set_resivo_no_longer_has_counts_as_done(host, gql, wired_sandbox, make_credentials,
                                                                   gone, status):
    integration_id, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    authorization_id = made["access"][0]["authorizationId"]
    if gone == "revoked":
        async with wired_sandbox.connector() as someone_else:
            await someone_else.client(make_credentials()).revoke("demo-site", authorization_id)
    else:
        del wired_sandbox.state.authorizations[authorization_id]

    access = (await set_status(gql, made["id"], "cancelled"))["access"][0]
    assert access["state"] == "REVOKED" and access["lastError"] is None and access["nextAttemptAt"] is None
    [revoke] = [n for n in await log_nodes(host, gql, integration_id, made["id"]) if n["operation"] == "revoke"]
    assert (revoke["httpStatus"], revoke["outcome"]) == (status, "OK")


class LeakyTransport(httpx.AsyncBaseTransport):
    """The sandbox, except that the door list fails with a body that echoes the caller's
    credentials back, as a badly behaved proxy or a debug build might."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.leak = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.leak and request.url.path.endswith("/components"):
            return httpx.Response(500, json={"message": f"upstream error; request carried "
                                                        f"'{request.headers.get('authorization')}' for client "
                                                        "demo-client with client_secret=demo-secret"})
        return await self.inner.handle_async_request(request)


async def test_integration_log_and_grants_never_hold_a_secret(host, gql, tokens, wired_sandbox):
    transport = LeakyTransport(httpx.ASGITransport(app=wired_sandbox.app))
    connector = host.provide(ResivoConnector(connect_timeout=0.5, read_timeout=1.0, transport=transport,
                                             on_call=CallLogBridge(host)))
    try:
        integration_id, objects = await configured_resivo(gql)
        await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        transport.leak = True
        forget_doors(host, row_id(integration_id))  # the door list is read again: through the leak
        leaked = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        assert leaked["access"][0]["state"] == "PENDING"
        assert "***" in leaked["access"][0]["lastError"]
        transport.leak = False
        # The token refused, then the credentials refused: the authentication error paths.
        await wired_sandbox.fault(mode="status", status=401, count=2)
        refused = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        assert refused["access"][0]["state"] == "FAILED"
        await call_log(host).flush()
    finally:
        await connector.aclose()

    bearer_tokens = list(wired_sandbox.state.tokens)
    assert bearer_tokens
    forbidden = ["demo-secret", *bearer_tokens, *tokens.values()]
    async with host.database.session() as session:
        rows = (await session.execute(text("SELECT * FROM door_call_log"))).all()
        grant_rows = (await session.execute(text("SELECT * FROM door_access_grant"))).all()
    stored = repr(rows) + repr(grant_rows)
    assert len(rows) > 8 and "***" in stored
    graphql = json.dumps(await gql(LOG, {"integrationId": integration_id}))
    for secret in forbidden:
        assert secret not in stored
        assert secret not in graphql
    assert "outcome" in graphql and "***" in graphql
