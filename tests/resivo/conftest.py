"""Fixtures for the Resivo client and sandbox tests."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from addon.resivo.client import CallRecord, ResivoConnector, ResivoCredentials
from addon.resivo.sandbox import create_sandbox_app, load_seed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "resivo"
WIRE_BASE_URL = "https://api.resivo.test"
SANDBOX_BASE_URL = "http://sandbox.test"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _wire_sample(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _demo_credentials(base_url: str = SANDBOX_BASE_URL, **overrides: str) -> ResivoCredentials:
    values = {
        "base_url": base_url,
        "site_owner_id": "demo-owner",
        "client_id": "demo-client",
        "client_secret": "demo-secret",
    }
    values.update(overrides)
    return ResivoCredentials(**values)


@pytest.fixture
def wire_sample():
    """``wire_sample(name)``: a recorded Resivo body from fixtures/resivo/<name>.json."""
    return _wire_sample


@pytest.fixture
def make_credentials():
    """``make_credentials(base_url=..., **overrides)``: the demo credential, adjustable."""
    return _demo_credentials


@pytest.fixture
def seed() -> dict[str, Any]:
    """A private copy of the sandbox seed, free to modify."""
    return copy.deepcopy(load_seed())


@pytest.fixture
def records() -> list[CallRecord]:
    return []


# --------------------------------------------------------------------------- respx (wire)


@pytest.fixture
def wire_credentials() -> ResivoCredentials:
    return _demo_credentials(WIRE_BASE_URL)


@pytest.fixture
async def wire_connector(records: list[CallRecord]) -> AsyncIterator[ResivoConnector]:
    async with ResivoConnector(on_call=records.append) as connector:
        yield connector


# --------------------------------------------------------------------------- sandbox (ASGI)


class Sandbox:
    """The sandbox app plus an httpx client on its ``/_sandbox/`` endpoints."""

    def __init__(self, app: Any):
        self.app = app
        self.admin = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=SANDBOX_BASE_URL
        )

    @property
    def state(self):
        return self.app.state.sandbox

    async def fault(self, **spec: Any) -> None:
        response = await self.admin.post("/_sandbox/faults", json=spec)
        assert response.status_code == 201, response.text

    async def stats(self) -> dict[str, Any]:
        return (await self.admin.get("/_sandbox/stats")).json()

    async def authorizations(self, **params: str) -> list[dict[str, Any]]:
        return (await self.admin.get("/_sandbox/authorizations", params=params)).json()

    def connector(self, **kwargs: Any) -> ResivoConnector:
        return ResivoConnector(transport=httpx.ASGITransport(app=self.app), **kwargs)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(create_sandbox_app())
    yield box
    await box.admin.aclose()


@pytest.fixture
async def connector(sandbox: Sandbox, records: list[CallRecord]) -> AsyncIterator[ResivoConnector]:
    async with sandbox.connector(on_call=records.append) as conn:
        yield conn


@pytest.fixture
def demo_client(connector: ResivoConnector):
    """A client of the demo credential (Customer scope) against the ASGI sandbox."""
    return connector.client(_demo_credentials(), context={"test": "sandbox"})


# --------------------------------------------------------------------------- real uvicorn


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def live_sandbox() -> Iterator[tuple[str, Any]]:
    """The sandbox served by uvicorn on a free 127.0.0.1 port, in a thread of its own."""
    app = create_sandbox_app()
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start the sandbox")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


# --------------------------------------------------------------------------- a host wired to the sandbox


class WiredSandbox(Sandbox):
    """A sandbox that the test host's Resivo backend talks to (over ASGI), for end-to-end tests
    from the GraphQL API to the sandbox; ``admin`` inspects it and scripts its faults."""

    async def sets(self, **params: str) -> list[dict[str, Any]]:
        response = await self.admin.get("/_sandbox/authorizations", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        return body["authorizations"] if isinstance(body, dict) else body


@pytest.fixture
async def wired_sandbox(host) -> AsyncIterator[WiredSandbox]:
    from addon.resivo.connection import CallLogBridge
    from addon.resivo.settings import resivo_settings

    box = WiredSandbox(create_sandbox_app(token_ttl_seconds=3600))
    settings = resivo_settings(host)
    connector = host.provide(ResivoConnector(
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        transport=httpx.ASGITransport(app=box.app), on_call=CallLogBridge(host),
    ))
    yield box
    await connector.aclose()
    await box.admin.aclose()
