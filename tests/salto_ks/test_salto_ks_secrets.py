"""The Salto KS password, the IQ's PIN and secret, the installation's client secret and the
bearer tokens: encrypted at rest (the first three), never in a GraphQL answer (but the current
pin, once, from GET PIN), a log line, the call log, the audit trail or anywhere else in the
database — on SQLite and on PostgreSQL. A key that opens no stored password is a clear start-up
error, and `ireserve secrets rotate` re-encrypts all of them."""

import json
import logging
import re

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlmodel import SQLModel

from addon.base.public import SecretBox, SecretKeyMismatch, load_host
from addon.base.runtime.secrets_cli import rotate_secrets
from addon.door_access.models import AccessCallLog
from addon.door_access.public import call_log
from addon.salto_ks.demo import check_secrets
from tests.conftest import GraphQLClient
from tests.salto_ks.conftest import CLIENT_SECRET, IQ_PIN, IQ_SECRET, LOCKS, PASSWORD
from tests.salto_ks.host_helpers import (
    DEMO_CREDENTIALS,
    TEST_CONNECTION,
    get_pin,
    new_integration,
    resolve_site,
    set_credentials,
    set_pin,
)
from tests.salto_ks.test_salto_ks_backend import connection
from tests.support.ids import row_id

pytestmark = [pytest.mark.anyio, pytest.mark.all_databases]

NEW_PIN = "2580"
WRONG = "Wr0ng-salto-guess-55e1"
COLUMNS = ("password_encrypted", "iq_pin_encrypted", "iq_secret_encrypted")


class RecordingClient(GraphQLClient):
    """Keeps the raw text of every answer, errors included."""

    def __init__(self, http, token):
        super().__init__(http, token)
        self.answers: list[str] = []

    async def raw(self, query, variables=None, token="default", headers=None):
        sent = {"Authorization": f"Bearer {self.token}"}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
        self.answers.append(response.text)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def rgql(http, tokens):
    return RecordingClient(http, tokens["admin"])


def absent(texts, hidden: set[str], where: str) -> None:
    for value in hidden:
        # A 4-digit PIN turns up by chance inside a random hash or id; a leaked one stands alone.
        pattern = re.compile(re.escape(value) if len(value) >= 8 else rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])")
        leaked = [t for t in texts if pattern.search(t)]
        assert not leaked, f"{value[:4]}… leaked into {where}: {leaked[0][:300]}"


async def database_dump(host) -> list[str]:
    rows = []
    async with host.database.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                rows.append(f"{table.name}: {tuple(row)!r}")
    return rows


async def ciphertexts(host, ident) -> dict[str, str]:
    async with host.database.session() as session:
        row = (await session.execute(text(f"SELECT {', '.join(COLUMNS)} FROM salto_ks_credentials "
                                          "WHERE integration_id = :id"), {"id": row_id(ident)})).one()
    return dict(zip(COLUMNS, row, strict=True))


async def test_secrets_never_leave_the_server(rgql, host, wired_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    gql = rgql
    ident = await new_integration(gql)
    assert (await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, "siteUid": "not a uid"}))["errors"]
    assert (await set_credentials(gql, ident, **DEMO_CREDENTIALS))["errors"] == []
    assert (await resolve_site(gql, ident))["errors"] == []
    assert (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]["ok"]
    fetched = await get_pin(gql, ident)
    assert fetched["currentPin"] == IQ_PIN
    pin_answer = gql.answers[-1]
    assert (await set_pin(gql, ident, NEW_PIN))["errors"] == []
    await gql("query($id: ID!) { doors(integrationId: $id) { id } }", {"id": ident})
    await (await connection(host, ident)).open_lock(LOCKS["Studio 1 entrance"], "booking-1:open-1")
    await gql("query($id: ID!) { integrationLog(integrationId: $id) { edges { node { operation error } } } }",
              {"id": ident})
    audit = await gql("{ auditTrail(first: 50) { edges { node { action changes { field old new } } } } }")
    assert {"salto_ks.iq.activate", "salto_ks.iq.get_pin"} <= {e["node"]["action"]
                                                                for e in audit["auditTrail"]["edges"]}

    # A wrong password: refused by Salto KS, and still never shown.
    assert (await set_credentials(gql, ident, password=WRONG))["errors"] == []
    failed = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert not failed["ok"] and "rejected" in failed["message"]
    assert (await resolve_site(gql, ident))["errors"][0]["code"] == "CREDENTIALS_REJECTED"

    # The schema has no readable secret field.
    fields = (await gql('{ __type(name: "SaltoKsSettings") { fields { name } } }'))["__type"]["fields"]
    names = {f["name"] for f in fields}
    assert "passwordSet" in names and not {n for n in names if n != "passwordSet" and (
        "password" in n.lower() or "secret" in n.lower() or n.lower().endswith("pin"))}

    await call_log(host).flush()
    tokens = set(wired_sandbox.state.tokens)
    hidden = {PASSWORD, WRONG, CLIENT_SECRET, IQ_SECRET, NEW_PIN, *tokens}
    assert len(tokens) >= 1 and len(gql.answers) > 10
    absent(gql.answers, hidden, "a GraphQL answer")
    absent([a for a in gql.answers if a != pin_answer], {IQ_PIN}, "a GraphQL answer but GET PIN's")
    absent([logging.Formatter().format(r) for r in caplog.records] + [repr(r.args) for r in caplog.records],
           hidden | {IQ_PIN}, "the log")
    async with host.database.session() as session:
        calls = (await session.execute(select(AccessCallLog))).scalars().all()
    assert {"token", "resolve_site", "get_pin", "set_pin", "open_lock"} <= {c.operation for c in calls}
    absent([repr(c) for c in calls], hidden | {IQ_PIN}, "door_call_log")
    absent(await database_dump(host), hidden, "the database")

    # At rest: Fernet tokens the configured key opens, and no other key.
    stored = await ciphertexts(host, ident)
    box = SecretBox.from_settings(host.settings)
    assert {column: box.decrypt(value) for column, value in stored.items()} == {
        "password_encrypted": WRONG, "iq_pin_encrypted": NEW_PIN, "iq_secret_encrypted": IQ_SECRET}
    for value in stored.values():
        with pytest.raises(SecretKeyMismatch):
            SecretBox(Fernet.generate_key()).decrypt(value)


async def test_each_save_encrypts_afresh_and_a_save_without_the_password_keeps_it(gql, host):
    first, second = await new_integration(gql), await new_integration(gql)
    for ident in (first, second):
        assert (await set_credentials(gql, ident, **DEMO_CREDENTIALS))["errors"] == []
    one, two = (await ciphertexts(host, first))["password_encrypted"], (await ciphertexts(host, second))["password_encrypted"]
    assert one != two and SecretBox.from_settings(host.settings).decrypt(one) == PASSWORD
    assert (await set_credentials(gql, first, username="other@duinpark.example"))["errors"] == []
    assert (await ciphertexts(host, first))["password_encrypted"] == one


async def test_the_password_from_a_schema_error_is_not_echoed(gql, host, caplog):
    caplog.set_level(logging.DEBUG)
    ident = await new_integration(gql)
    mutation = "mutation($i: SetSaltoKsCredentialsInput!) { setSaltoKsCredentials(input: $i) { errors { code } } }"
    for values in ({"integrationId": ident, **DEMO_CREDENTIALS, "password": WRONG, "environment": "MARS"},
                   {"integrationId": ident, **DEMO_CREDENTIALS, "password": WRONG, "siteID": "typo"},
                   {"password": WRONG}):
        body = await gql.raw(mutation, {"i": values})
        assert body["errors"] and WRONG not in json.dumps(body)
    assert WRONG not in caplog.text


async def test_a_key_that_opens_no_stored_password_stops_start_up_and_rotation_covers_every_secret(
        gql, host, wired_sandbox):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    await resolve_site(gql, ident)
    await get_pin(gql, ident)
    await check_secrets(host)  # the configured key opens it

    before = await ciphertexts(host, ident)
    old_key = (host.settings.var_dir / "secret.key").read_text().strip()
    new_key = Fernet.generate_key().decode()
    rotating = load_host(environ={**host.environ, "IRESERVE_SECRET_KEY": f"{new_key},{old_key}"})
    try:
        assert await rotate_secrets(rotating) >= 3
        after = await ciphertexts(rotating, ident)
        assert all(after[c] != before[c] for c in COLUMNS)
        assert SecretBox(new_key.encode()).decrypt(after["iq_pin_encrypted"]) == IQ_PIN
    finally:
        await rotating.database.dispose()

    stranger = load_host(environ={**host.environ, "IRESERVE_SECRET_KEY": Fernet.generate_key().decode()})
    try:
        with pytest.raises(SecretKeyMismatch, match=rf"Salto KS integration\(s\) {row_id(ident)} .*"
                                                    r"ireserve salto-ks set-password --integration ID"):
            await check_secrets(stranger)
    finally:
        await stranger.database.dispose()
