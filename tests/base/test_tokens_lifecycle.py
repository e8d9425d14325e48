"""API tokens with a lifecycle over GraphQL: made with an owner and an expiry (answered once),
listed without the token, revoked; expired, revoked and disabled owners' tokens are refused;
the last use is written at most once a minute; every event is in the audit trail, no token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from addon.base.identity.auth import hash_token
from addon.base.identity.models import ApiToken, User
from tests.base.identity_helpers import add_user, dumped, events
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

ERRORS = "errors { field code message }"
TOKEN_FIELDS = "id name role state ownerUser { email } ownerApp createdAt expiresAt lastUsedAt revokedAt"
CREATE = f"""mutation($input: CreateApiTokenInput!) {{
  createApiToken(input: $input) {{ token apiToken {{ {TOKEN_FIELDS} }} {ERRORS} }} }}"""
REVOKE = f"""mutation($input: RevokeApiTokenInput!) {{
  revokeApiToken(input: $input) {{ apiToken {{ {TOKEN_FIELDS} }} {ERRORS} }} }}"""
LIST = f"query($all: Boolean!) {{ apiTokens(includeRevoked: $all) {{ {TOKEN_FIELDS} }} }}"
VIEWER = "{ viewer { kind name role } }"


async def create(gql, **fields) -> dict:
    data = await gql(CREATE, {"input": {"name": "booking-site", "role": "FRONTEND", **fields}})
    return data["createApiToken"]


def unauthenticated(body: dict) -> bool:
    return body["data"] is None and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_token_is_answered_once_and_works(gql):
    made = await create(gql, ownerApp="Booking website")
    assert made["errors"] == []
    token, row = made["token"], made["apiToken"]
    assert token.startswith("irs_")
    assert row["name"] == "booking-site" and row["role"] == "FRONTEND" and row["state"] == "ACTIVE"
    assert row["ownerApp"] == "Booking website" and row["ownerUser"] is None and row["expiresAt"] is None
    assert (await gql(VIEWER, token=token))["viewer"] == {"kind": "TOKEN", "name": "booking-site", "role": "FRONTEND"}


async def test_a_list_never_shows_a_token(gql, host, tokens):
    made = await create(gql)
    listed = await gql(LIST, {"all": True})
    names = [t["name"] for t in listed["apiTokens"]]
    assert names == ["test-frontend", "test-staff", "test-admin", "booking-site"]
    text = str(listed)
    for token in [made["token"], *tokens.values()]:
        assert token not in text and token[4:] not in text and hash_token(token) not in text
    assert listed["apiTokens"][0]["ownerApp"] == "test-frontend", "without an owner: the app of its name"


async def test_an_expired_token_is_refused(gql, clock):
    made = await create(gql, expiresAt=(clock.now() + timedelta(hours=1)).isoformat())
    assert made["errors"] == [] and made["apiToken"]["expiresAt"]
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    clock.advance(minutes=59)
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    clock.advance(minutes=1)
    assert unauthenticated(await gql.raw(VIEWER, token=made["token"]))
    [listed] = [t for t in (await gql(LIST, {"all": True}))["apiTokens"] if t["name"] == "booking-site"]
    assert listed["state"] == "EXPIRED"


async def test_a_revoked_token_is_refused_at_once(gql, host):
    made = await create(gql)
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "booking-site"
    revoked = (await gql(REVOKE, {"input": {"id": made["apiToken"]["id"]}}))["revokeApiToken"]
    assert revoked["errors"] == [] and revoked["apiToken"]["state"] == "REVOKED" and revoked["apiToken"]["revokedAt"]
    assert unauthenticated(await gql.raw(VIEWER, token=made["token"]))
    again = (await gql(REVOKE, {"input": {"id": made["apiToken"]["id"]}}))["revokeApiToken"]
    assert again["errors"] == [] and again["apiToken"]["revokedAt"] == revoked["apiToken"]["revokedAt"]
    assert len(await events(host, "token.revoke")) == 1, "revoking twice records it once"
    active = [t["name"] for t in (await gql(LIST, {"all": False}))["apiTokens"]]
    assert "booking-site" not in active


async def test_revoking_an_unknown_token_says_so(gql):
    answer = (await gql(REVOKE, {"input": {"id": "999"}}))["revokeApiToken"]
    assert answer["apiToken"] is None and answer["errors"][0]["code"] == "NOT_FOUND"


async def test_a_persons_token_stops_working_while_they_are_disabled(gql, host):
    user = await add_user(host, "sam@example.com", "Sam Staff", "staff")
    made = await create(gql, name="sams-script", role="STAFF", ownerUserId=str(user.id))
    assert made["errors"] == [] and made["apiToken"]["ownerUser"] == {"email": "sam@example.com"}
    assert made["apiToken"]["ownerApp"] is None
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "sams-script"
    toggle = "mutation($input: SetUserActiveInput!) { setUserActive(input: $input) { errors { code } } }"
    await gql(toggle, {"input": {"userId": str(user.id), "active": False}})
    assert unauthenticated(await gql.raw(VIEWER, token=made["token"]))
    await gql(toggle, {"input": {"userId": str(user.id), "active": True}})
    assert (await gql(VIEWER, token=made["token"]))["viewer"]["name"] == "sams-script"


@pytest.mark.parametrize("fields, field, code", [
    ({"role": "ADMIN"}, "role", "ROLE_ABOVE_OWNER"),
    ({"ownerApp": "also-an-app"}, "ownerApp", "INVALID"),
])
async def test_what_a_persons_token_may_not_be(gql, host, fields, field, code):
    user = await add_user(host, "sam@example.com", "Sam Staff", "staff")
    made = await create(gql, **{"role": "STAFF", "ownerUserId": str(user.id), **fields})
    assert made["token"] is None and made["apiToken"] is None
    assert [(e["field"], e["code"]) for e in made["errors"]] == [(field, code)]


@pytest.mark.parametrize("fields, field", [
    ({"name": "  "}, "name"),
    ({"expiresAt": "2001-01-01T00:00:00+00:00"}, "expiresAt"),
    ({"expiresAt": "2099-01-01T00:00:00"}, "expiresAt"),  # no time zone
    ({"ownerUserId": "12345"}, "ownerUserId"),
])
async def test_bad_token_input_is_refused(gql, host, fields, field):
    made = await create(gql, **fields)
    assert made["token"] is None and [e["field"] for e in made["errors"]] == [field]
    async with host.database.session(read_only=True) as session:
        assert (await session.execute(select(ApiToken).where(ApiToken.name == "booking-site"))).first() is None


async def test_only_admins_manage_tokens(gql, tokens):
    for role in ("staff", "frontend"):
        body = await gql.raw(CREATE, {"input": {"name": "x", "role": "FRONTEND"}}, token=tokens[role])
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql.raw(LIST, {"all": True}, token=tokens[role])
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_last_use_is_written_at_most_once_a_minute(gql, host, clock):
    made = await create(gql)

    async def last_used():
        async with host.database.session(read_only=True) as session:
            return (await session.execute(select(ApiToken.last_used_at).where(
                ApiToken.name == "booking-site"))).scalar_one()

    assert await last_used() is None
    await gql(VIEWER, token=made["token"])
    first = clock.now()
    assert await last_used() == first
    clock.advance(seconds=59)
    await gql(VIEWER, token=made["token"])
    assert await last_used() == first
    clock.advance(seconds=1)
    await gql(VIEWER, token=made["token"])
    assert await last_used() == clock.now()
    [listed] = [t for t in (await gql(LIST, {"all": True}))["apiTokens"] if t["name"] == "booking-site"]
    assert listed["lastUsedAt"] is not None


async def test_token_events_are_in_the_audit_trail_without_the_token(gql, host):
    user = await add_user(host, "sam@example.com", "Sam Staff", "staff")
    made = await create(gql, name="sams-script", role="STAFF", ownerUserId=str(user.id),
                        expiresAt="2099-01-01T00:00:00+00:00")
    await gql(REVOKE, {"input": {"id": made["apiToken"]["id"]}})
    [created] = await events(host, "token.create")
    assert (created.actor_kind, created.actor_name) == ("token", "test-admin")
    assert (created.target_type, created.target_id) == ("token", str(row_id(made["apiToken"]["id"])))
    assert created.changes == {"name": [None, "sams-script"], "role": [None, "staff"],
                               "owner": [None, "user:sam@example.com"],
                               "expires_at": [None, "2099-01-01T00:00:00+00:00"]}
    [revoked] = await events(host, "token.revoke")
    assert revoked.target_id == str(row_id(made["apiToken"]["id"])) and list(revoked.changes) == ["revoked_at"]
    everything = dumped(await events(host))
    assert made["token"] not in everything and hash_token(made["token"]) not in everything


async def test_a_token_of_a_disabled_owner_row_is_refused_on_every_path(host, gql):
    """The check is in the token lookup itself (also what GraphiQL's page uses)."""
    from addon.base.identity.auth import authenticate

    user = await add_user(host, "sam@example.com", "Sam Staff", "staff")
    made = await create(gql, name="sams-script", role="STAFF", ownerUserId=str(user.id))
    async with host.database.session() as session:
        await session.execute(update(User).where(User.id == user.id).values(active=False))
        await session.commit()
    async with host.database.session(read_only=True) as session:
        assert await authenticate(session, f"Bearer {made['token']}") is None
