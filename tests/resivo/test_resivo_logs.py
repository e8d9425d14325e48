"""Logs of a run with API tokens, a client secret and Resivo access tokens: every lock-vendor call
gives exactly one line (with the request id of the request that caused it, its grant and attempt),
and no line — in JSON or in text — carries a bearer token or a secret."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from addon.base.public import JsonFormatter, TextFormatter, field_of, quiet_libraries
from addon.door_access.models import AccessCallLog
from addon.door_access.public import call_log
from addon.resivo.connection import get_connector
from tests.door_access.helpers import create_booking, future, set_status
from tests.resivo.host_helpers import DEMO_CREDENTIALS, configured_resivo

pytestmark = pytest.mark.anyio

VENDOR_LOGGER = "addon.door_access.vendor"


async def call_count(host) -> int:
    await call_log(host).flush()
    async with host.database.session() as session:
        return (await session.execute(select(func.count()).select_from(AccessCallLog))).scalar_one()


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10"}


async def test_each_vendor_call_is_one_line_with_its_request_and_nothing_secret(host, http, gql, tokens,
                                                                                 wired_sandbox, caplog):
    caplog.set_level(logging.DEBUG)  # everything any library says, down to DEBUG
    integration_id, objects = await configured_resivo(gql)
    created = await create_booking(gql, objects["Studio 1"], future(), future(11))
    quiet_libraries()  # as the CLI configures logging
    calls_before = await call_count(host)
    caplog.clear()
    response = await http.post("/graphql", headers={"Authorization": f"Bearer {tokens['admin']}",
                                                    "X-Request-ID": "confirm-anna-1"},
                               json={"query": "mutation Confirm($i: SetBookingStatusInput!) { setBookingStatus("
                                              "input: $i) { booking { access { state } } errors { code } } }",
                                     "variables": {"i": {"bookingId": created["id"], "status": "confirmed"}}})
    assert response.headers["x-request-id"] == "confirm-anna-1"
    assert response.json()["data"]["setBookingStatus"]["booking"]["access"][0]["state"] == "ACTIVE"
    await set_status(gql, created["id"], "cancelled")
    await call_log(host).flush()

    calls = await call_count(host) - calls_before
    vendor_lines = [r for r in caplog.records if r.name == VENDOR_LOGGER]
    assert calls > 0 and len(vendor_lines) == calls, "one line per call, as many as the integration log has"
    assert not [r for r in caplog.records if r.name.startswith(("httpx", "httpcore")) and r.levelno >= logging.INFO]
    resivo_info = [r for r in caplog.records if r.name == "addon.resivo.client" and r.levelno >= logging.INFO]
    assert resivo_info == [], "the client does not log the call a second time"

    confirm = [r for r in vendor_lines if field_of(r, "request_id") == "confirm-anna-1"]
    assert confirm, "the calls the confirmation made carry its request id"
    formatted = [JsonFormatter().format(r) for r in vendor_lines]
    create = next(line for line in formatted if '"vendor_operation": "create_remote_access"' in line)
    for key in ('"request_id": "confirm-anna-1"', '"grant_id":', '"attempt": 1', '"integration_id":',
                '"http_status":', '"duration_ms":', '"outcome": "ok"'):
        assert key in create, (key, create)

    requests = [r for r in caplog.records if r.name == "addon.base.request"]
    confirm_line = next(r for r in requests if field_of(r, "request_id") == "confirm-anna-1")
    assert (confirm_line.operation, confirm_line.role, confirm_line.outcome) == ("Confirm", "admin", "ok")
    assert confirm_line.duration_ms > 0

    # The secrets of this run: API tokens, the client secret, the access tokens Resivo issued.
    access_tokens = [entry.token for entry in get_connector(host)._token_cache.entries.values() if entry.token]
    assert access_tokens, "the run fetched a Resivo access token"
    secrets = [*tokens.values(), DEMO_CREDENTIALS["clientSecret"], *access_tokens]
    every_line = [f(r) for r in caplog.records for f in (JsonFormatter().format, TextFormatter().format)]
    leaked = [line for line in every_line for secret in secrets if secret in line]
    assert leaked == []
