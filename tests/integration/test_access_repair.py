"""Door access repair and inspection: resync, audited revoke, retry of failed grants, the
integration log, deactivation as a rollback switch, revoke of sets Resivo no longer has, and the
DataLoader behind Booking.access. Against the sandbox."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, text

from addon.base.events import commit
from addon.booking.services import CustomerData, create_booking as create_booking_row
from addon.resivo.client import ResivoConnector, ResivoCredentials
from addon.resivo.connection import CONNECTOR_KEY, CallLogger
from addon.resivo.models import GrantState, ResivoAccessGrant
from addon.resivo.worker import Worker
from tests.conftest import GraphQLClient, count_statements
from tests.integration.conftest import SANDBOX_URL
from tests.integration.helpers import (
    STUDIO_DOORS,
    booking,
    configured,
    create_booking,
    create_integration,
    field_value,
    sandbox_sets,
    set_active,
    set_mapping,
    set_status,
)

pytestmark = pytest.mark.anyio

GRANT_FIELDS = ("access { integration { id name } state desired authorizationId doors { id name } validFrom validTo "
                "attempts lastError nextAttemptAt revokeRequestedBy revokeRequestedAt }")
PAYLOAD = f"booking {{ id status {{ code }} fields {{ code value }} {GRANT_FIELDS} }} errors {{ field code message }}"
RESYNC = f"mutation($i: BookingAccessInput!) {{ resyncBookingAccess(input: $i) {{ {PAYLOAD} }} }}"
REVOKE = f"mutation($i: BookingAccessInput!) {{ revokeBookingAccess(input: $i) {{ {PAYLOAD} }} }}"
RETRY = "mutation($i: RetryFailedAccessInput!) { retryFailedAccess(input: $i) { requeued errors { field code message } } }"
LOG = """query($integrationId: ID!, $bookingId: ID, $first: Int!, $after: String) {
  integrationLog(integrationId: $integrationId, bookingId: $bookingId, first: $first, after: $after) {
    edges { cursor node { id at operation bookingId method path httpStatus durationMs outcome error } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SIDE_DOOR = {"id": "duinpark-studio-side", "displayName": "Studio building side door"}


@pytest.fixture
def settings_overrides():
    return {"reconcile_wait_seconds": 10.0, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05,
            "resivo_read_timeout": 1.0, "resivo_connect_timeout": 0.5}


def future(days=10, hour=15):
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hour:02d}:00:00+02:00"


def as_role(gql, tokens, role: str) -> GraphQLClient:
    return GraphQLClient(gql.http, tokens[role])


async def repair(gql, mutation: str, booking_id) -> dict:
    data = await gql(mutation, {"i": {"bookingId": booking_id}})
    return next(iter(data.values()))


async def resivo_client(connector):
    return connector.client(ResivoCredentials(base_url=SANDBOX_URL, site_owner_id="demo-owner",
                                              client_id="demo-client", client_secret="demo-secret"))


async def active_sets(sandbox) -> list[dict]:
    return [s for s in await sandbox_sets(sandbox) if s["status"] == "active"]


async def grants(host) -> list[ResivoAccessGrant]:
    async with host.database.session() as session:
        return list((await session.execute(select(ResivoAccessGrant).order_by(ResivoAccessGrant.id))).scalars().all())


async def calls(sandbox) -> dict:
    return (await sandbox.get("/_sandbox/stats")).json()["calls"]


def only_error(body: dict, code: str) -> None:
    assert body["data"] is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error


# -- resyncBookingAccess -------------------------------------------------------------------------

async def test_resync_repairs_a_set_revoked_behind_our_back(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    await (await resivo_client(connector)).revoke("demo-site", old_id)  # drift: someone revoked it in Resivo

    result = await repair(gql, RESYNC, made["id"])
    assert result["errors"] == []
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["lastError"] is None
    assert access["authorizationId"] != old_id
    [now_active] = await active_sets(sandbox)
    assert now_active["id"] == access["authorizationId"] == field_value(result["booking"])
    assert len(await sandbox_sets(sandbox)) == 2

    # Resyncing what is in order changes nothing at Resivo.
    again = await repair(gql, RESYNC, made["id"])
    assert again["booking"]["access"][0]["authorizationId"] == access["authorizationId"]
    assert len(await sandbox_sets(sandbox)) == 2


async def test_resync_of_a_failed_grant_makes_it_active(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 422, "count": 1,
                                                 "operation": "create_remote_access"})
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "FAILED"
    result = await repair(gql, RESYNC, made["id"])
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["lastError"] is None and access["attempts"] == 0
    [only] = await sandbox_sets(sandbox)
    assert only["status"] == "active" and only["id"] == access["authorizationId"]


async def test_failed_change_then_resync_leaves_one_active_set(gql, connector, sandbox):
    """A change that fails (a door vanished) keeps the old set; once fixed, the resync replaces
    it: never two active sets for one booking."""
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12), status="confirmed")
    old_id = made["access"][0]["authorizationId"]
    await sandbox.delete(f"/_sandbox/sites/demo-site/components/{SIDE_DOOR['id']}")
    data = await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } booking {"
                     " access { state lastError } } } }", {"i": {"id": made["id"], "end": future(13, 10)}})
    access = data["updateBooking"]["booking"]["access"][0]
    assert access["state"] == "FAILED" and "Studio building side door" in access["lastError"]

    await sandbox.post("/_sandbox/sites/demo-site/components", json=SIDE_DOOR)  # the door is back
    result = await repair(gql, RESYNC, made["id"])
    access = result["booking"]["access"][0]
    assert access["state"] == "ACTIVE" and access["authorizationId"] != old_id
    [only] = await active_sets(sandbox)
    assert only["id"] == access["authorizationId"] == field_value(result["booking"])
    assert only["restrictions"]["validTo"].startswith((datetime.now(timezone.utc) + timedelta(days=13)).date().isoformat())


# -- revokeBookingAccess -------------------------------------------------------------------------

async def test_revoke_booking_access_whatever_the_status_and_audited(gql, tokens, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    staff = as_role(gql, tokens, "staff")
    before = datetime.now(timezone.utc)
    result = await repair(staff, REVOKE, made["id"])
    assert result["errors"] == []
    assert result["booking"]["status"]["code"] == "confirmed"  # the booking's status is not touched
    access = result["booking"]["access"][0]
    assert access["state"] == "REVOKED" and access["desired"] == "revoked"
    assert access["revokeRequestedBy"] == "test-staff"
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(access["revokeRequestedAt"]) <= datetime.now(timezone.utc)
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["revoked"]


async def test_revoke_booking_access_without_access_is_not_found(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    result = await repair(gql, REVOKE, made["id"])
    assert result["booking"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "bookingId")]
    assert await grants(host) == []


# -- retryFailedAccess ---------------------------------------------------------------------------

async def test_retry_failed_access_requeues_that_integration_only(host, gql, connector, sandbox):
    first_id, objects = await configured(gql)
    second = await create_integration(gql, name="Side door only", triggerStatuses=["confirmed"])
    second_id = second["integration"]["id"]
    assert (await set_mapping(gql, second_id, objects["Studio building"], [SIDE_DOOR["displayName"]]))["errors"] == []
    assert (await set_active(gql, second_id))["errors"] == []

    await sandbox.delete(f"/_sandbox/sites/demo-site/components/{SIDE_DOOR['id']}")
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert [a["state"] for a in made["access"]] == ["FAILED", "FAILED"]
    assert await sandbox_sets(sandbox) == []

    await sandbox.post("/_sandbox/sites/demo-site/components", json=SIDE_DOOR)  # fixed at Resivo
    assert await Worker(host).run_until_idle() == 0  # FAILED is not retried by itself
    result = (await gql(RETRY, {"i": {"integrationId": first_id}}))["retryFailedAccess"]
    assert result == {"requeued": 1, "errors": []}
    assert await Worker(host).run_until_idle() == 1
    after = {a["integration"]["id"]: a for a in (await booking(gql, made["id"]))["access"]}
    assert after[first_id]["state"] == "ACTIVE" and after[first_id]["lastError"] is None
    assert after[second_id]["state"] == "FAILED" and after[second_id]["nextAttemptAt"] is None
    [only] = await sandbox_sets(sandbox)
    assert sorted(d["name"] for d in after[first_id]["doors"]) == sorted(STUDIO_DOORS)
    assert only["id"] == after[first_id]["authorizationId"]

    assert (await gql(RETRY, {"i": {"integrationId": first_id}}))["retryFailedAccess"]["requeued"] == 0


async def test_retry_of_a_failed_revoke_revokes(host, gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 403, "count": 1, "operation": "revoke"})
    access = (await set_status(gql, made["id"], "cancelled"))["access"][0]
    assert access["state"] == "FAILED" and "refused access" in access["lastError"]
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["active"]

    assert (await gql(RETRY, {"i": {"integrationId": integration_id}}))["retryFailedAccess"]["requeued"] == 1
    queued = (await booking(gql, made["id"]))["access"][0]
    assert (queued["state"], queued["desired"], queued["attempts"]) == ("REVOKING", "revoked", 0)
    assert await Worker(host).run_until_idle() == 1
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "REVOKED"
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["revoked"]


async def test_retry_failed_access_of_unknown_integration(gql, connector):
    result = (await gql(RETRY, {"i": {"integrationId": "999999"}}))["retryFailedAccess"]
    assert result["requeued"] == 0 and [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


async def test_repair_needs_staff_and_retry_and_log_need_admin(gql, tokens, connector, sandbox):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    frontend, staff = as_role(gql, tokens, "frontend"), as_role(gql, tokens, "staff")
    for mutation in (RESYNC, REVOKE):
        only_error(await frontend.raw(mutation, {"i": {"bookingId": made["id"]}}), "FORBIDDEN")
        only_error(await gql.raw(mutation, {"i": {"bookingId": made["id"]}}, token=None), "UNAUTHENTICATED")
    for client in (frontend, staff):
        only_error(await client.raw(RETRY, {"i": {"integrationId": integration_id}}), "FORBIDDEN")
        only_error(await client.raw(LOG, {"integrationId": integration_id, "first": 10}), "FORBIDDEN")
    # Nothing was touched by the refused calls.
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["active"]
    assert (await booking(gql, made["id"]))["access"][0]["state"] == "ACTIVE"


# -- integrationLog ------------------------------------------------------------------------------

async def log_page(gql, integration_id, first=100, booking_id=None, after=None) -> dict:
    data = await gql(LOG, {"integrationId": integration_id, "bookingId": booking_id, "first": first, "after": after})
    return data["integrationLog"]


async def test_integration_log_lists_calls_newest_first(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    good = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    bad = await create_booking(gql, objects["Studio 1"], future(), future(11))
    await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 503, "count": 1,
                                                 "operation": "create_remote_access"})
    assert (await set_status(gql, bad["id"], "confirmed"))["access"][0]["state"] == "PENDING"
    await connector.on_call.flush()

    page = await log_page(gql, integration_id)
    nodes = [e["node"] for e in page["edges"]]
    assert page["pageInfo"]["hasNextPage"] is False
    assert [int(n["id"]) for n in nodes] == sorted((int(n["id"]) for n in nodes), reverse=True)
    assert [n["at"] for n in nodes] == sorted((n["at"] for n in nodes), reverse=True)
    newest = nodes[0]
    assert newest["operation"] == "create_remote_access" and newest["bookingId"] == bad["id"]
    assert (newest["httpStatus"], newest["outcome"], newest["method"]) == (503, "transient", "POST")
    assert "503" in newest["error"] and newest["durationMs"] >= 0
    created = [n for n in nodes if n["operation"] == "create_remote_access" and n["bookingId"] == good["id"]]
    assert [(n["httpStatus"], n["outcome"], n["error"]) for n in created] == [(201, "ok", None)]
    assert created[0]["path"] == "/v8/sites/demo-site/authorizations/remote-access"
    assert {"token", "get_site", "list_components", "create_remote_access"} <= {n["operation"] for n in nodes}

    only_good = [e["node"] for e in (await log_page(gql, integration_id, booking_id=good["id"]))["edges"]]
    assert only_good and {n["bookingId"] for n in only_good} == {good["id"]}
    assert [n["id"] for n in only_good] == [n["id"] for n in nodes if n["bookingId"] == good["id"]]

    # Pages of two, walked with after: the same entries in the same order, none twice.
    walked, after = [], None
    while True:
        part = await log_page(gql, integration_id, first=2, after=after)
        walked += [e["node"]["id"] for e in part["edges"]]
        assert len(part["edges"]) <= 2
        if not part["pageInfo"]["hasNextPage"]:
            break
        after = part["pageInfo"]["endCursor"]
    assert walked == [n["id"] for n in nodes]

    # Another integration's log does not show these calls.
    other = await create_integration(gql, name="Other doors")
    assert (await log_page(gql, other["integration"]["id"]))["edges"] == []


async def test_integration_log_rejects_bad_paging(gql, connector):
    integration_id, _ = await configured(gql)
    huge_cursor = base64.urlsafe_b64encode(b"log:99999999999").decode()
    for variables in ({"first": 0}, {"first": 100_000}, {"first": 10, "after": "not-a-cursor!"},
                      {"first": 10, "after": huge_cursor}):
        body = await gql.raw(LOG, {"integrationId": integration_id, **variables})
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert (await gql.raw(LOG, {"integrationId": "abc", "first": 5}))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_integration_log_of_ids_no_row_can_have_is_empty(gql, connector):
    integration_id, _ = await configured(gql)
    for integration, booking_id in (("99999999999", None), (integration_id, "99999999999"), ("-1", None)):
        page = await log_page(gql, integration, first=5, booking_id=booking_id)
        assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


class LeakyTransport(httpx.AsyncBaseTransport):
    """The sandbox, except that the door list fails with a body that echoes the caller's
    credentials back — as a badly behaved proxy or a debug build might."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.leak = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.leak and request.url.path.endswith("/components"):
            return httpx.Response(500, json={"message": f"upstream error; request carried '{request.headers.get('authorization')}'"
                                                        " for client demo-client with client_secret=demo-secret"})
        return await self.inner.handle_async_request(request)


async def test_integration_log_never_holds_a_secret(host, gql, tokens, sandbox, sandbox_app):
    transport = LeakyTransport(httpx.ASGITransport(app=sandbox_app))
    connector = ResivoConnector(connect_timeout=0.5, read_timeout=1.0, transport=transport, on_call=CallLogger(host))
    host.services[CONNECTOR_KEY] = connector
    try:
        integration_id, objects = await configured(gql)
        await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        transport.leak = True
        leaked = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        assert leaked["access"][0]["state"] == "PENDING"
        assert "***" in leaked["access"][0]["lastError"]
        transport.leak = False
        # The token refused, then the credentials refused: the authentication error paths.
        await sandbox.post("/_sandbox/faults", json={"mode": "status", "status": 401, "count": 2})
        refused = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
        assert refused["access"][0]["state"] == "FAILED"
        await connector.on_call.flush()
    finally:
        await connector.aclose()

    bearer_tokens = list(sandbox_app.state.sandbox.tokens)
    assert bearer_tokens
    forbidden = ["demo-secret", *bearer_tokens, *tokens.values()]
    async with host.database.session() as session:
        rows = (await session.execute(text("SELECT * FROM resivo_call_log"))).all()
        grant_rows = (await session.execute(text("SELECT * FROM resivo_access_grant"))).all()
    stored = repr(rows) + repr(grant_rows)
    assert len(rows) > 8 and "***" in stored
    graphql = json.dumps(await log_page(gql, integration_id))
    for secret in forbidden:
        assert secret not in stored
        assert secret not in graphql
    assert "outcome" in graphql and "***" in graphql


# -- deactivation --------------------------------------------------------------------------------

async def test_deactivation_stops_new_grants_and_revokes_nothing(gql, connector, sandbox):
    integration_id, objects = await configured(gql)
    granted = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert (await set_active(gql, integration_id, False))["errors"] == []
    before = await calls(sandbox)

    later = await create_booking(gql, objects["Studio 1"], future(), future(12))
    assert (await set_status(gql, later["id"], "confirmed"))["access"] == []
    await gql("mutation($i: UpdateBookingInput!) { updateBooking(input: $i) { errors { message } } }",
              {"i": {"id": granted["id"], "end": future(13, 10)}})
    after = await calls(sandbox)
    for operation in ("create_remote_access", "revoke", "token"):
        assert after.get(operation) == before.get(operation), operation
    [still] = await sandbox_sets(sandbox)
    assert still["status"] == "active" and still["id"] == granted["access"][0]["authorizationId"]
    access = (await booking(gql, granted["id"]))["access"][0]
    assert access["state"] == "ACTIVE"
    assert access["authorizationId"] == still["id"]
    assert (await booking(gql, later["id"]))["access"] == []


# -- revoke of a set Resivo no longer has --------------------------------------------------------

@pytest.mark.parametrize("gone", ["revoked", "unknown"])
async def test_revoking_a_set_resivo_no_longer_has_counts_as_done(gql, connector, sandbox, sandbox_app, gone):
    integration_id, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    authorization_id = made["access"][0]["authorizationId"]
    if gone == "revoked":
        await (await resivo_client(connector)).revoke("demo-site", authorization_id)
    else:
        del sandbox_app.state.sandbox.authorizations[authorization_id]

    cancelled = await set_status(gql, made["id"], "cancelled")
    access = cancelled["access"][0]
    assert access["state"] == "REVOKED" and access["lastError"] is None and access["nextAttemptAt"] is None
    await connector.on_call.flush()
    [revoke] = [e["node"] for e in (await log_page(gql, integration_id, booking_id=made["id"]))["edges"]
                if e["node"]["operation"] == "revoke"]
    assert (revoke["httpStatus"], revoke["outcome"]) == ({"revoked": 409, "unknown": 404}[gone], "ok")


# -- Booking.access through a DataLoader ---------------------------------------------------------

PAGE = "{ bookings(first: 50) { edges { node { id access { state integration { name } doors { name } } } } } }"


async def add_confirmed(host, object_id, count: int, offset: int) -> None:
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=10)
    async with host.database.session() as session:
        for n in range(offset, offset + count):
            await create_booking_row(host, session, object_id=object_id, start=start, end=start + timedelta(days=1),
                                     status="confirmed", reference=f"PAGE-{n:03d}",
                                     customer=CustomerData(name=f"Guest {n}", email=f"g{n}@example.com"))
        await commit(session)
    await Worker(host).run_until_idle()
    await host.services[CONNECTOR_KEY].on_call.flush()  # no log writes while statements are counted


async def test_booking_access_costs_the_same_for_5_and_50_bookings(host, gql, connector, sandbox):
    _, objects = await configured(gql)
    await add_confirmed(host, objects["Studio 1"], 5, 0)
    with count_statements(host) as five:
        small = await gql(PAGE)
    await add_confirmed(host, objects["Studio 2"], 45, 5)
    with count_statements(host) as fifty:
        large = await gql(PAGE)
    assert len(small["bookings"]["edges"]) == 5 and len(large["bookings"]["edges"]) == 50
    states = {a["state"] for e in large["bookings"]["edges"] for a in e["node"]["access"]}
    assert states == {"ACTIVE"}
    assert all(e["node"]["access"][0]["integration"]["name"] == "Duinpark doors" for e in large["bookings"]["edges"])
    assert fifty["n"] == five["n"], (five["sql"], fifty["sql"])
