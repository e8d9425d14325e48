"""The client against the sandbox served by a real uvicorn on 127.0.0.1 (real sockets)."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from addon.resivo.client import Recipient, RemoteAccessRequest, ResivoConnector
from addon.resivo.errors import ResivoTransientError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def live(live_sandbox):
    base_url, app = live_sandbox
    async with httpx.AsyncClient(base_url=base_url) as admin:
        await admin.post("/_sandbox/reset")
        yield base_url, admin


async def test_flow_over_real_http(live, make_credentials):
    base_url, admin = live
    now = datetime.now(UTC)
    async with ResivoConnector() as connector:
        client = connector.client(make_credentials(base_url))
        assert {s.id for s in await client.list_sites()} == {"demo-site", "strandhuis-site"}
        doors = {c.display_name: c.id for c in await client.list_components("demo-site")}
        created = await client.create_remote_access(
            "demo-site",
            RemoteAccessRequest(
                display_name="Booking 1001",
                component_ids=[doors["Studio building main door"], doors["Meeting room door"]],
                valid_from=now,
                valid_to=now + timedelta(days=1),
                recipients=[Recipient(email="guest@example.com")],
                locale="de",
                external_reference="live:1001",
            ),
        )
        [found] = await client.find_by_reference("demo-site", "live:1001")
        assert found.id == created.id
        await client.revoke("demo-site", created.id)
        assert (await client.get_authorization("demo-site", created.id)).status == "revoked"
    [seen] = (await admin.get("/_sandbox/authorizations")).json()
    assert seen["locale"] == "de" and seen["status"] == "revoked"


async def test_concurrent_calls_share_one_token_over_real_http(live, make_credentials):
    base_url, admin = live
    await admin.post("/_sandbox/latency", json={"ms": 20})
    async with ResivoConnector() as connector:
        client = connector.client(make_credentials(base_url))
        await asyncio.gather(*(client.get_site("demo-site") for _ in range(10)))
    stats = (await admin.get("/_sandbox/stats")).json()
    assert stats["tokenRequests"] == 1 and stats["calls"]["get_site"] == 10


async def test_read_timeout_over_real_http(live, make_credentials):
    base_url, admin = live
    await admin.post(
        "/_sandbox/faults", json={"mode": "hang", "seconds": 1, "operation": "list_components"}
    )
    async with ResivoConnector(connect_timeout=1, read_timeout=0.3) as connector:
        client = connector.client(make_credentials(base_url))
        with pytest.raises(ResivoTransientError, match="Resivo did not answer within 0.3 s"):
            await client.list_components("demo-site")
        assert await client.list_components("demo-site")


async def test_connection_refused(make_credentials):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    async with ResivoConnector(connect_timeout=1, read_timeout=1) as connector:
        client = connector.client(make_credentials(f"http://127.0.0.1:{port}"))
        with pytest.raises(
            ResivoTransientError, match="Could not reach Resivo at 127.0.0.1"
        ) as caught:
            await client.list_sites()
    assert caught.value.operation == "token" and caught.value.status is None


def test_run_sandbox_serves_the_app_with_uvicorn(monkeypatch):
    import uvicorn

    from addon.resivo.sandbox import run_sandbox

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app, **kwargs))
    run_sandbox(port=8123, token_ttl_seconds=60)
    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    assert served["app"].state.sandbox.token_ttl_seconds == 60
    assert "demo-site" in served["app"].state.sandbox.sites
