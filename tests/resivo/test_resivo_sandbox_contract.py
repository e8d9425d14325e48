"""Client and sandbox together over httpx.ASGITransport: the contract both sides implement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from addon.resivo.client import Recipient, RemoteAccessRequest
from addon.resivo.errors import (
    ResivoAuthenticationError,
    ResivoPermanentError,
    ResivoTransientError,
)
from addon.resivo.sandbox import create_sandbox_app

pytestmark = pytest.mark.anyio


def remote_access(**overrides) -> RemoteAccessRequest:
    now = datetime.now(UTC).replace(microsecond=0)
    values = dict(
        display_name="Booking 42 Jansen",
        component_ids=["duinpark-studio-main", "duinpark-sauna"],
        valid_from=now - timedelta(minutes=30),
        valid_to=now + timedelta(days=2),
        recipients=[Recipient(email="anna@example.com", phone_number="+31612345678")],
        locale="nl",
        message="Welkom!",
        legic_app_id=4711,
        external_reference="ireserve:booking:42",
    )
    values.update(overrides)
    return RemoteAccessRequest(**values)


async def test_full_flow(demo_client, sandbox, records):
    sites = await demo_client.list_sites()
    assert {s.id for s in sites} == {"demo-site", "strandhuis-site"}
    site = await demo_client.get_site("demo-site")
    assert (site.display_name, site.default_locale, site.time_zone) == (
        "Duinpark",
        "nl",
        "Europe/Amsterdam",
    )
    doors = {c.display_name: c for c in await demo_client.list_components("demo-site")}
    assert {
        "Studio building main door",
        "Studio building side door",
        "Meeting room door",
        "Sauna door",
    } <= set(doors)
    assert doors["Sauna door"].online is False

    request = remote_access()
    created = await demo_client.create_remote_access("demo-site", request)
    assert created.status == "active" and created.link
    assert created.valid_from == request.valid_from and created.valid_to == request.valid_to
    assert created.component_ids == ("duinpark-studio-main", "duinpark-sauna")

    assert [
        a.id for a in await demo_client.find_by_reference("demo-site", "ireserve:booking:42")
    ] == [created.id]
    assert await demo_client.find_by_reference("demo-site", "someone-else") == []
    assert (await demo_client.get_authorization("demo-site", created.id)).is_active

    [seen] = await sandbox.authorizations()
    assert seen["link"] == created.link
    assert seen["recipients"] == [{"email": "anna@example.com", "phoneNumber": "+31612345678"}]
    assert (seen["locale"], seen["message"], seen["status"]) == ("nl", "Welkom!", "active")
    assert seen["mobileApp"] == {"legicAppId": 4711}
    assert seen["externalReference"] == "ireserve:booking:42"
    assert seen["restrictions"]["validTo"].endswith("Z")
    # Resivo ignores offline doors in a remote access.
    assert seen["openableComponentIds"] == ["duinpark-studio-main"]

    await demo_client.revoke("demo-site", created.id)
    await demo_client.revoke("demo-site", created.id)  # 409 "already revoked" counts as done
    assert (await demo_client.get_authorization("demo-site", created.id)).status == "revoked"
    assert (await sandbox.authorizations())[0]["status"] == "revoked"
    assert records[-2].http_status == 409 and records[-2].outcome == "ok"

    stats = await sandbox.stats()
    assert stats["tokenRequests"] == 1
    assert stats["calls"]["revoke"] == 2
    assert stats["authorizations"] == {"total": 1, "active": 0, "revoked": 1, "expired": 0}


async def test_answers_have_the_shape_of_the_wire_samples(
    demo_client, connector, sandbox, make_credentials, wire_sample
):
    """The sandbox and fixtures/resivo must not drift apart."""
    token = await connector.access_token(make_credentials())
    created = await demo_client.create_remote_access("demo-site", remote_access())
    headers = {"Authorization": f"Bearer {token}"}

    async def get(path, **params):
        response = await sandbox.admin.get(f"/v8{path}", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    answers = {
        "sites": await get("/site-owners/demo-owner/sites"),
        "site": await get("/sites/demo-site"),
        "components": await get("/sites/demo-site/components", scope="all"),
        "remote_access_created": await get(f"/sites/demo-site/authorizations/{created.id}"),
        "authorizations_by_reference": await get(
            "/sites/demo-site/authorizations", externalReference="ireserve:booking:42"
        ),
        "authorization_read": await get(f"/sites/demo-site/authorizations/{created.id}"),
        "token": (await raw_token(sandbox, DEMO_FORM)).json(),
    }

    def keys(body):
        return set(body[0] if isinstance(body, list) else body)

    for name, answer in answers.items():
        assert keys(answer) == keys(wire_sample(name)), name


DEMO_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo-client",
    "client_secret": "demo-secret",
}


async def raw_token(sandbox, form):
    return await sandbox.admin.post("/oauth2/token", data=form)


async def test_token_endpoint_rules(sandbox):
    ok = await raw_token(sandbox, DEMO_FORM)
    assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
    assert ok.json()["expires_in"] == 3600
    wrong = await raw_token(sandbox, {**DEMO_FORM, "client_secret": "nope"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "client id or secret rejected"
    unknown = await raw_token(sandbox, {**DEMO_FORM, "client_id": "nobody"})
    assert unknown.status_code == 401
    grant = await raw_token(sandbox, {**DEMO_FORM, "grant_type": "password"})
    assert grant.status_code == 400 and "grant_type" in grant.json()["message"]
    as_json = await sandbox.admin.post("/oauth2/token", json=DEMO_FORM)
    assert as_json.status_code == 400 and "form-encoded" in as_json.json()["message"]


async def test_bearer_checks(sandbox):
    for headers, message in [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer made-up"}, "invalid access token"),
        ({"Authorization": "Basic abc"}, "missing bearer token"),
    ]:
        response = await sandbox.admin.get("/v8/sites/demo-site", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"message": message}


async def test_unknown_route_and_version_answer_json(sandbox):
    response = await sandbox.admin.get("/v8/nothing-here")
    assert response.status_code == 404 and "message" in response.json()
    response = await sandbox.admin.get("/v99/sites/demo-site")
    assert response.status_code == 404 and "version" in response.json()["message"]


async def test_wrong_secret_is_an_authentication_error(connector, make_credentials):
    client = connector.client(make_credentials(client_secret="wrong"))
    with pytest.raises(ResivoAuthenticationError, match="client id or secret rejected"):
        await client.list_sites()


async def test_customer_scope_stays_within_its_owner(demo_client, connector, make_credentials):
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.get_site("alpen-site")
    assert caught.value.status == 403
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.list_components("no-such-site")
    assert caught.value.status == 404
    other_owner = connector.client(make_credentials(site_owner_id="alpen-owner"))
    with pytest.raises(ResivoPermanentError) as caught:
        await other_owner.list_sites()
    assert caught.value.status == 403
    alpen = connector.client(
        make_credentials(
            site_owner_id="alpen-owner", client_id="alpen-client", client_secret="alpen-secret"
        )
    )
    assert [s.id for s in await alpen.list_sites()] == ["alpen-site"]
    assert (await alpen.get_site("alpen-site")).default_locale == "de"


async def test_site_scope_sees_only_its_site(connector, make_credentials):
    client = connector.client(
        make_credentials(client_id="demo-site-client", client_secret="demo-site-secret")
    )
    assert [s.id for s in await client.list_sites()] == ["demo-site"]
    assert len(await client.list_components("demo-site")) >= 4
    with pytest.raises(ResivoPermanentError) as caught:
        await client.list_components("strandhuis-site")
    assert caught.value.status == 403


@pytest.mark.parametrize(
    ("overrides", "status", "needle"),
    [
        (
            {"component_ids": ["duinpark-studio-main", "duinpark-boathouse"]},
            422,
            "duinpark-boathouse",
        ),
        ({"component_ids": ["strandhuis-main"]}, 422, "strandhuis-main"),
        ({"component_ids": []}, 422, "at least one component"),
        ({"recipients": []}, 422, "recipient"),
        (
            {
                "valid_to": datetime.now(UTC) - timedelta(minutes=1),
                "valid_from": datetime.now(UTC) - timedelta(hours=1),
            },
            422,
            "future",
        ),
        ({"valid_from": datetime.now(UTC) + timedelta(days=3)}, 422, "before validTo"),
        ({"display_name": " "}, 422, "displayName"),
    ],
)
async def test_create_validation(demo_client, sandbox, overrides, status, needle):
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.create_remote_access("demo-site", remote_access(**overrides))
    assert caught.value.status == status
    assert needle in caught.value.message
    assert await sandbox.authorizations() == []


@pytest.mark.parametrize(
    "valid_from",
    ["2030-06-12T14:00:00+02:00", "2030-06-12T12:00:00", "12 June 2030", 1781265600],
)
async def test_sandbox_wants_utc_with_z(sandbox, connector, make_credentials, valid_from):
    token = await connector.access_token(make_credentials())
    response = await sandbox.admin.post(
        "/v8/sites/demo-site/authorizations/remote-access",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "displayName": "raw",
            "componentIds": ["duinpark-studio-main"],
            "restrictions": {"validFrom": valid_from, "validTo": "2030-06-14T09:00:00Z"},
            "recipients": [{"email": "a@example.com"}],
            "locale": "nl",
        },
    )
    assert response.status_code == 400
    assert "Z suffix" in response.json()["message"]


async def test_locale_defaults_to_the_site_language(sandbox, connector, make_credentials):
    token = await connector.access_token(make_credentials())
    response = await sandbox.admin.post(
        "/v8/sites/demo-site/authorizations/remote-access",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "displayName": "no locale",
            "componentIds": ["duinpark-studio-main"],
            "restrictions": {
                "validFrom": "2030-06-12T12:00:00Z",
                "validTo": "2030-06-14T09:00:00Z",
            },
            "recipients": [{"phoneNumber": "+31612345678"}],
        },
    )
    assert response.status_code == 201
    assert (await sandbox.authorizations())[0]["locale"] == "nl"


async def test_expired_set_reads_expired_and_revoke_is_done(demo_client, sandbox):
    created = await demo_client.create_remote_access(
        "demo-site", remote_access(valid_to=datetime.now(UTC) + timedelta(hours=1))
    )
    response = await sandbox.admin.post("/_sandbox/clock", json={"advanceSeconds": 7200})
    assert response.status_code == 200
    assert (await demo_client.get_authorization("demo-site", created.id)).status == "expired"
    await demo_client.revoke("demo-site", created.id)
    assert (await sandbox.authorizations())[0]["status"] == "expired"


async def test_unknown_authorization(demo_client):
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.get_authorization("demo-site", "no-such-id")
    assert caught.value.status == 404
    await demo_client.revoke("demo-site", "no-such-id")  # 404 on revoke counts as done


async def test_authorizations_are_per_site(demo_client):
    created = await demo_client.create_remote_access("demo-site", remote_access())
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.get_authorization("strandhuis-site", created.id)
    assert caught.value.status == 404
    assert await demo_client.find_by_reference("strandhuis-site", "ireserve:booking:42") == []


async def test_reset_goes_back_to_the_seed(demo_client, sandbox):
    await demo_client.create_remote_access("demo-site", remote_access())
    await sandbox.admin.post(
        "/_sandbox/sites/demo-site/components", json={"displayName": "Boathouse"}
    )
    assert (await sandbox.admin.post("/_sandbox/reset")).status_code == 200
    assert await sandbox.authorizations() == []
    assert (await sandbox.stats())["calls"] == {}
    # Tokens are gone too: the client sees one 401, refreshes and carries on.
    names = [c.display_name for c in await demo_client.list_components("demo-site")]
    assert "Boathouse" not in names


# --------------------------------------------------------------------------- components


async def test_reassigned_component_keeps_its_name(demo_client, sandbox):
    response = await sandbox.admin.post(
        "/_sandbox/sites/demo-site/components/duinpark-sauna/reassign-id"
    )
    assert response.status_code == 200
    moved = response.json()
    assert moved["previousId"] == "duinpark-sauna" and moved["id"] != "duinpark-sauna"
    doors = {c.display_name: c.id for c in await demo_client.list_components("demo-site")}
    assert doors["Sauna door"] == moved["id"]
    with pytest.raises(ResivoPermanentError, match="duinpark-sauna"):
        await demo_client.create_remote_access(
            "demo-site", remote_access(component_ids=["duinpark-sauna"])
        )


async def test_add_rename_and_remove_components(demo_client, sandbox):
    added = await sandbox.admin.post(
        "/_sandbox/sites/demo-site/components",
        json={"displayName": "Meeting room door", "online": True},
    )
    assert added.status_code == 201
    names = [c.display_name for c in await demo_client.list_components("demo-site")]
    assert names.count("Meeting room door") == 2  # a duplicate name for mapping to detect

    renamed = await sandbox.admin.patch(
        f"/_sandbox/sites/demo-site/components/{added.json()['id']}",
        json={"displayName": "Boardroom door"},
    )
    assert renamed.json()["displayName"] == "Boardroom door"
    upserted = await sandbox.admin.post(
        "/_sandbox/sites/demo-site/components", json={"id": "duinpark-sauna", "online": True}
    )
    assert upserted.status_code == 200 and upserted.json()["online"] is True
    assert (
        await sandbox.admin.delete(f"/_sandbox/sites/demo-site/components/{added.json()['id']}")
    ).status_code == 204
    components = {c.id: c for c in await demo_client.list_components("demo-site")}
    assert added.json()["id"] not in components
    assert components["duinpark-sauna"].online is True

    missing = await sandbox.admin.patch(
        "/_sandbox/sites/demo-site/components/nope", json={"online": False}
    )
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert (
        await sandbox.admin.post("/_sandbox/sites/nowhere/components", json={"displayName": "x"})
    ).status_code == 404


async def test_inspect_sites(sandbox):
    sites = {s["id"]: s for s in (await sandbox.admin.get("/_sandbox/sites")).json()}
    assert sites["demo-site"]["siteOwnerId"] == "demo-owner"
    assert any(
        c["displayName"] == "Sauna door" and not c["online"]
        for c in sites["demo-site"]["components"]
    )


async def test_inspection_filters(demo_client, sandbox):
    await demo_client.create_remote_access("demo-site", remote_access(external_reference="a"))
    await demo_client.create_remote_access("demo-site", remote_access(external_reference="b"))
    assert [
        a["externalReference"] for a in await sandbox.authorizations(externalReference="b")
    ] == ["b"]
    assert len(await sandbox.authorizations(siteId="demo-site")) == 2
    assert await sandbox.authorizations(siteId="strandhuis-site") == []


# --------------------------------------------------------------------------- tokens


async def test_expire_tokens_then_one_refresh(demo_client, sandbox, records):
    await demo_client.list_sites()
    assert (await sandbox.admin.post("/_sandbox/expire-tokens")).json() == {"expired": 1}
    await demo_client.get_site("demo-site")
    await demo_client.list_components("demo-site")
    assert (await sandbox.stats())["tokenRequests"] == 2
    assert [(r.operation, r.http_status) for r in records] == [
        ("token", 200),
        ("list_sites", 200),
        ("get_site", 401),
        ("token", 200),
        ("get_site", 200),
        ("list_components", 200),
    ]


async def test_concurrent_cold_cache_shares_one_token_request(demo_client, sandbox):
    await sandbox.admin.post("/_sandbox/latency", json={"ms": 20})
    results = await asyncio.gather(*(demo_client.list_components("demo-site") for _ in range(10)))
    assert all(len(r) >= 4 for r in results)
    stats = await sandbox.stats()
    assert stats["tokenRequests"] == 1
    assert stats["calls"]["list_components"] == 10


async def test_concurrent_calls_after_expiry_share_one_refresh(demo_client, sandbox):
    await demo_client.list_sites()
    await sandbox.admin.post("/_sandbox/expire-tokens")
    await sandbox.admin.post("/_sandbox/latency", json={"ms": 10})
    await asyncio.gather(*(demo_client.get_site("demo-site") for _ in range(8)))
    assert (await sandbox.stats())["tokenRequests"] == 2


async def test_failed_token_request_is_shared_not_repeated(demo_client, sandbox):
    await sandbox.admin.post("/_sandbox/latency", json={"ms": 20})
    await sandbox.fault(mode="status", status=503, count=1, operation="token")
    outcomes = await asyncio.gather(
        *(demo_client.get_site("demo-site") for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(o, ResivoTransientError) and o.operation == "token" for o in outcomes)
    assert (await sandbox.stats())["tokenRequests"] == 1
    assert (await demo_client.get_site("demo-site")).id == "demo-site"
    assert (await sandbox.stats())["tokenRequests"] == 2


async def test_short_token_lifetime_refreshes_before_expiry(records, make_credentials):
    import httpx

    from addon.resivo.client import ResivoConnector

    app = create_sandbox_app(token_ttl_seconds=1)
    async with ResivoConnector(
        transport=httpx.ASGITransport(app=app), on_call=records.append
    ) as connector:
        client = connector.client(make_credentials())
        await client.list_sites()
        await asyncio.sleep(1.0)
        await client.list_sites()
    # Refreshed ahead of expiry: no call ever met a 401.
    assert [r.operation for r in records] == ["token", "list_sites", "token", "list_sites"]
    assert all(r.http_status == 200 for r in records)
