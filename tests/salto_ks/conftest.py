"""Fixtures of the Salto KS tests: recorded wire samples, the sandbox (over ASGI, or wired to the
test host's backend) and the host's settings pointing at it."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from addon.salto_ks.client import CallRecord, SaltoKsAccount, SaltoKsConnector
from addon.salto_ks.sandbox import create_sandbox_app, load_seed

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salto_ks"
IDENTITY_URL = "https://identity.salto.test"
API_URL = "https://api.salto.test"
SANDBOX_URL = "http://salto-sandbox.test"

SEED = load_seed()
DUINPARK = SEED["sites"][0]
SITE_UID = DUINPARK["uid"]
SITE_ID = DUINPARK["id"]
IQ_ID = DUINPARK["iqs"][0]["id"]
IQ_SECRET = DUINPARK["iqs"][0]["secret"]
IQ_PIN = DUINPARK["iqs"][0]["pin"]
OFFLINE_IQ_ID = DUINPARK["iqs"][1]["id"]
LOCKS = {lock["name"]: lock["id"] for lock in DUINPARK["locks"]}
CLIENT_ID = SEED["clients"][0]["clientId"]
CLIENT_SECRET = SEED["clients"][0]["clientSecret"]
USERNAME = SEED["accounts"][0]["username"]
PASSWORD = SEED["accounts"][0]["password"]
OTHER_SITE_UID = SEED["sites"][1]["uid"]
OTHER_SITE_ID = SEED["sites"][1]["id"]

# The test host's Acceptance environment is the sandbox (reached over ASGI, see wired_sandbox).
SANDBOX_ENVIRONMENT = {
    "SALTO_KS_ACCEPTANCE_IDENTITY_URL": SANDBOX_URL,
    "SALTO_KS_ACCEPTANCE_API_URL": SANDBOX_URL,
    "SALTO_KS_ACCEPTANCE_CLIENT_ID": CLIENT_ID,
    "SALTO_KS_ACCEPTANCE_CLIENT_SECRET": CLIENT_SECRET,
}


def wire_sample(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def make_account(identity_url: str = IDENTITY_URL, api_url: str = API_URL, **overrides: str) -> SaltoKsAccount:
    values = {"environment": "Acceptance", "identity_url": identity_url, "api_url": api_url, "client_id": CLIENT_ID,
              "client_secret": CLIENT_SECRET, "username": USERNAME, "password": PASSWORD}
    values.update(overrides)
    return SaltoKsAccount(**values)


@pytest.fixture
def seed() -> dict[str, Any]:
    """A private copy of the sandbox seed, free to change."""
    return copy.deepcopy(SEED)


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
async def wire_connector(records) -> AsyncIterator[SaltoKsConnector]:
    async with SaltoKsConnector(on_call=records.append) as connector:
        yield connector


class Sandbox:
    """The sandbox app and an httpx client on its ``/_sandbox/`` endpoints."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_URL)

    @property
    def state(self):
        return self.app.state.sandbox

    async def fault(self, **spec: Any) -> None:
        response = await self.admin.post("/_sandbox/faults", json=spec)
        assert response.status_code == 201, response.text

    async def stats(self) -> dict[str, Any]:
        return (await self.admin.get("/_sandbox/stats")).json()

    async def openings(self, **params: str) -> list[dict[str, Any]]:
        return (await self.admin.get("/_sandbox/openings", params=params)).json()

    async def change_pin_elsewhere(self, iq_id: str = IQ_ID, pin: str | None = None) -> dict[str, Any]:
        response = await self.admin.post(f"/_sandbox/iqs/{iq_id}/pin", json={"pin": pin} if pin else {})
        assert response.status_code == 200, response.text
        return response.json()

    async def set_iq_online(self, online: bool, iq_id: str = IQ_ID) -> None:
        response = await self.admin.post(f"/_sandbox/iqs/{iq_id}", json={"online": online})
        assert response.status_code == 200, response.text

    def connector(self, **kwargs: Any) -> SaltoKsConnector:
        return SaltoKsConnector(transport=httpx.ASGITransport(app=self.app), **kwargs)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(create_sandbox_app())
    yield box
    await box.admin.aclose()


@pytest.fixture
async def sandbox_client(sandbox, records):
    """A client of the demo account against the ASGI sandbox."""
    async with sandbox.connector(on_call=records.append) as connector:
        yield connector.client(make_account(SANDBOX_URL, SANDBOX_URL))


# --------------------------------------------------------------------------- the host wired to the sandbox


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return dict(SANDBOX_ENVIRONMENT)


@pytest.fixture
async def wired_sandbox(host, clock) -> AsyncIterator[Sandbox]:
    """A sandbox that the test host's Salto KS backend talks to (over ASGI), its clock the host's
    (one-time passwords match unless a test moves one of them)."""
    from addon.salto_ks.connection import CallLogBridge
    from addon.salto_ks.settings import salto_ks_settings

    box = Sandbox(create_sandbox_app(wall_clock=clock.now))
    settings = salto_ks_settings(host)
    connector = host.provide(SaltoKsConnector(
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        transport=httpx.ASGITransport(app=box.app), on_call=CallLogBridge(host)))
    yield box
    await connector.aclose()
    await box.admin.aclose()
