"""Fixtures for the integration suite: a Resivo sandbox wired to the host over ASGI."""

from __future__ import annotations

import httpx
import pytest

from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CONNECTOR_KEY, CallLogger
from addon.resivo.sandbox import create_sandbox_app

SANDBOX_URL = "http://resivo.sandbox"


@pytest.fixture
def sandbox_app():
    return create_sandbox_app(token_ttl_seconds=3600)


@pytest.fixture
async def sandbox(sandbox_app):
    """An HTTP client on the sandbox, for inspecting it and scripting faults."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX_URL) as client:
        yield client


@pytest.fixture
async def connector(host, sandbox_app):
    connector = ResivoConnector(
        connect_timeout=host.settings.resivo_connect_timeout,
        read_timeout=host.settings.resivo_read_timeout,
        transport=httpx.ASGITransport(app=sandbox_app),
        on_call=CallLogger(host),
    )
    host.services[CONNECTOR_KEY] = connector
    yield connector
    await connector.aclose()
