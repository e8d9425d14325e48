"""The audit trail of the Authentication tab (setResivoCredentials): which fields changed, old →
new, the client secret only as "changed" — never the secret itself, anywhere in the trail — and
nothing when nothing changed or the change was refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.resivo.models import PRODUCTION_BASE_URL
from tests.base.test_audit_trail import TRAIL, actions, audit_events, changes, client
from tests.door_access.helpers import create_integration
from tests.resivo.host_helpers import SANDBOX_URL, set_credentials

pytestmark = pytest.mark.anyio

SECRET = "Kx7-audit-client-secret-93b2d0"
OTHER_SECRET = "Pq4-rotated-client-secret-1e8c77"
FIRST = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": SECRET, "siteId": "demo-site"}


@pytest.fixture
def env_overrides():
    return {"RESIVO_ALLOW_PRIVATE_BASE_URL": "true"}  # the sandbox's address


async def resivo_integration(gql) -> str:
    created = await create_integration(gql, backend="resivo", authorizationIdField=None)
    assert created["errors"] == [], created
    return created["integration"]["id"]


async def credential_events(gql) -> list[dict]:
    return await audit_events(gql, action="credentials.update")


async def raw_trail(host) -> str:
    """Everything the trail's table holds, as text."""
    async with host.database.session() as session:
        rows = (await session.execute(select(AuditEvent))).scalars().all()
    return json.dumps([row.model_dump(mode="json") for row in rows])


async def test_first_save_records_every_field_and_the_secret_only_as_changed(gql, host):
    ident = await resivo_integration(gql)
    assert (await set_credentials(gql, ident, **FIRST))["errors"] == []

    [event] = await credential_events(gql)
    assert event["actor"]["kind"] == "TOKEN" and event["actor"]["name"] == "test-admin"
    assert event["target"] == {"type": "integration", "id": ident}
    assert changes(event) == {"site_owner_id": [None, "demo-owner"], "client_id": [None, "demo-client"],
                              "site_id": [None, "demo-site"], "base_url": [None, PRODUCTION_BASE_URL],
                              "client_secret": ["changed", "changed"]}
    assert [c["field"] for c in event["changes"] if c["secret"]] == ["client_secret"]


async def test_later_saves_record_only_what_changed(gql, host):
    ident = await resivo_integration(gql)
    assert (await set_credentials(gql, ident, **FIRST))["errors"] == []

    assert (await set_credentials(gql, ident, siteId="other-site", targetMobileAppId=4711,
                                  baseUrl=SANDBOX_URL))["errors"] == []
    newest = (await credential_events(gql))[0]
    assert changes(newest) == {"site_id": ["demo-site", "other-site"], "target_mobile_app_id": [None, 4711],
                               "base_url": [PRODUCTION_BASE_URL, SANDBOX_URL]}, "no secret given: none changed"

    assert (await set_credentials(gql, ident, clientSecret=OTHER_SECRET))["errors"] == []
    newest = (await credential_events(gql))[0]
    assert newest["changes"] == [{"field": "client_secret", "old": "changed", "new": "changed", "secret": True}]

    # The same values again (the secret too, with blanks around it): nothing changed, nothing recorded.
    assert (await set_credentials(gql, ident, siteOwnerId="demo-owner", clientSecret=f" {OTHER_SECRET} ",
                                  siteId="other-site"))["errors"] == []
    assert len(await credential_events(gql)) == 3


async def test_refused_saves_record_nothing(gql, host):
    ident = await resivo_integration(gql)
    missing = await set_credentials(gql, ident, siteOwnerId="demo-owner")  # the first save needs all three
    assert sorted(e["field"] for e in missing["errors"]) == ["clientId", "clientSecret"]
    assert (await set_credentials(gql, ident, **FIRST))["errors"] == []
    blank = await set_credentials(gql, ident, clientId="  ", clientSecret=OTHER_SECRET, siteId="other-site")
    assert [e["code"] for e in blank["errors"]] == ["REQUIRED"]
    assert len(await credential_events(gql)) == 1
    assert OTHER_SECRET not in await raw_trail(host)


async def test_no_secret_anywhere_in_the_trail(gql, host, tokens):
    ident = await resivo_integration(gql)
    assert (await set_credentials(gql, ident, **FIRST))["errors"] == []
    assert (await set_credentials(gql, ident, clientSecret=OTHER_SECRET, clientId="new-client"))["errors"] == []

    stored = await raw_trail(host)
    assert "demo-client" in stored and "new-client" in stored, "the table is what was searched"
    for secret in (SECRET, OTHER_SECRET, *tokens.values()):
        assert secret not in stored
    answer = json.dumps(await gql(TRAIL, {"first": 500}))
    assert "new-client" in answer
    for secret in (SECRET, OTHER_SECRET, *tokens.values()):
        assert secret not in answer
    assert await actions(gql, targetType="integration", targetId=ident) == [
        "credentials.update", "credentials.update", "integration.create"]


async def test_the_trail_of_credentials_is_for_admins_only(gql, tokens):
    ident = await resivo_integration(gql)
    assert (await set_credentials(gql, ident, **FIRST))["errors"] == []
    body = await client(gql, tokens, "staff").raw(TRAIL, {"first": 5, "action": "credentials.update"})
    assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
