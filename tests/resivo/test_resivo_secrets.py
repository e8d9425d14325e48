"""The client secret and the bearer token never show in logs, errors, reprs or call records."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from addon.resivo.client import Recipient, RemoteAccessRequest, ResivoConnector
from addon.resivo.errors import ResivoError
from addon.resivo.sandbox import create_sandbox_app

pytestmark = pytest.mark.anyio

SECRET = "S3cret-never-log-me-8c1f0e"
WRONG_SECRET = "Wr0ng-but-still-private-77ab"


def remote_access(**overrides) -> RemoteAccessRequest:
    now = datetime.now(UTC)
    values = dict(
        display_name="Booking 5",
        component_ids=["duinpark-studio-main"],
        valid_from=now,
        valid_to=now + timedelta(hours=5),
        recipients=[Recipient(email="guest@example.com")],
        locale="nl",
        external_reference="secret-test:5",
    )
    values.update(overrides)
    return RemoteAccessRequest(**values)


def assert_hidden(texts: list[str], hidden: set[str]) -> None:
    assert hidden, "nothing to look for"
    for text in texts:
        for value in hidden:
            assert value not in text, f"secret or token leaked into: {text[:200]}"


async def test_no_secret_or_token_in_any_output(seed, records, make_credentials, caplog):
    caplog.set_level(logging.DEBUG)
    for credential in seed["credentials"]:
        if credential["clientId"] == "demo-client":
            credential["clientSecret"] = SECRET
    app = create_sandbox_app(seed)
    admin = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
    )
    errors: list[ResivoError] = []

    async def expect_failure(call):
        try:
            await call
        except ResivoError as error:
            errors.append(error)
        else:
            raise AssertionError("expected a Resivo error")

    credentials = make_credentials(client_secret=SECRET)
    async with ResivoConnector(
        transport=httpx.ASGITransport(app=app),
        connect_timeout=0.1,
        read_timeout=0.2,
        on_call=records.append,
    ) as connector:
        client = connector.client(credentials, context={"booking": 5})
        # A succeeding flow.
        await client.list_sites()
        doors = await client.list_components("demo-site")
        created = await client.create_remote_access(
            "demo-site", remote_access(component_ids=[doors[0].id])
        )
        await client.find_by_reference("demo-site", "secret-test:5")
        await client.get_authorization("demo-site", created.id)
        # Failing flows of every kind.
        await admin.post("/_sandbox/expire-tokens")  # 401, refresh, repeat
        await client.get_site("demo-site")
        for fault in (
            {"mode": "status", "status": 500, "operation": "get_site"},
            {"mode": "status", "status": 429, "operation": "get_site", "retryAfter": 2},
            {"mode": "hang", "seconds": 2, "operation": "get_site"},
            {"mode": "drop_answer", "operation": "create_remote_access"},
        ):
            await admin.post("/_sandbox/faults", json=fault)
            if fault["operation"] == "get_site":
                await expect_failure(client.get_site("demo-site"))
            else:
                await expect_failure(client.create_remote_access("demo-site", remote_access()))
        await expect_failure(
            client.create_remote_access("demo-site", remote_access(component_ids=["nope"]))
        )
        await expect_failure(client.get_site("alpen-site"))
        await client.revoke("demo-site", created.id)
        wrong = connector.client(make_credentials(client_secret=WRONG_SECRET))
        await expect_failure(wrong.list_sites())
        reprs = [repr(connector), repr(client), repr(wrong), repr(credentials), str(credentials)]
    await admin.aclose()

    tokens = set(app.state.sandbox.tokens)
    assert len(tokens) >= 2
    texts = [caplog.text, *(r.getMessage() for r in caplog.records), *reprs]
    texts += [t for e in errors for t in (str(e), repr(e), e.message, repr(e.__dict__))]
    texts += [repr(r) for r in records]
    assert len(errors) == 7
    assert_hidden(texts, {SECRET, WRONG_SECRET, *tokens})


async def test_secrets_echoed_by_the_server_are_scrubbed(make_credentials, records, caplog):
    """Even a server that puts the secret or the token into its error message cannot leak them."""
    caplog.set_level(logging.DEBUG)
    token = "tok-0123456789-abcdefghij"
    base = "https://api.resivo.test"
    errors = []
    with respx.mock(base_url=base) as mock:
        mock.post("/oauth2/token").mock(
            side_effect=[
                httpx.Response(401, json={"message": f"client_secret {SECRET} is wrong"}),
                httpx.Response(
                    200, json={"access_token": token, "token_type": "Bearer", "expires_in": 3600}
                ),
            ]
        )
        mock.get("/v8/sites/demo-site").mock(
            side_effect=lambda request: httpx.Response(
                422, json={"message": f"bad request with header {request.headers['authorization']}"}
            )
        )
        mock.get("/v8/sites/demo-site/components").mock(
            side_effect=httpx.ConnectError(f"connection to {token} failed")
        )
        async with ResivoConnector(on_call=records.append) as connector:
            client = connector.client(make_credentials(base, client_secret=SECRET))
            for call in (
                client.list_sites(),
                client.get_site("demo-site"),
                client.list_components("demo-site"),
            ):
                try:
                    await call
                except ResivoError as error:
                    errors.append(error)
    assert len(errors) == 3
    texts = [caplog.text, *(repr(r) for r in records)]
    texts += [t for e in errors for t in (str(e), repr(e), e.message)]
    assert_hidden(texts, {SECRET, token})
    assert "***" in str(errors[0]) and "***" in str(errors[1])
