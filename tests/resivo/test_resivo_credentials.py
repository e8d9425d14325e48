"""The Authentication tab of a Resivo integration (setResivoCredentials): what it accepts, refuses,
defaults and clears, that a refusal changes nothing, and that activation needs it."""

import pytest
from sqlalchemy import select

from addon.door_access.public import register_backend
from addon.resivo.models import PRODUCTION_BASE_URL, ResivoCredentials
from tests.door_access.helpers import (
    ERRORS,
    INTEGRATION_FIELDS,
    create_booking_field,
    create_integration,
    create_objects,
    set_active,
    set_mapping,
)
from tests.door_access.memory_backend import MemoryBackend, MemoryVendor
from tests.resivo.host_helpers import AUTH_FIELDS, SANDBOX_URL, set_credentials

pytestmark = pytest.mark.anyio

FULL = {
    "siteOwnerId": "demo-owner",
    "clientId": "demo-client",
    "clientSecret": "demo-secret",
    "siteId": "demo-site",
    "targetMobileAppId": 4711,
    "baseUrl": SANDBOX_URL,
}
MINIMAL = {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecret": "demo-secret"}
REQUIRED_FIELDS = ["siteOwnerId", "clientId", "clientSecret"]
READ = f"query($id: ID!) {{ doorIntegration(id: $id) {{ {INTEGRATION_FIELDS} {AUTH_FIELDS} }} }}"
TEST_CONNECTION = "query($id: ID!) { testDoorConnection(integrationId: $id) { ok message } }"


def public(values: dict) -> dict:
    """What the API shows back of an input: everything but the write-only secret."""
    return {k: v for k, v in values.items() if k != "clientSecret"}


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


async def new_integration(gql) -> str:
    """A Resivo integration whose Authentication tab is still empty."""
    created = await create_integration(gql, backend="resivo", authorizationIdField=None)
    assert created["errors"] == [], created
    return created["integration"]["id"]


async def settings_of(gql, integration_id) -> dict | None:
    return (await gql(READ, {"id": integration_id}))["doorIntegration"]["resivo"]


async def stored_rows(host) -> list[ResivoCredentials]:
    async with host.database.session() as session:
        return list((await session.execute(select(ResivoCredentials))).scalars().all())


async def saved(gql, **values) -> tuple[str, dict]:
    """An integration with ``values`` saved on its Authentication tab; its id and settings."""
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **values)
    assert answer["errors"] == [], answer
    return ident, answer["integration"]["resivo"]


async def connection_ok(gql, integration_id) -> bool:
    report = (await gql(TEST_CONNECTION, {"id": integration_id}))["testDoorConnection"]
    return report["ok"]


# ----------------------------------------------------------------------------- first save


async def test_first_save_with_every_field_stores_and_answers_them(gql):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **FULL)
    assert answer["errors"] == []
    integration = answer["integration"]
    assert integration["backend"] == "resivo" and integration["active"] is False
    settings = integration["resivo"]
    assert {k: settings[k] for k in public(FULL)} == public(FULL)
    assert settings["clientSecretSet"] is True
    assert await settings_of(gql, ident) == settings
    listed = (await gql(f"query {{ doorIntegrations {{ id {AUTH_FIELDS} }} }}"))["doorIntegrations"]
    assert listed == [{"id": ident, "resivo": settings}]


async def test_first_save_with_only_the_required_fields_takes_the_defaults(gql):
    _, settings = await saved(gql, **MINIMAL)
    assert settings == {"siteOwnerId": "demo-owner", "clientId": "demo-client", "clientSecretSet": True,
                        "siteId": None, "targetMobileAppId": None, "baseUrl": PRODUCTION_BASE_URL}
    assert PRODUCTION_BASE_URL == "https://api.resivo.io"


async def test_before_the_first_save_there_are_no_settings(gql, host):
    ident = await new_integration(gql)
    assert await settings_of(gql, ident) is None
    assert await stored_rows(host) == []


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("blank", ["", "   "])
async def test_a_blank_required_field_is_refused_and_nothing_is_stored(gql, host, field, blank):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **{**FULL, field: blank})
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [(field, "REQUIRED")], answer["errors"]
    assert await settings_of(gql, ident) is None
    assert await stored_rows(host) == []


async def test_the_first_save_lists_every_missing_required_field_at_once(gql, host):
    ident = await new_integration(gql)
    nothing = await set_credentials(gql, ident, siteId="demo-site")
    assert fields_of(nothing["errors"]) == [("clientId", "REQUIRED"), ("clientSecret", "REQUIRED"),
                                            ("siteOwnerId", "REQUIRED")]
    assert all(e["message"].endswith("is required.") for e in nothing["errors"]), nothing["errors"]
    blanks = await set_credentials(gql, ident, siteOwnerId="", clientId=" ", clientSecret="")
    assert fields_of(blanks["errors"]) == fields_of(nothing["errors"])  # each one once
    assert await stored_rows(host) == []


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("how", ["omitted", "null"])
async def test_a_missing_required_field_is_a_user_error_not_a_schema_error(gql, host, field, how):
    # Nullable in the schema on purpose: a schema error would echo the whole input, secret included.
    ident = await new_integration(gql)
    values = {k: v for k, v in MINIMAL.items() if k != field}
    if how == "null":
        values[field] = None
    answer = await set_credentials(gql, ident, **values)
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [(field, "REQUIRED")], answer["errors"]
    assert "demo-secret" not in str(answer)
    assert await stored_rows(host) == []


async def test_texts_are_trimmed_and_length_checked(gql, host):
    _, settings = await saved(gql, siteOwnerId=" demo-owner ", clientId="\tdemo-client ", clientSecret="demo-secret",
                              siteId=" demo-site ")
    assert (settings["siteOwnerId"], settings["clientId"], settings["siteId"]) == ("demo-owner", "demo-client",
                                                                                 "demo-site")
    ident = await new_integration(gql)
    too_long = await set_credentials(gql, ident, **{**MINIMAL, "siteOwnerId": "o" * 101, "clientId": "c" * 201,
                                                    "siteId": "s" * 101})
    assert fields_of(too_long["errors"]) == [("clientId", "TOO_LONG"), ("siteId", "TOO_LONG"),
                                             ("siteOwnerId", "TOO_LONG")]
    at_the_limit = await set_credentials(gql, ident, **{**MINIMAL, "siteOwnerId": "o" * 100, "clientId": "c" * 200})
    assert at_the_limit["errors"] == []
    assert len(await stored_rows(host)) == 2


async def test_a_blank_site_id_is_no_site(gql):
    _, settings = await saved(gql, **MINIMAL, siteId="  ")
    assert settings["siteId"] is None


# ----------------------------------------------------------------------- targetMobileAppId


@pytest.mark.parametrize("value", [0, -1, -4711])
async def test_target_mobile_app_id_must_be_positive(gql, host, value):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **MINIMAL, targetMobileAppId=value)
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [("targetMobileAppId", "INVALID")]
    assert await stored_rows(host) == []


async def test_target_mobile_app_id_positive_is_kept_and_beyond_int_is_a_schema_error(gql, host):
    ident, settings = await saved(gql, **MINIMAL, targetMobileAppId=1)
    assert settings["targetMobileAppId"] == 1
    body = await gql.raw("mutation($i: SetResivoCredentialsInput!) { setResivoCredentials(input: $i)"
                         " { integration { id } } }", {"i": {"integrationId": ident, "targetMobileAppId": 2**31}})
    assert body["errors"]
    assert (await settings_of(gql, ident))["targetMobileAppId"] == 1


# ---------------------------------------------------------------------------------- baseUrl


@pytest.mark.parametrize("given, stored", [
    (None, PRODUCTION_BASE_URL),
    ("", PRODUCTION_BASE_URL),
    ("https://api.resivo.io", PRODUCTION_BASE_URL),
    ("http://resivo.sandbox/", "http://resivo.sandbox"),
    ("https://test.resivo.example:8443/gateway/", "https://test.resivo.example:8443/gateway"),
    (" http://127.0.0.1:8100 ", "http://127.0.0.1:8100"),
])
async def test_base_url_defaults_to_production_and_is_normalised(gql, given, stored):
    _, settings = await saved(gql, **MINIMAL, baseUrl=given)
    assert settings["baseUrl"] == stored


@pytest.mark.parametrize("given", [
    "api.resivo.io",  # no scheme
    "ftp://api.resivo.io",
    "https://",
    "https://api.resivo.io/?x=1",
    "https://api.resivo.io/#top",
    "https://user:hunter2@api.resivo.io",  # credentials do not belong in a URL that is logged
    "https://api.resivo .io",
    "https://api.resivo.io:port",
    "https://api.resivo.io/v8",  # the client adds the API version itself
    "https://api.resivo.io/gateway/v12/",
])
async def test_base_url_must_be_an_http_base_url(gql, host, given):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **MINIMAL, baseUrl=given)
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [("baseUrl", "INVALID")], answer["errors"]
    assert "hunter2" not in answer["errors"][0]["message"]
    assert await stored_rows(host) == []


# ----------------------------------------------------------------------------------- update


@pytest.mark.parametrize("change", [
    {"siteOwnerId": "other-owner"},
    {"clientId": "other-client"},
    {"siteId": "strandhuis-site"},
    {"targetMobileAppId": 9},
    {"baseUrl": "https://test.resivo.example"},
])
async def test_a_later_save_changes_only_the_given_field(gql, change):
    ident, before = await saved(gql, **FULL)
    answer = await set_credentials(gql, ident, **change)
    assert answer["errors"] == []
    assert answer["integration"]["resivo"] == {**before, **change}
    assert await settings_of(gql, ident) == {**before, **change}


async def test_a_save_without_the_secret_keeps_the_secret(gql, wired_sandbox):
    ident, _ = await saved(gql, **FULL)
    assert (await set_credentials(gql, ident, siteId="demo-site", clientId="demo-client"))["errors"] == []
    assert await connection_ok(gql, ident)
    changed = await set_credentials(gql, ident, clientSecret="another-secret")
    assert changed["errors"] == [] and changed["integration"]["resivo"]["clientSecretSet"] is True
    assert not await connection_ok(gql, ident)  # the new secret is used (and rejected by the sandbox)


@pytest.mark.parametrize("field", ["siteId", "targetMobileAppId"])
async def test_null_clears_an_optional_field(gql, field):
    ident, before = await saved(gql, **FULL)
    answer = await set_credentials(gql, ident, **{field: None})
    assert answer["errors"] == []
    assert answer["integration"]["resivo"] == {**before, field: None}


@pytest.mark.parametrize("value", [None, "", "  "])
async def test_null_or_blank_resets_the_base_url_to_production(gql, value):
    ident, before = await saved(gql, **FULL)
    assert before["baseUrl"] == SANDBOX_URL
    answer = await set_credentials(gql, ident, baseUrl=value)
    assert answer["errors"] == []
    assert answer["integration"]["resivo"] == {**before, "baseUrl": PRODUCTION_BASE_URL}


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("value", [None, ""])
async def test_required_fields_cannot_be_cleared(gql, field, value):
    ident, before = await saved(gql, **FULL)
    answer = await set_credentials(gql, ident, **{field: value})
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [(field, "REQUIRED")], answer["errors"]
    assert await settings_of(gql, ident) == before


@pytest.mark.parametrize("change", [
    {"clientId": "other", "targetMobileAppId": 0},
    {"siteId": None, "siteOwnerId": ""},
    {"clientSecret": "new-secret", "baseUrl": "nope"},
    {"clientSecret": "new-secret", "siteId": "s" * 101},
    {"baseUrl": None, "clientId": None},
])
async def test_a_refused_save_changes_nothing(gql, wired_sandbox, change):
    ident, before = await saved(gql, **FULL)
    refused = await set_credentials(gql, ident, **change)
    assert refused["integration"] is None and refused["errors"]
    assert await settings_of(gql, ident) == before
    # ... not even the secret: the stored one still opens the sandbox.
    assert await connection_ok(gql, ident)


@pytest.mark.parametrize("ident, code", [("999999", "NOT_FOUND"), ("abc", "INVALID"),
                                         ("99999999999999999999", "NOT_FOUND")])
async def test_credentials_of_an_unknown_integration(gql, host, ident, code):
    answer = await set_credentials(gql, ident, **MINIMAL)
    assert answer["integration"] is None
    assert fields_of(answer["errors"]) == [("integrationId", code)]
    assert await stored_rows(host) == []


async def test_an_integration_of_another_backend_is_refused(gql, host):
    register_backend(host, MemoryBackend(MemoryVendor()))
    created = await create_integration(gql, backend="memory", authorizationIdField=None)
    ident = created["integration"]["id"]
    answer = await set_credentials(gql, ident, **FULL)
    assert answer["integration"] is None
    [error] = answer["errors"]
    assert (error["field"], error["code"]) == ("integrationId", "INVALID")
    assert "'memory'" in error["message"] and "demo-secret" not in error["message"]
    assert await settings_of(gql, ident) is None
    assert await stored_rows(host) == []


async def test_each_integration_keeps_its_own_credentials(gql):
    first, one = await saved(gql, **FULL)
    second, two = await saved(gql, **MINIMAL, siteId="strandhuis-site")
    assert (await set_credentials(gql, second, clientId="other-client"))["errors"] == []
    assert await settings_of(gql, first) == one
    assert await settings_of(gql, second) == {**two, "clientId": "other-client"}


# ------------------------------------------------------------------------------- activation


async def test_activation_needs_the_credentials(gql, wired_sandbox):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, backend="resivo")
    assert created["errors"] == [], created
    ident = created["integration"]["id"]
    # Without credentials the door list cannot be fetched: the mapping is stored unchecked.
    mapped = await set_mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert mapped["errors"] == [] and "Authentication tab" in mapped["warnings"][0], mapped
    refused = await set_active(gql, ident)
    assert refused["integration"] is None
    assert fields_of(refused["errors"]) == [("clientId", "REQUIRED"), ("clientSecret", "REQUIRED"),
                                            ("siteOwnerId", "REQUIRED")]
    assert all("before activation" in e["message"] for e in refused["errors"]), refused["errors"]
    assert (await gql(READ, {"id": ident}))["doorIntegration"]["active"] is False

    assert (await set_credentials(gql, ident, **{**FULL, "baseUrl": SANDBOX_URL}))["errors"] == []
    activated = await set_active(gql, ident)
    assert activated["errors"] == [] and activated["integration"]["active"] is True


async def test_activation_reports_the_credentials_with_the_rest_of_the_configuration(gql):
    ident = await new_integration(gql)  # no booking field, no mapping, no credentials
    refused = await set_active(gql, ident)
    assert fields_of(refused["errors"]) == [
        ("authorizationIdField", "REQUIRED"), ("clientId", "REQUIRED"), ("clientSecret", "REQUIRED"),
        ("mapping", "REQUIRED"), ("siteOwnerId", "REQUIRED")]
    # The backend's part comes first.
    assert [e["field"] for e in refused["errors"]][:3] == ["siteOwnerId", "clientId", "clientSecret"]


async def test_an_active_integration_keeps_its_credentials(gql, wired_sandbox):
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, backend="resivo")
    ident = created["integration"]["id"]
    assert (await set_credentials(gql, ident, **FULL))["errors"] == []
    assert (await set_mapping(gql, ident, objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await set_active(gql, ident))["errors"] == []
    before = await settings_of(gql, ident)
    refused = await set_credentials(gql, ident, clientSecret=None)
    assert fields_of(refused["errors"]) == [("clientSecret", "REQUIRED")]
    changed = await set_credentials(gql, ident, siteId=None)
    assert changed["errors"] == [] and changed["integration"]["active"] is True
    assert await settings_of(gql, ident) == {**before, "siteId": None}


async def test_the_mutation_needs_an_admin(gql, tokens):
    ident = await new_integration(gql)
    body = await gql.raw("mutation($i: SetResivoCredentialsInput!) { setResivoCredentials(input: $i)"
                         f" {{ {ERRORS} }} }}",
                         {"i": {"integrationId": ident, **MINIMAL}}, token=tokens["staff"])
    assert body["data"] is None and body["errors"]
    assert await settings_of(gql, ident) is None
