"""Issue 4: the client secret is write-only, encrypted at rest, and never in an answer, a log
line, the call log or anywhere else in the database; a wrong key at start-up is a clear error."""

import dataclasses
import json
import logging
import os
import stat

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, text
from sqlmodel import SQLModel

from addon.base.crypto import SecretBox, SecretKeyMismatch
from addon.base.host import load_host
from addon.base.settings import SettingsError
from addon.resivo.connection import CONNECTOR_KEY
from addon.resivo.models import ResivoCallLog, ResivoIntegration
from addon.resivo.sandbox import create_sandbox_app, load_seed
from tests.conftest import GraphQLClient
from tests.integration.config_support import (
    COMPONENTS,
    MAPPABLE,
    MINIMAL,
    activate,
    connection_test,
    create,
    door_mappings,
    future,
    mapping,
    preview,
    read,
    read_all,
    update,
)
from tests.integration.helpers import (
    SANDBOX_URL,
    create_booking,
    create_booking_field,
    create_objects,
    set_status,
)

pytestmark = pytest.mark.anyio

SECRET = "Zq9-resivo-client-secret-7f3a1c"
WRONG = "Wr0ng-private-guess-55e1"
DEMO = {**MINIMAL, "clientSecret": SECRET, "siteId": "demo-site", "baseUrl": SANDBOX_URL,
        "triggerStatuses": ["confirmed"], "revokeStatuses": ["cancelled"],
        "authorizationIdField": "resivo_authorization_id", "defaultLanguage": "nl"}


@pytest.fixture
def settings_overrides():
    # The key file under var/ (the embedded demo's way), whatever the environment says.
    return {"secret_key": None}


@pytest.fixture
def sandbox_app():
    seed = load_seed()
    for credential in seed["credentials"]:
        if credential["clientId"] == "demo-client":
            credential["clientSecret"] = SECRET
    return create_sandbox_app(seed, token_ttl_seconds=3600)


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


def hidden_values(sandbox_app) -> set[str]:
    """The secrets plus every bearer token the sandbox issued."""
    return {SECRET, WRONG, *sandbox_app.state.sandbox.tokens}


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
            text("SELECT client_secret_encrypted FROM resivo_integration WHERE id = :id"), {"id": int(integration_id)}
        )).scalar_one()


async def test_secret_never_leaves_the_server(rgql, host, connector, sandbox, sandbox_app, caplog):
    caplog.set_level(logging.DEBUG)
    gql = rgql
    await create_booking_field(gql)
    objects = await create_objects(gql)

    refused = await create(gql, **DEMO, timeBeforeMinutes=-1)
    assert refused["errors"] and refused["integration"] is None
    created = await create(gql, **DEMO, name="Duinpark doors")
    assert created["errors"] == []
    integration = created["integration"]
    ident = integration["id"]
    assert integration["clientSecretSet"] is True

    # Every way of reading the integration.
    assert (await read(gql, ident))["clientSecretSet"] is True
    assert [i["clientSecretSet"] for i in await read_all(gql)] == [True]
    assert (await update(gql, ident, name="Renamed"))["integration"]["clientSecretSet"] is True
    assert (await update(gql, ident, clientSecret=SECRET))["errors"] == []
    assert (await update(gql, ident, clientSecret=WRONG, defaultLanguage="xx"))["errors"]

    # Everything that talks to Resivo with it.
    report = await connection_test(gql, ident)
    assert report["ok"], report
    await gql(COMPONENTS, {"id": ident})
    await gql(MAPPABLE)
    assert (await mapping(gql, ident, objects["Studio building"], ["Studio building main door"]))["errors"] == []
    await door_mappings(gql, ident)
    assert (await activate(gql, ident))["errors"] == []
    booking = await create_booking(gql, objects["Studio 1"], future(), future(11))
    assert (await set_status(gql, booking["id"], "confirmed"))["access"][0]["state"] == "ACTIVE"
    assert (await preview(gql, booking["id"]))[0]["problems"] == []
    await gql("query($id: ID!) { integrationLog(integrationId: $id) { edges { node { operation path error } } } }",
              {"id": ident})

    # A wrong secret: refused by Resivo, and still never shown.
    assert (await update(gql, ident, clientSecret=WRONG))["errors"] == []
    failed = await connection_test(gql, ident)
    assert not failed["ok"] and "rejected" in failed["message"]
    body = await gql.raw(COMPONENTS, {"id": ident})
    assert body["errors"][0]["extensions"]["code"] == "RESIVO_REFUSED"
    stored = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert stored["warnings"], stored
    await door_mappings(gql, ident)
    await gql("query($id: ID!) { integrationLog(integrationId: $id) { edges { node { operation path error } } } }",
              {"id": ident})

    # The schema has no readable secret field at all.
    fields = (await gql('{ __type(name: "ResivoIntegration") { fields { name } } }'))["__type"]["fields"]
    assert [f["name"] for f in fields if "secret" in f["name"].lower()] == ["clientSecretSet"]

    await host.services[CONNECTOR_KEY].on_call.flush()
    hidden = hidden_values(sandbox_app)
    assert len(hidden) >= 3  # both secrets and at least one token were really in play
    assert len(gql.answers) > 20
    assert_absent(gql.answers, hidden, "a GraphQL answer")
    assert caplog.records  # the flow did log (httpx requests, the access flow)
    assert_absent([logging.Formatter().format(r) for r in caplog.records] + [repr(r.args) for r in caplog.records],
                  hidden, "the log")
    async with host.database.session() as session:
        calls = (await session.execute(select(ResivoCallLog))).scalars().all()
    assert len(calls) >= 5 and {c.integration_id for c in calls} == {int(ident)}
    assert "token" in {c.operation for c in calls}
    assert_absent([repr(c) for c in calls], hidden, "resivo_call_log")
    assert_absent(await database_dump(host), hidden, "the database")

    # At rest: a Fernet token that the configured key opens, and nothing else.
    ciphertext = await stored_ciphertext(host, ident)
    assert ciphertext != WRONG and WRONG not in ciphertext
    assert SecretBox.from_settings(host.settings).decrypt(ciphertext) == WRONG
    with pytest.raises(SecretKeyMismatch):
        SecretBox(Fernet.generate_key()).decrypt(ciphertext)


async def test_each_save_encrypts_afresh(gql, host):
    first = (await create(gql, **MINIMAL, name="One"))["integration"]
    second = (await create(gql, **MINIMAL, name="Two"))["integration"]
    one, two = await stored_ciphertext(host, first["id"]), await stored_ciphertext(host, second["id"])
    assert one != two  # Fernet is randomised: equal secrets do not give equal ciphertexts
    box = SecretBox.from_settings(host.settings)
    assert box.decrypt(one) == box.decrypt(two) == "demo-secret"


async def test_the_demo_key_file_is_generated_under_var_with_mode_0600(gql, host, tmp_path):
    key_file = tmp_path / "secret.key"
    assert host.settings.secret_key is None and host.settings.secret_key_file == key_file
    await create(gql, **MINIMAL)
    assert key_file.exists()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    Fernet(key_file.read_bytes().strip())  # a usable key


async def test_the_secret_from_a_schema_error_is_not_echoed(gql):
    # A schema error (here: a value of the wrong type next to the secret) must not echo the secret.
    body = await gql.raw("mutation($input: CreateResivoIntegrationInput!) { createResivoIntegration(input: $input)"
                         " { integration { id } } }", {"input": {**MINIMAL, "clientSecret": SECRET,
                                                                 "timeBeforeMinutes": "soon"}})
    assert body["errors"]
    assert SECRET not in json.dumps(body)
    assert await read_all(gql) == []


@pytest.mark.parametrize("query, variables", [
    ("mutation($input: CreateResivoIntegrationInput!) { createResivoIntegration(input: $input) { errors { code } } }",
     {"input": {**MINIMAL, "clientSecret": SECRET, "siteID": "typo"}}),
    ("mutation($input: UpdateResivoIntegrationInput!) { updateResivoIntegration(input: $input) { errors { code } } }",
     {"input": {"clientSecret": SECRET}}),
])
async def test_the_secret_from_an_unknown_or_missing_input_field_is_not_echoed(gql, caplog, query, variables):
    caplog.set_level(logging.DEBUG)
    body = await gql.raw(query, variables)
    assert body["errors"]
    assert SECRET not in json.dumps(body)
    assert SECRET not in caplog.text


# ----------------------------------------------------------------------------- start-up


async def other_host(host, **overrides):
    return load_host(dataclasses.replace(host.settings, **overrides))


async def test_start_up_with_the_same_key_passes(gql, host):
    await create(gql, **MINIMAL)
    again = await other_host(host)
    try:
        await again.preflight()
    finally:
        await again.database.dispose()


async def test_start_up_with_another_key_is_a_clear_error(gql, host):
    await create(gql, **MINIMAL)
    ciphertext_before = (await database_dump(host))
    wrong = await other_host(host, secret_key=Fernet.generate_key().decode())
    try:
        with pytest.raises(SecretKeyMismatch) as caught:
            await wrong.preflight()
    finally:
        await wrong.database.dispose()
    message = str(caught.value)
    assert "cannot be decrypted" in message and "IRESERVE_SECRET_KEY" in message and "key file" in message
    assert "demo-secret" not in message
    assert await database_dump(host) == ciphertext_before  # nothing was touched


async def test_start_up_after_the_key_file_was_lost_is_a_clear_error(gql, host, tmp_path):
    await create(gql, **MINIMAL)
    (tmp_path / "secret.key").unlink()
    again = await other_host(host)
    try:
        with pytest.raises(SecretKeyMismatch, match="cannot be decrypted"):
            await again.preflight()
    finally:
        await again.database.dispose()


async def test_start_up_with_an_environment_key_uses_it_instead_of_the_file(host, tmp_path):
    key = Fernet.generate_key().decode()
    first = await other_host(host, secret_key=key, secret_key_file=tmp_path / "never.key")
    try:
        async with first.database.session() as session:
            session.add(ResivoIntegration(name="Env", site_owner_id="o", client_id="c",
                                          client_secret_encrypted=SecretBox(key.encode()).encrypt("s")))
            await session.commit()
        await first.preflight()
    finally:
        await first.database.dispose()
    assert not (tmp_path / "never.key").exists()
    # The key file (the default without IRESERVE_SECRET_KEY) does not open what the env key closed.
    file_host = await other_host(host)
    try:
        with pytest.raises(SecretKeyMismatch):
            await file_host.preflight()
    finally:
        await file_host.database.dispose()


@pytest.mark.parametrize("key", ["not-a-fernet-key", "x" * 44, Fernet.generate_key().decode()[:-2]])
async def test_start_up_with_a_malformed_key_is_a_settings_error(host, key):
    bad = await other_host(host, secret_key=key)
    try:
        with pytest.raises(SettingsError) as caught:
            await bad.preflight()
    finally:
        await bad.database.dispose()
    assert "IRESERVE_SECRET_KEY" in str(caught.value) and "generate" in str(caught.value)
    assert key not in str(caught.value)


async def test_start_up_without_integrations_passes_with_any_key(host):
    fresh = await other_host(host, secret_key=Fernet.generate_key().decode())
    try:
        await fresh.preflight()
    finally:
        await fresh.database.dispose()


async def test_a_corrupt_key_file_is_a_settings_error_naming_the_file(gql, host, tmp_path):
    await create(gql, **MINIMAL)
    (tmp_path / "secret.key").write_text("not a key\n")
    again = await other_host(host)
    try:
        with pytest.raises(SettingsError) as caught:
            await again.preflight()
    finally:
        await again.database.dispose()
    assert str(tmp_path / "secret.key") in str(caught.value) and "not a valid key" in str(caught.value)


async def test_an_environment_key_with_a_trailing_newline_works(host):
    key = Fernet.generate_key().decode()
    box = SecretBox.from_settings(dataclasses.replace(host.settings, secret_key=key + "\n"))
    assert SecretBox(key.encode()).decrypt(box.encrypt("s")) == "s"


def test_processes_starting_together_share_one_generated_key(tmp_path):
    import threading

    from addon.base.crypto import _key_from_file

    for trial in range(30):
        path = tmp_path / f"var{trial}" / "secret.key"
        start, keys, errors = threading.Barrier(8), [], []

        def read_or_make():
            start.wait()
            try:
                keys.append(_key_from_file(path))
            except Exception as exc:  # noqa: BLE001  (collected for the assertion)
                errors.append(exc)

        threads = [threading.Thread(target=read_or_make) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and len(set(keys)) == 1, (errors, len(set(keys)))
        assert path.read_bytes().strip() == keys[0]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no temporary file left behind
