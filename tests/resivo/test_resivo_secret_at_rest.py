"""The Resivo client secret is write-only, encrypted at rest, and never in an answer, a log line,
the call log or anywhere else in the database; a wrong key at start-up is a clear error."""

import json
import logging
import os
import stat

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlmodel import SQLModel

from addon.base.public import (
    SecretBox,
    SecretKeyMismatch,
    SettingsError,
    load_host,
    secret_box,
)
from addon.door_access.models import AccessCallLog, DoorIntegration
from addon.door_access.public import call_log
from addon.resivo.client import ResivoConnector
from addon.resivo.connection import CallLogBridge
from addon.resivo.models import ResivoCredentials
from addon.resivo.sandbox import create_sandbox_app, load_seed
from addon.resivo.settings import resivo_settings
from tests.conftest import GraphQLClient
from tests.door_access.helpers import (
    create_booking,
    create_booking_field,
    create_integration,
    create_objects,
    future,
    set_active,
    set_mapping,
    set_status,
)
from tests.resivo.host_helpers import SANDBOX_URL, set_credentials
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

SECRET = "Zq9-resivo-client-secret-7f3a1c"
WRONG = "Wr0ng-private-guess-55e1"
MINIMAL = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": "demo-secret"}
CREDENTIALS = {**MINIMAL, "clientSecret": SECRET, "siteId": "demo-site", "baseUrl": SANDBOX_URL}
SET_CREDENTIALS = ("mutation($i: SetResivoCredentialsInput!) { setResivoCredentials(input: $i)"
                   " { integration { id } errors { code } } }")
TEST_CONNECTION = ("query($id: ID!) { testDoorConnection(integrationId: $id) {"
                   " ok message locations { id } doors { id } } }")
DOORS = "query($id: ID!) { doors(integrationId: $id) { id name } }"
DOOR_MAPPINGS = "query($id: ID!) { doorIntegration(id: $id) { doorMappings { doorNames warnings } } }"
LOG = "query($id: ID!) { integrationLog(integrationId: $id) { edges { node { operation path error } } } }"
PREVIEW = "query($id: ID!) { previewBookingAccess(bookingId: $id) { problems warnings message } }"


@pytest.fixture
async def secret_sandbox(host):
    """A sandbox whose demo credential has SECRET as its secret, wired to the host's Resivo backend."""
    seed = load_seed()
    for credential in seed["credentials"]:
        if credential["clientId"] == "demo-client":
            credential["clientSecret"] = SECRET
    app = create_sandbox_app(seed, token_ttl_seconds=3600)
    settings = resivo_settings(host)
    connector = host.provide(ResivoConnector(
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        transport=httpx.ASGITransport(app=app), on_call=CallLogBridge(host)))
    yield app
    await connector.aclose()


class RecordingClient(GraphQLClient):
    """Keeps the raw text of every answer, errors included."""

    def __init__(self, http, token):
        super().__init__(http, token)
        self.answers: list[str] = []

    async def raw(self, query, variables=None, token="default", headers=None):
        token = self.token if token == "default" else token
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
        self.answers.append(response.text)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def rgql(http, tokens):
    return RecordingClient(http, tokens["admin"])


def assert_absent(texts, hidden: set[str], where: str) -> None:
    for value in hidden:
        for text_ in texts:
            assert value not in text_, f"{value[:6]}… leaked into {where}: {text_[:300]}"


async def database_dump(host) -> list[str]:
    """Every row of every table, as text."""
    rows = []
    async with host.database.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                rows.append(f"{table.name}: {tuple(row)!r}")
    return rows


async def stored_ciphertext(host, integration_id) -> str:
    async with host.database.session() as session:
        return (await session.execute(
            text("SELECT client_secret_encrypted FROM resivo_credentials WHERE integration_id = :id"),
            {"id": row_id(integration_id)},
        )).scalar_one()


async def resivo_integration(gql, **credentials) -> str:
    created = await create_integration(gql, backend="resivo", authorizationIdField=None)
    ident = created["integration"]["id"]
    assert (await set_credentials(gql, ident, **(credentials or MINIMAL)))["errors"] == []
    return ident


async def test_secret_never_leaves_the_server(rgql, host, secret_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    gql = rgql
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, backend="resivo")
    ident = created["integration"]["id"]

    refused = await set_credentials(gql, ident, **CREDENTIALS, targetMobileAppId=0)
    assert refused["errors"] and refused["integration"] is None
    saved = await set_credentials(gql, ident, **CREDENTIALS)
    assert saved["errors"] == [] and saved["integration"]["resivo"]["clientSecretSet"] is True

    # Every way of reading and saving the integration.
    read = await gql("query($id: ID!) { doorIntegration(id: $id) { resivo { clientSecretSet } } }", {"id": ident})
    assert read["doorIntegration"]["resivo"]["clientSecretSet"] is True
    listed = await gql("query { doorIntegrations { resivo { clientSecretSet } } }")
    assert [i["resivo"]["clientSecretSet"] for i in listed["doorIntegrations"]] == [True]
    assert (await set_credentials(gql, ident, siteId="demo-site"))["integration"]["resivo"]["clientSecretSet"] is True
    assert (await set_credentials(gql, ident, clientSecret=SECRET))["errors"] == []
    assert (await set_credentials(gql, ident, clientSecret=WRONG, baseUrl="nope"))["errors"]

    # Everything that talks to Resivo with it.
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"], report
    await gql(DOORS, {"id": ident})
    assert (await set_mapping(gql, ident, objects["Studio building"], ["Studio building main door"]))["errors"] == []
    await gql(DOOR_MAPPINGS, {"id": ident})
    assert (await set_active(gql, ident))["errors"] == []
    made = await create_booking(gql, objects["Studio 1"], future(), future(11))
    assert (await set_status(gql, made["id"], "confirmed"))["access"][0]["state"] == "ACTIVE"
    assert (await gql(PREVIEW, {"id": made["id"]}))["previewBookingAccess"][0]["problems"] == []
    await gql(LOG, {"id": ident})

    # A wrong secret: refused by Resivo, and still never shown.
    assert (await set_credentials(gql, ident, clientSecret=WRONG))["errors"] == []
    failed = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert not failed["ok"] and "rejected" in failed["message"]
    body = await gql.raw(DOORS, {"id": ident})
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_REFUSED"
    stored = await set_mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert stored["warnings"], stored
    await gql(DOOR_MAPPINGS, {"id": ident})
    cancelled = await set_status(gql, made["id"], "cancelled")
    assert cancelled["access"][0]["lastError"], cancelled["access"]  # the revoke was refused too
    await gql(LOG, {"id": ident})

    # The schema has no readable secret field at all.
    for type_name in ("ResivoSettings", "DoorIntegration"):
        fields = (await gql(f'{{ __type(name: "{type_name}") {{ fields {{ name }} }} }}'))["__type"]["fields"]
        secret_fields = [f["name"] for f in fields if "secret" in f["name"].lower()]
        assert secret_fields == (["clientSecretSet"] if type_name == "ResivoSettings" else []), secret_fields

    await call_log(host).flush()
    hidden = {SECRET, WRONG, *secret_sandbox.state.sandbox.tokens}
    assert len(hidden) >= 3  # both secrets and at least one token were really in play
    assert len(gql.answers) > 20
    assert_absent(gql.answers, hidden, "a GraphQL answer")
    assert caplog.records  # the flow did log (httpx requests, the access flow)
    assert_absent([logging.Formatter().format(r) for r in caplog.records] + [repr(r.args) for r in caplog.records],
                  hidden, "the log")
    async with host.database.session() as session:
        calls = (await session.execute(select(AccessCallLog))).scalars().all()
    assert len(calls) >= 5 and {c.integration_id for c in calls} == {row_id(ident)}
    assert {"token", "create_remote_access"} <= {c.operation for c in calls}
    assert_absent([repr(c) for c in calls], hidden, "door_call_log")
    assert_absent(await database_dump(host), hidden, "the database")

    # At rest: a Fernet token that the configured key opens, and nothing else.
    ciphertext = await stored_ciphertext(host, ident)
    assert ciphertext != WRONG and WRONG not in ciphertext
    assert SecretBox.from_settings(host.settings).decrypt(ciphertext) == WRONG
    with pytest.raises(SecretKeyMismatch):
        SecretBox(Fernet.generate_key()).decrypt(ciphertext)


async def test_each_save_encrypts_afresh(gql, host):
    first, second = await resivo_integration(gql), await resivo_integration(gql)
    one, two = await stored_ciphertext(host, first), await stored_ciphertext(host, second)
    assert one != two  # Fernet is randomised: equal secrets do not give equal ciphertexts
    box = SecretBox.from_settings(host.settings)
    assert box.decrypt(one) == box.decrypt(two) == "demo-secret"
    assert (await set_credentials(gql, first, clientSecret="demo-secret"))["errors"] == []
    again = await stored_ciphertext(host, first)
    assert again != one and box.decrypt(again) == "demo-secret"


async def test_a_save_without_the_secret_leaves_the_ciphertext_alone(gql, host):
    ident = await resivo_integration(gql)
    before = await stored_ciphertext(host, ident)
    assert (await set_credentials(gql, ident, clientId="other-client", siteId="demo-site"))["errors"] == []
    assert await stored_ciphertext(host, ident) == before


async def test_the_demo_key_file_is_generated_under_var_with_mode_0600(gql, host, tmp_path):
    key_file = tmp_path / "secret.key"
    assert host.settings.secret_key is None and host.settings.secret_key_file == key_file
    assert not key_file.exists()  # made the first time a secret is stored, not before
    await resivo_integration(gql)
    assert key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a usable key


async def test_the_secret_from_a_schema_error_is_not_echoed(gql, host):
    # A schema error (here: a value of the wrong type next to the secret) must not echo the secret.
    created = await create_integration(gql, backend="resivo", authorizationIdField=None)
    ident = created["integration"]["id"]
    body = await gql.raw(SET_CREDENTIALS, {"i": {"integrationId": ident, **MINIMAL, "clientSecret": SECRET,
                                                 "targetMobileAppId": "soon"}})
    assert body["errors"]
    assert SECRET not in json.dumps(body)
    async with host.database.session() as session:
        assert (await session.execute(select(ResivoCredentials))).scalars().all() == []


@pytest.mark.parametrize("values", [
    {"integrationId": "1", **MINIMAL, "clientSecret": SECRET, "siteID": "typo"},  # an unknown field
    {"clientSecret": SECRET},  # the integration is missing
])
async def test_the_secret_from_an_unknown_or_missing_input_field_is_not_echoed(gql, caplog, values):
    caplog.set_level(logging.DEBUG)
    body = await gql.raw(SET_CREDENTIALS, {"i": values})
    assert body["errors"]
    assert SECRET not in json.dumps(body)
    assert SECRET not in caplog.text


# ----------------------------------------------------------------------------- start-up


def other_host(host, **environ: str | None):
    """Another process on the same database and var directory; ``None`` unsets a variable."""
    changed = {**host.environ, **environ}
    return load_host(environ={k: v for k, v in changed.items() if v is not None})


async def test_start_up_with_the_same_key_passes(gql, host):
    await resivo_integration(gql)
    again = other_host(host)
    try:
        await again.preflight()
    finally:
        await again.database.dispose()


async def test_start_up_with_another_key_is_a_clear_error(gql, host):
    await resivo_integration(gql)
    before = await database_dump(host)
    wrong = other_host(host, IRESERVE_SECRET_KEY=Fernet.generate_key().decode())
    try:
        with pytest.raises(SecretKeyMismatch) as caught:
            await wrong.preflight()
    finally:
        await wrong.database.dispose()
    message = str(caught.value)
    assert "cannot be decrypted" in message and "IRESERVE_SECRET_KEY" in message and "key file" in message
    assert "demo-secret" not in message
    assert await database_dump(host) == before  # nothing was touched


async def test_start_up_after_the_key_file_was_lost_is_a_clear_error(gql, host, tmp_path):
    await resivo_integration(gql)
    (tmp_path / "secret.key").unlink()
    again = other_host(host)
    try:
        with pytest.raises(SecretKeyMismatch, match="cannot be decrypted"):
            await again.preflight()
    finally:
        await again.database.dispose()


async def test_start_up_with_an_environment_key_uses_it_instead_of_the_file(host, tmp_path):
    key = Fernet.generate_key().decode()
    first = other_host(host, IRESERVE_SECRET_KEY=key, IRESERVE_SECRET_KEY_FILE=str(tmp_path / "never.key"))
    try:
        async with first.database.session() as session:
            integration = DoorIntegration(name="Env", backend="resivo", trigger_statuses=[], revoke_statuses=[])
            session.add(integration)
            await session.flush()
            session.add(ResivoCredentials(integration_id=integration.id, site_owner_id="o", client_id="c",
                                          client_secret_encrypted=SecretBox(key.encode()).encrypt("s")))
            await session.commit()
        await first.preflight()
    finally:
        await first.database.dispose()
    assert not (tmp_path / "never.key").exists()
    # The key file (the default without IRESERVE_SECRET_KEY) does not open what the env key closed.
    file_host = other_host(host)
    try:
        with pytest.raises(SecretKeyMismatch):
            await file_host.preflight()
    finally:
        await file_host.database.dispose()


@pytest.mark.parametrize("key", ["not-a-fernet-key", "x" * 44, Fernet.generate_key().decode()[:-2]],
                         ids=["not-base64", "wrong-length", "truncated"])
async def test_start_up_with_a_malformed_key_is_a_settings_error(host, key):
    bad = other_host(host, IRESERVE_SECRET_KEY=key)
    try:
        with pytest.raises(SettingsError) as caught:
            await bad.preflight()
    finally:
        await bad.database.dispose()
    assert "IRESERVE_SECRET_KEY" in str(caught.value) and "generate" in str(caught.value)
    assert key not in str(caught.value)


async def test_start_up_without_integrations_passes_with_any_key(host):
    fresh = other_host(host, IRESERVE_SECRET_KEY=Fernet.generate_key().decode())
    try:
        await fresh.preflight()
    finally:
        await fresh.database.dispose()


async def test_a_corrupt_key_file_is_a_settings_error_naming_the_file(gql, host, tmp_path):
    await resivo_integration(gql)
    (tmp_path / "secret.key").write_text("not a key\n")
    again = other_host(host)
    try:
        with pytest.raises(SettingsError) as caught:
            await again.preflight()
    finally:
        await again.database.dispose()
    assert str(tmp_path / "secret.key") in str(caught.value) and "not a valid key" in str(caught.value)


async def test_an_environment_key_with_a_trailing_newline_works(host):
    key = Fernet.generate_key().decode()
    padded = other_host(host, IRESERVE_SECRET_KEY=key + "\n")
    try:
        assert SecretBox(key.encode()).decrypt(secret_box(padded).encrypt("s")) == "s"
    finally:
        await padded.database.dispose()


async def test_readiness_says_when_the_key_does_not_open_the_stored_secrets(gql, host):
    import httpx

    from addon.base.public import create_app

    await resivo_integration(gql)
    wrong = other_host(host, IRESERVE_SECRET_KEY=Fernet.generate_key().decode())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(wrong)),
                                     base_url="http://testserver") as client:
            answer = await client.get("/readyz")
    finally:
        await wrong.database.dispose()
    assert answer.status_code == 503
    assert answer.json()["checks"]["secrets"] == "a stored secret cannot be decrypted with the configured key"
    assert "demo-secret" not in answer.text
