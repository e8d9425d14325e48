"""Live door access over GraphQL subscriptions (graphql-transport-ws) against a real uvicorn on
loopback, with the in-memory lock vendor; on SQLite the broker delivers within the process."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import update
from websockets.exceptions import InvalidStatus
from websockets.protocol import State

from addon.base.public import (
    BAD_CREDENTIALS,
    COOKIE_FROM_OTHER_SITE,
    CREDENTIALS_ENDED,
    NO_PONG,
    ROLE_CHANGED,
    SESSION_COOKIE,
    ApiToken,
    Message,
    Role,
    User,
    broker,
    commit,
    create_app,
    create_token,
    load_host,
    utcnow,
)
from addon.door_access.backend import register_backend
from addon.door_access.worker import Worker
from tests.base.identity_helpers import add_user, signed_in
from tests.conftest import GraphQLClient, base_environ
from tests.door_access.helpers import configured, create_booking, future, set_status
from tests.door_access.memory_backend import MemoryBackend
from tests.support.live_server import LiveServer, open_socket

pytestmark = pytest.mark.anyio

PARTNER = "http://partner.example"  # a frontend on another site, allowed by CORS (tokens only)

ACCESS = """subscription($id: ID!) { bookingAccessChanged(bookingId: $id) {
  state desired doors { name } validFrom validTo integration { name } authorizationId } }"""
CHANGES = """subscription($id: ID!) { integrationAccessChanged(integrationId: $id) {
  grantId bookingId state grant { id state } booking { reference } } }"""


@pytest.fixture
def env_overrides():
    return {"IRESERVE_CORS_ORIGINS": PARTNER, "IRESERVE_WS_PING_INTERVAL": "0.2", "IRESERVE_WS_PONG_TIMEOUT": "0.3",
            "IRESERVE_WS_INIT_TIMEOUT": "0.5", "IRESERVE_WS_AUTH_RECHECK": "0.3"}


@pytest.fixture
async def live(host, tmp_path, database_url, env_overrides, clock, vendor, memory, tokens):
    """The app on a host of its own (its own engine and broker, on the server's loop) over the
    test's database, with the memory lock vendor; no background worker."""
    served = load_host(environ=base_environ(tmp_path, database_url, **env_overrides), clock=clock)
    register_backend(served, MemoryBackend(vendor))
    server = LiveServer(create_app(served)).start()
    server.host = served
    yield server
    server.stop()


@pytest.fixture
async def api(live, tokens):
    """An admin GraphQL client over HTTP to the live server."""
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        yield GraphQLClient(client, tokens["admin"])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_access_is_seen_going_from_pending_to_active_without_polling(live, api, gql, tokens, vendor, clock):
    integration_id, objects = await configured(gql)  # in-process: quicker, nothing to announce yet
    booking = await create_booking(gql, objects["Studio 1"], future(), future(11))
    async with open_socket(live.ws_url) as guest, open_socket(live.ws_url) as admin:
        assert (await guest.init(bearer(tokens["frontend"])))["type"] == "connection_ack"
        assert (await admin.init(bearer(tokens["admin"])))["type"] == "connection_ack"
        await guest.subscribe("access", ACCESS, {"id": booking["id"]})
        await admin.subscribe("changes", CHANGES, {"id": integration_id})
        first = await guest.next("access")
        assert first["payload"] == {"data": {"bookingAccessChanged": []}}, "the current state comes at once"

        vendor.fail("create", kind="transient", times=1)  # the first attempt fails: the grant waits
        await set_status(api, booking["id"], "confirmed")  # on the live server: its broker announces
        pending = (await guest.next("access"))["payload"]
        [grant] = pending["data"]["bookingAccessChanged"]
        assert grant["state"] == "PENDING" and grant["integration"]["name"] == "Duinpark doors"
        change = (await admin.next("changes"))["payload"]["data"]["integrationAccessChanged"]
        assert change["state"] == "PENDING" and change["booking"]["reference"] == booking["reference"]
        assert change["grant"] == {"id": change["grantId"], "state": "PENDING"}

        # Nobody asks again: the worker's retry is announced to both subscribers.
        clock.advance(3600)
        assert await live.run(Worker(live.host).run_until_idle()) == 1
        seen = pending
        while seen["data"]["bookingAccessChanged"][0]["state"] == "PENDING":  # the retry's own notice(s)
            seen = (await guest.next("access"))["payload"]
        [active] = seen["data"]["bookingAccessChanged"]
        assert active["state"] == "ACTIVE" and active["doors"] == [{"name": "Main door"}, {"name": "Side door"}]
        assert active["validFrom"] and active["validTo"]
        # The frontend role reads the public fields; the vendor's id is private to staff.
        assert active["authorizationId"] is None
        assert [(e["path"], e["extensions"]["code"]) for e in seen["errors"]] == [
            (["bookingAccessChanged", 0, "authorizationId"], "FORBIDDEN")]
        while change["state"] != "ACTIVE":
            change = (await admin.next("changes"))["payload"]["data"]["integrationAccessChanged"]
        [stored] = vendor.active_sets()
        assert change["grant"] == {"id": change["grantId"], "state": "ACTIVE"} and stored.access.active

        await guest.send({"id": "access", "type": "complete"})
        await admin.send({"id": "changes", "type": "complete"})
        assert await eventually(lambda: broker(live.host).subscriber_count == 0), "completed subscriptions let go"


async def test_a_connection_needs_a_valid_sign_in_from_an_allowed_page(live, host, tokens):
    async with open_socket(live.ws_url) as anonymous:
        assert await anonymous.init() is None
        code, reason = await anonymous.closed()
        assert code == 4403 and "Authorization: Bearer <token>" in reason
    async with open_socket(live.ws_url) as unknown:
        assert await unknown.init(bearer("irs_not-a-token")) is None
        assert await unknown.closed() == (4403, Message(BAD_CREDENTIALS).text())

    await add_user(host)
    async with httpx.AsyncClient(base_url=live.url) as browser:
        await signed_in(browser)
        cookie = {"Cookie": f"{SESSION_COOKIE}={browser.cookies.get(SESSION_COOKIE)}"}
    async with open_socket(live.ws_url, headers=cookie, origin=live.url) as own_page:
        assert (await own_page.init())["type"] == "connection_ack"
    # A partner's page may open a socket (CORS lists it) and use a token, but not the person's cookie.
    async with open_socket(live.ws_url, headers=cookie, origin=PARTNER) as partner_page:
        assert await partner_page.init() is None
        assert await partner_page.closed() == (4403, Message(COOKIE_FROM_OTHER_SITE).text())
    async with open_socket(live.ws_url, origin=PARTNER) as partner_app:
        assert (await partner_app.init(bearer(tokens["frontend"])))["type"] == "connection_ack"
    # Any other site cannot even open one.
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(live.ws_url, headers=cookie, origin="http://elsewhere.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_a_connection_runs_subscriptions_its_role_may_run(live, tokens):
    async with open_socket(live.ws_url) as frontend:
        assert (await frontend.init(bearer(tokens["frontend"])))["type"] == "connection_ack"
        await frontend.subscribe("changes", CHANGES, {"id": "1"})
        refused = await frontend.next("changes")
        assert refused["type"] == "error" and codes_of(refused) == ["FORBIDDEN"], "an integration's changes: staff"
    async with open_socket(live.ws_url) as staff:
        assert (await staff.init(bearer(tokens["staff"])))["type"] == "connection_ack"
        await staff.subscribe("changes", CHANGES, {"id": "987654"})
        assert codes_of(await staff.next("changes")) == ["NOT_FOUND"], "staff may follow an integration's changes"
        assert (await staff.next("changes"))["type"] == "complete"
        await staff.subscribe("missing", ACCESS, {"id": "987654"})
        assert codes_of(await staff.next("missing")) == ["NOT_FOUND"]
        assert (await staff.next("missing"))["type"] == "complete"
        await staff.subscribe("query", "{ viewer { name } }")
        query = await staff.next("query")
        assert query["type"] == "error" and codes_of(query) == ["BAD_REQUEST"], "queries go over HTTP"
        await staff.subscribe("huge", "subscription { " + "a: __typename " * 5000 + "}")
        assert (await staff.closed())[0] == 1009, "a message over 64 KiB is refused unread"


async def test_idle_connections_are_pinged_and_dead_or_signed_out_ones_closed(live, host, clock):
    async with host.database.session() as session:
        doomed = await create_token(session, "doomed-app", Role.FRONTEND)
        await commit(session)
    await add_user(host)  # an admin
    async with httpx.AsyncClient(base_url=live.url) as browser:
        await signed_in(browser)
        cookie = {"Cookie": f"{SESSION_COOKIE}={browser.cookies.get(SESSION_COOKIE)}"}
    async with open_socket(live.ws_url) as alive, open_socket(live.ws_url, answer_pings=False) as dead, \
            open_socket(live.ws_url) as silent, open_socket(live.ws_url, headers=cookie, origin=live.url) as person:
        assert (await alive.init(bearer(doomed)))["type"] == "connection_ack"
        assert (await dead.init(bearer(doomed)))["type"] == "connection_ack"
        assert (await person.init())["type"] == "connection_ack"
        assert await silent.closed() == (4408, "Connection initialisation timeout")
        assert await dead.closed() == (4408, Message(NO_PONG).text())
        assert await eventually(lambda: alive.pings >= 3), "pinged again and again"
        assert alive.connection.state is State.OPEN, "a client that answers stays"

        async with host.database.session() as session:
            await session.execute(update(ApiToken).where(ApiToken.name == "doomed-app").values(revoked_at=utcnow()))
            await session.execute(update(User).where(User.email == "anna@example.com").values(role="staff"))
            await commit(session)
        # Written through another host (as by another process): the server's token cache holds
        # the token until its entry runs out.
        clock.advance(seconds=live.host.settings.token_cache_seconds)
        assert await alive.closed() == (4403, Message(CREDENTIALS_ENDED).text())
        assert await person.closed() == (4403, Message(ROLE_CHANGED).text()), "what it subscribed to was for admins"


def codes_of(message: dict) -> list[str]:
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors", [])
    return [e.get("extensions", {}).get("code") for e in errors]


async def eventually(condition, seconds: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True
