"""Users over GraphQL (admins only): create, list, disable and enable, set a password. E-mail
addresses are unique whatever their case; passwords meet a rule, are stored as argon2id hashes
and never answered, logged or recorded."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from addon.base.identity.models import User
from addon.base.identity.passwords import password_problems
from tests.base.identity_helpers import PASSWORD, add_user, dumped, events
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

ERRORS = "errors { field code message }"
USER_FIELDS = "id email name role active createdAt updatedAt lastSigninAt"
CREATE = f"""mutation($input: CreateUserInput!) {{
  createUser(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"""
SET_ACTIVE = f"""mutation($input: SetUserActiveInput!) {{
  setUserActive(input: $input) {{ user {{ {USER_FIELDS} }} {ERRORS} }} }}"""
SET_PASSWORD = f"""mutation($input: SetUserPasswordInput!) {{
  setUserPassword(input: $input) {{ user {{ email }} {ERRORS} }} }}"""
USERS = f"{{ users {{ {USER_FIELDS} }} }}"


async def create(gql, **fields) -> dict:
    data = await gql(CREATE, {"input": {"email": "Anna@Example.com", "name": "Anna Admin", "role": "ADMIN",
                                        "password": PASSWORD, **fields}})
    return data["createUser"]


async def test_an_admin_creates_a_user(gql, host, caplog):
    caplog.set_level(logging.DEBUG)
    made = await create(gql)
    assert made["errors"] == []
    user = made["user"]
    assert (user["email"], user["name"], user["role"], user["active"]) == ("anna@example.com", "Anna Admin", "ADMIN",
                                                                           True)
    assert user["lastSigninAt"] is None
    async with host.database.session(read_only=True) as session:
        row = (await session.execute(select(User))).scalar_one()
    assert row.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in row.password_hash
    assert PASSWORD not in caplog.text, "never logged"
    [event] = await events(host, "user.create")
    assert event.changes == {"email": [None, "anna@example.com"], "name": [None, "Anna Admin"],
                             "role": [None, "admin"], "active": [None, True]}
    assert (event.actor_kind, event.actor_name, event.target_id) == ("token", "test-admin", str(row_id(user["id"])))


async def test_the_user_type_has_no_password():
    from addon.base.identity.api import UserType

    assert not [name for name in UserType.__annotations__ if "password" in name or "hash" in name]


async def test_an_address_is_taken_whatever_its_case(gql, host):
    await create(gql)
    again = await create(gql, email="  ANNA@example.COM ", name="Another Anna")
    assert again["user"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("email", "TAKEN")]
    assert len((await gql(USERS))["users"]) == 1


@pytest.mark.parametrize("fields, expected", [
    ({"email": "not-an-address"}, [("email", "INVALID")]),
    ({"email": ""}, [("email", "REQUIRED")]),
    ({"name": " "}, [("name", "REQUIRED")]),
    ({"role": "FRONTEND"}, [("role", "INVALID")]),  # a token role, not a person's
    ({"password": "short-one"}, [("password", "PASSWORD_TOO_SHORT")]),
    ({"password": "x" * 257 + "yz12"}, [("password", "PASSWORD_TOO_LONG")]),
    ({"password": "password1234"}, [("password", "PASSWORD_TOO_WEAK")]),
    ({"password": "aaaaaaaaaaaaaaaa"}, [("password", "PASSWORD_TOO_WEAK")]),
    ({"password": "anna@example.com"}, [("password", "PASSWORD_TOO_WEAK")]),
    ({"email": "bad", "role": "FRONTEND", "password": "1"},
     [("email", "INVALID"), ("role", "INVALID"), ("password", "PASSWORD_TOO_SHORT")]),
])
async def test_bad_input_is_refused_with_every_problem(gql, host, fields, expected):
    made = await create(gql, **fields)
    assert made["user"] is None
    assert [(e["field"], e["code"]) for e in made["errors"]] == expected
    assert (await gql(USERS))["users"] == [] and await events(host, "user.create") == []
    password = fields.get("password")
    if password and len(password) > 3:
        assert password not in str(made), "the password is not quoted back"


def test_the_password_rule():
    assert password_problems("a-long-phrase-of-words") == []
    assert password_problems("Anna.Admin-2024", name="Anna Admin") == []
    assert password_problems("anna admin", name="Anna Admin")[0].code == "PASSWORD_TOO_SHORT"
    assert password_problems("anna.smith12", email="anna.smith@example.com")[0].code == "PASSWORD_TOO_WEAK"
    assert password_problems("Correct Horse Battery Staple")[0].code == "PASSWORD_TOO_WEAK"


async def test_disable_and_enable(gql, host):
    user = (await create(gql))["user"]
    off = (await gql(SET_ACTIVE, {"input": {"userId": user["id"], "active": False}}))["setUserActive"]
    assert off["errors"] == [] and off["user"]["active"] is False
    on = (await gql(SET_ACTIVE, {"input": {"userId": user["id"], "active": True}}))["setUserActive"]
    assert on["user"]["active"] is True
    assert [e.action for e in await events(host) if e.action.startswith("user.")] == [
        "user.create", "user.disable", "user.enable"]
    [disabled] = await events(host, "user.disable")
    assert disabled.changes == {"active": [True, False]} and disabled.target_id == str(row_id(user["id"]))
    again = (await gql(SET_ACTIVE, {"input": {"userId": user["id"], "active": True}}))["setUserActive"]
    assert again["errors"] == [] and len(await events(host, "user.enable")) == 1, "no change, no event"


async def test_an_admin_cannot_disable_themselves(host, app):
    from tests.base.identity_helpers import browser, graphql, signed_in

    user = await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        body = (await graphql(client, SET_ACTIVE, {"input": {"userId": str(user.id), "active": False}})).json()
    answer = body["data"]["setUserActive"]
    assert answer["user"] is None and answer["errors"][0]["code"] == "INVALID"


async def test_setting_a_password_is_recorded_without_it(gql, host):
    user = (await create(gql))["user"]
    answer = (await gql(SET_PASSWORD, {"input": {"userId": user["id"], "password": "another-good-passphrase"}}))
    assert answer["setUserPassword"]["errors"] == []
    weak = await gql(SET_PASSWORD, {"input": {"userId": user["id"], "password": "short"}})
    assert weak["setUserPassword"]["errors"][0]["code"] == "PASSWORD_TOO_SHORT"
    missing = await gql(SET_PASSWORD, {"input": {"userId": "999", "password": "another-good-passphrase"}})
    assert missing["setUserPassword"]["errors"][0]["code"] == "NOT_FOUND"
    [event] = await events(host, "user.password")
    assert event.changes == {"password": ["changed", "changed"]}
    everything = dumped(await events(host))
    assert PASSWORD not in everything and "another-good-passphrase" not in everything


async def test_only_admins_manage_users(gql, tokens):
    for role in ("staff", "frontend"):
        body = await gql.raw(USERS, token=tokens[role])
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        body = await gql.raw(CREATE, {"input": {"email": "x@example.com", "name": "X", "role": "STAFF",
                                                "password": PASSWORD}}, token=tokens[role])
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_users_are_listed_by_address(gql, host):
    await add_user(host, "zoe@example.com", "Zoe", "staff")
    await add_user(host, "bert@example.com", "Bert", "admin")
    assert [u["email"] for u in (await gql(USERS))["users"]] == ["bert@example.com", "zoe@example.com"]
