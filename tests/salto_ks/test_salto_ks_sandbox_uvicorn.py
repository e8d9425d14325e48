"""The client against the sandbox served by a real uvicorn on 127.0.0.1 (real sockets, real
timeouts, the real clock)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn

from addon.salto_ks.client import SaltoKsConnector
from addon.salto_ks.errors import SaltoKsTransientError
from addon.salto_ks.otp import iq_otp
from addon.salto_ks.sandbox import create_sandbox_app
from tests.salto_ks.conftest import IQ_ID, LOCKS, SITE_ID, SITE_UID, make_account

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def live_sandbox():
    """The sandbox served by uvicorn on a free 127.0.0.1 port, in a thread of its own."""
    app = create_sandbox_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start the sandbox")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
async def live(live_sandbox):
    async with httpx.AsyncClient(base_url=live_sandbox) as admin:
        await admin.post("/_sandbox/reset")
        yield live_sandbox, admin


async def test_the_iq_otp_setup_and_an_opening_over_real_http(live):
    base_url, admin = live
    async with SaltoKsConnector() as connector:
        client = connector.client(make_account(base_url, base_url))
        site = await client.resolve_site(SITE_UID)
        current = await client.get_pin(site.id, IQ_ID)
        await client.set_pin(site.id, IQ_ID, "2580", iq_otp(current.secret, current.pin, datetime.now(UTC)))
        accepted = await client.open_lock(site.id, LOCKS["Studio 2 entrance"],
                                          iq_otp(current.secret, "2580", datetime.now(UTC)), "live:open-1")
        [entry] = await client.list_entries(site.id, datetime.now(UTC) - timedelta(minutes=1))
    assert entry.reference == accepted.reference == "live:open-1" and entry.opened
    [seen] = (await admin.get("/_sandbox/openings")).json()
    assert seen["lockName"] == "Studio 2 entrance" and seen["outcome"] == "opened"
    assert "live:open-1" in (await admin.get("/_sandbox/")).text


async def test_concurrent_calls_share_one_token_over_real_http(live):
    base_url, admin = live
    await admin.post("/_sandbox/latency", json={"ms": 20})
    async with SaltoKsConnector() as connector:
        client = connector.client(make_account(base_url, base_url))
        await asyncio.gather(*(client.list_locks(SITE_ID) for _ in range(10)))
    stats = (await admin.get("/_sandbox/stats")).json()
    assert stats["tokenRequests"] == 1 and stats["calls"]["list_locks"] == 10
    await admin.post("/_sandbox/latency", json={"ms": 0})


async def test_read_timeout_over_real_http(live):
    base_url, admin = live
    await admin.post("/_sandbox/faults", json={"mode": "hang", "seconds": 1, "operation": "list_locks"})
    async with SaltoKsConnector(connect_timeout=1, read_timeout=0.3) as connector:
        client = connector.client(make_account(base_url, base_url))
        with pytest.raises(SaltoKsTransientError, match="Salto KS did not answer within 0.3 s"):
            await client.list_locks(SITE_ID)
        assert await client.list_locks(SITE_ID)


async def test_connection_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more.
    async with SaltoKsConnector(connect_timeout=1, read_timeout=1) as connector:
        client = connector.client(make_account(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}"))
        with pytest.raises(SaltoKsTransientError, match="Could not reach Salto KS at 127.0.0.1") as caught:
            await client.list_locks(SITE_ID)
    assert caught.value.operation == "token" and caught.value.unprocessed is True


def test_run_sandbox_serves_the_app_with_uvicorn(monkeypatch):
    from addon.salto_ks.sandbox import run_sandbox

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app, **kwargs))
    run_sandbox(port=8223, token_ttl_seconds=60)
    assert (served["host"], served["port"]) == ("127.0.0.1", 8223)
    assert served["app"].state.sandbox.token_ttl_seconds == 60 and SITE_ID in served["app"].state.sandbox.sites
