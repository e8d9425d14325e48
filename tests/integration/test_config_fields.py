"""Issue 4, Authentication and Details tabs: what createResivoIntegration and
updateResivoIntegration accept, refuse, default and clear — and that a refusal changes nothing."""

import pytest

from addon.resivo.models import PRODUCTION_BASE_URL
from tests.integration.config_support import (
    MINIMAL,
    activate,
    create,
    fields_of,
    mapping,
    read,
    read_all,
    update,
)
from tests.integration.helpers import SANDBOX_URL, create_booking_field, create_objects

pytestmark = pytest.mark.anyio

FULL = {
    "name": "Duinpark doors",
    "siteOwnerId": "demo-owner",
    "clientId": "demo-client",
    "clientSecret": "demo-secret",
    "siteId": "demo-site",
    "targetMobileAppId": 4711,
    "baseUrl": SANDBOX_URL,
    "triggerStatuses": ["confirmed", "paid"],
    "revokeStatuses": ["cancelled"],
    "timeBeforeMinutes": 30,
    "authorizationIdField": "resivo_authorization_id",
    "defaultLanguage": "nl",
}


def public(values: dict) -> dict:
    """What the API shows back of an input: everything but the write-only secret."""
    return {k: v for k, v in values.items() if k != "clientSecret"}


def without_times(integration: dict) -> dict:
    return {k: v for k, v in integration.items() if k not in ("createdAt", "updatedAt")}


async def full_integration(gql, **overrides) -> dict:
    await create_booking_field(gql)
    created = await create(gql, **{**FULL, **overrides})
    assert created["errors"] == [], created
    return created["integration"]


# ----------------------------------------------------------------------------- create


async def test_create_with_every_field_stores_and_answers_them(gql):
    integration = await full_integration(gql)
    assert {k: integration[k] for k in public(FULL)} == public(FULL)
    assert integration["clientSecretSet"] is True
    assert integration["active"] is False
    assert await read(gql, integration["id"]) == integration
    assert await read_all(gql) == [integration]


async def test_create_with_only_the_required_fields_takes_the_defaults(gql):
    created = await create(gql, **MINIMAL)
    assert created["errors"] == []
    integration = created["integration"]
    assert without_times(integration) == {
        "id": integration["id"], "name": "Resivo", "active": False, "siteOwnerId": "demo-owner",
        "clientId": "demo-client", "clientSecretSet": True, "siteId": None, "targetMobileAppId": None,
        "baseUrl": PRODUCTION_BASE_URL, "triggerStatuses": [], "revokeStatuses": [], "timeBeforeMinutes": 0,
        "authorizationIdField": None, "defaultLanguage": "en",
    }
    assert PRODUCTION_BASE_URL == "https://api.resivo.io"


@pytest.mark.parametrize("field", ["siteOwnerId", "clientId", "clientSecret"])
@pytest.mark.parametrize("blank", ["", "   "])
async def test_create_refuses_a_blank_required_field_and_stores_nothing(gql, field, blank):
    created = await create(gql, **{**MINIMAL, field: blank})
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [(field, "REQUIRED")], created["errors"]
    assert await read_all(gql) == []


async def test_create_lists_every_missing_required_field_at_once(gql):
    created = await create(gql, siteOwnerId="", clientId=" ", clientSecret="")
    assert fields_of(created["errors"]) == [("clientId", "REQUIRED"), ("clientSecret", "REQUIRED"),
                                             ("siteOwnerId", "REQUIRED")]
    assert await read_all(gql) == []


@pytest.mark.parametrize("field", ["siteOwnerId", "clientId", "clientSecret"])
@pytest.mark.parametrize("how", ["omitted", "null"])
async def test_create_without_a_required_field_is_a_user_error(gql, field, how):
    # Nullable in the schema on purpose: a schema error would echo the whole input, secret included.
    values = {k: v for k, v in MINIMAL.items() if k != field}
    if how == "null":
        values[field] = None
    created = await create(gql, **values)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [(field, "REQUIRED")], created["errors"]
    assert "demo-secret" not in str(created)
    assert await read_all(gql) == []


async def test_texts_are_trimmed_and_length_checked(gql):
    created = await create(gql, **{**MINIMAL, "name": "  Doors  ", "siteOwnerId": " demo-owner ", "siteId": " demo-site "})
    assert created["errors"] == []
    assert (created["integration"]["name"], created["integration"]["siteOwnerId"],
            created["integration"]["siteId"]) == ("Doors", "demo-owner", "demo-site")
    too_long = await create(gql, **{**MINIMAL, "name": "x" * 101})
    assert fields_of(too_long["errors"]) == [("name", "TOO_LONG")]
    blank_name = await create(gql, **{**MINIMAL, "name": " "})
    assert fields_of(blank_name["errors"]) == [("name", "REQUIRED")]
    assert len(await read_all(gql)) == 1


# ----------------------------------------------------------------------- targetMobileAppId


@pytest.mark.parametrize("value", [0, -1, -4711])
async def test_target_mobile_app_id_must_be_positive(gql, value):
    created = await create(gql, **MINIMAL, targetMobileAppId=value)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("targetMobileAppId", "INVALID")]
    assert await read_all(gql) == []


async def test_target_mobile_app_id_positive_is_kept_and_beyond_int_is_a_schema_error(gql):
    created = await create(gql, **MINIMAL, targetMobileAppId=1)
    assert created["integration"]["targetMobileAppId"] == 1
    body = await gql.raw("mutation($input: CreateResivoIntegrationInput!) { createResivoIntegration(input: $input)"
                         " { integration { id } } }", {"input": {**MINIMAL, "targetMobileAppId": 2**31}})
    assert body["errors"]
    assert len(await read_all(gql)) == 1


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
    created = await create(gql, **MINIMAL, baseUrl=given)
    assert created["errors"] == []
    assert created["integration"]["baseUrl"] == stored


@pytest.mark.parametrize("given", [
    "api.resivo.io",  # no scheme
    "ftp://api.resivo.io",
    "https://",
    "https://api.resivo.io/?x=1",
    "https://api.resivo.io/#top",
    "https://user:hunter2@api.resivo.io",  # credentials do not belong in a URL that is logged
    "https://api.resivo .io",
    "https://api.resivo.io/v8",  # the client adds the API version itself
])
async def test_base_url_must_be_an_http_base_url(gql, given):
    created = await create(gql, **MINIMAL, baseUrl=given)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("baseUrl", "INVALID")], created["errors"]
    assert "hunter2" not in created["errors"][0]["message"]
    assert await read_all(gql) == []


# --------------------------------------------------------------------------------- statuses


async def test_statuses_must_exist(gql):
    created = await create(gql, **MINIMAL, triggerStatuses=["confirmed", "approved"], revokeStatuses=["gone"])
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("revokeStatuses", "NOT_FOUND"), ("triggerStatuses", "NOT_FOUND")]
    trigger_error = next(e for e in created["errors"] if e["field"] == "triggerStatuses")
    assert "'approved'" in trigger_error["message"] and "confirmed" in trigger_error["message"]  # names the known ones
    assert "'confirmed'" not in trigger_error["message"].split(";")[0]
    assert await read_all(gql) == []


async def test_trigger_and_revoke_statuses_must_not_overlap(gql):
    created = await create(gql, **MINIMAL, triggerStatuses=["confirmed", "paid"], revokeStatuses=["cancelled", "paid"])
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("revokeStatuses", "OVERLAP")]
    assert "paid" in created["errors"][0]["message"]
    assert await read_all(gql) == []


async def test_statuses_are_multi_select_without_duplicates(gql):
    created = await create(gql, **MINIMAL, triggerStatuses=["confirmed", "paid", "confirmed"],
                           revokeStatuses=["cancelled", "checked_out"])
    assert created["errors"] == []
    assert created["integration"]["triggerStatuses"] == ["confirmed", "paid"]
    assert created["integration"]["revokeStatuses"] == ["cancelled", "checked_out"]


async def test_updating_one_status_list_is_checked_against_the_stored_other(gql):
    integration = await full_integration(gql)
    refused = await update(gql, integration["id"], revokeStatuses=["cancelled", "confirmed"])
    assert fields_of(refused["errors"]) == [("revokeStatuses", "OVERLAP")]
    refused = await update(gql, integration["id"], triggerStatuses=["cancelled"])
    assert fields_of(refused["errors"]) == [("revokeStatuses", "OVERLAP")]
    assert await read(gql, integration["id"]) == integration
    swapped = await update(gql, integration["id"], triggerStatuses=["cancelled"], revokeStatuses=["confirmed"])
    assert swapped["errors"] == []
    assert (swapped["integration"]["triggerStatuses"], swapped["integration"]["revokeStatuses"]) == (
        ["cancelled"], ["confirmed"])


# ------------------------------------------------------------------------ timeBeforeMinutes


@pytest.mark.parametrize("minutes", [-1, -60, 7 * 24 * 60 + 1, 100_000])
async def test_time_before_refuses_negative_and_more_than_seven_days(gql, minutes):
    created = await create(gql, **MINIMAL, timeBeforeMinutes=minutes)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("timeBeforeMinutes", "INVALID")]
    assert "7 days" in created["errors"][0]["message"]
    assert await read_all(gql) == []


@pytest.mark.parametrize("minutes", [0, 1, 7 * 24 * 60])
async def test_time_before_accepts_zero_up_to_seven_days(gql, minutes):
    created = await create(gql, **MINIMAL, timeBeforeMinutes=minutes)
    assert created["errors"] == []
    assert created["integration"]["timeBeforeMinutes"] == minutes


# --------------------------------------------------------------------- authorizationIdField


async def test_authorization_id_field_must_be_an_existing_booking_field(gql):
    created = await create(gql, **MINIMAL, authorizationIdField="resivo_authorization_id")
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("authorizationIdField", "NOT_FOUND")]
    assert "resivo_authorization_id" in created["errors"][0]["message"]
    assert await read_all(gql) == []
    await create_booking_field(gql)
    created = await create(gql, **MINIMAL, authorizationIdField="resivo_authorization_id")
    assert created["errors"] == []
    assert created["integration"]["authorizationIdField"] == "resivo_authorization_id"


# -------------------------------------------------------------------------- defaultLanguage


@pytest.mark.parametrize("given, stored", [("nl", "nl"), ("en", "en"), ("de", "de"), ("fr", "fr"),
                                           ("NL", "nl"), (" de ", "de")])
async def test_default_language_accepts_two_letter_codes(gql, given, stored):
    created = await create(gql, **MINIMAL, defaultLanguage=given)
    assert created["errors"] == []
    assert created["integration"]["defaultLanguage"] == stored


# A region or script is not a language code: the default language is the two-letter fallback
# ("nl-NL" and "nl_NL" are refused, not silently cut to "nl").
@pytest.mark.parametrize("given", ["xx", "dutch", "nl-NL", "nl_NL", "n", "", "  ", "123", "zz"])
async def test_default_language_refuses_what_babel_does_not_know_as_a_language(gql, given):
    created = await create(gql, **MINIMAL, defaultLanguage=given)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("defaultLanguage", "INVALID")]
    assert "two-letter" in created["errors"][0]["message"]
    assert await read_all(gql) == []


# ------------------------------------------------------------------------------ many at once


async def test_every_problem_is_reported_and_nothing_is_stored(gql):
    created = await create(gql, **MINIMAL, targetMobileAppId=0, baseUrl="ftp://x", triggerStatuses=["nope"],
                           timeBeforeMinutes=-5, authorizationIdField="missing", defaultLanguage="xx")
    assert fields_of(created["errors"]) == [
        ("authorizationIdField", "NOT_FOUND"), ("baseUrl", "INVALID"), ("defaultLanguage", "INVALID"),
        ("targetMobileAppId", "INVALID"), ("timeBeforeMinutes", "INVALID"), ("triggerStatuses", "NOT_FOUND"),
    ]
    assert all(e["message"] for e in created["errors"])
    assert await read_all(gql) == []


# ----------------------------------------------------------------------------------- update


@pytest.mark.parametrize("change", [
    {"name": "Renamed"},
    {"siteOwnerId": "other-owner"},
    {"clientId": "other-client"},
    {"siteId": "strandhuis-site"},
    {"targetMobileAppId": 9},
    {"baseUrl": "https://test.resivo.example"},
    {"triggerStatuses": ["checked_in"]},
    {"revokeStatuses": ["checked_out", "cancelled"]},
    {"timeBeforeMinutes": 0},
    {"defaultLanguage": "de"},
])
async def test_update_changes_only_the_given_field(gql, change):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], **change)
    assert updated["errors"] == []
    after = updated["integration"]
    assert without_times(after) == {**without_times(before), **change}
    assert after["createdAt"] == before["createdAt"]
    assert after["updatedAt"] >= before["updatedAt"]
    assert await read(gql, before["id"]) == after


async def test_update_without_secret_keeps_the_secret(gql, connector):
    before = await full_integration(gql)
    await update(gql, before["id"], name="Renamed")
    report = await gql("query($id: ID!) { testResivoConnection(integrationId: $id) { ok message } }",
                       {"id": before["id"]})
    assert report["testResivoConnection"]["ok"], report
    changed = await update(gql, before["id"], clientSecret="another-secret")
    assert changed["errors"] == [] and changed["integration"]["clientSecretSet"] is True
    report = await gql("query($id: ID!) { testResivoConnection(integrationId: $id) { ok message } }",
                       {"id": before["id"]})
    assert not report["testResivoConnection"]["ok"]  # the new secret is used (and rejected by the sandbox)


@pytest.mark.parametrize("field", ["siteId", "targetMobileAppId", "authorizationIdField"])
async def test_null_clears_an_optional_field(gql, field):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], **{field: None})
    assert updated["errors"] == []
    assert updated["integration"][field] is None
    assert without_times(updated["integration"]) == {**without_times(before), field: None}


async def test_null_resets_base_url_and_time_before_and_empties_status_lists(gql):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], baseUrl=None, timeBeforeMinutes=None, triggerStatuses=None,
                           revokeStatuses=None)
    assert updated["errors"] == []
    assert {k: updated["integration"][k] for k in ("baseUrl", "timeBeforeMinutes", "triggerStatuses",
                                                   "revokeStatuses")} == {
        "baseUrl": PRODUCTION_BASE_URL, "timeBeforeMinutes": 0, "triggerStatuses": [], "revokeStatuses": []}


@pytest.mark.parametrize("field", ["name", "siteOwnerId", "clientId", "clientSecret", "defaultLanguage"])
@pytest.mark.parametrize("value", [None, ""])
async def test_required_fields_cannot_be_cleared(gql, field, value):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], **{field: value})
    assert updated["integration"] is None
    assert len(updated["errors"]) == 1 and updated["errors"][0]["field"] == field, updated["errors"]
    assert updated["errors"][0]["code"] in ("REQUIRED", "INVALID")
    assert await read(gql, before["id"]) == before


@pytest.mark.parametrize("change", [
    {"name": "Renamed", "timeBeforeMinutes": -1},
    {"clientId": "other", "defaultLanguage": "dutch"},
    {"siteId": None, "targetMobileAppId": 0},
    {"clientSecret": "new-secret", "baseUrl": "nope"},
    {"triggerStatuses": ["checked_in"], "authorizationIdField": "missing"},
    {"revokeStatuses": ["confirmed"]},
])
async def test_a_refused_update_changes_nothing(gql, connector, change):
    before = await full_integration(gql)
    refused = await update(gql, before["id"], **change)
    assert refused["integration"] is None and refused["errors"]
    assert await read(gql, before["id"]) == before
    # ... not even the secret: the stored one still opens the sandbox.
    report = await gql("query($id: ID!) { testResivoConnection(integrationId: $id) { ok message } }",
                       {"id": before["id"]})
    assert report["testResivoConnection"]["ok"], report


@pytest.mark.parametrize("ident, code", [("999999", "NOT_FOUND"), ("abc", "INVALID"), ("99999999999999999999", "NOT_FOUND")])
async def test_update_of_an_unknown_integration(gql, ident, code):
    refused = await update(gql, ident, name="x")
    assert fields_of(refused["errors"]) == [("id", code)]


async def test_read_of_an_unknown_integration(gql):
    assert await read(gql, "424242") is None
    assert await read(gql, "99999999999999999999") is None  # beyond the id range: not found, not a crash
    body = await gql.raw("query { resivoIntegration(id: \"abc\") { id } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_active_integration_cannot_be_made_incomplete(gql, connector):
    integration = await full_integration(gql)
    objects = await create_objects(gql)
    assert (await mapping(gql, integration["id"], objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await activate(gql, integration["id"]))["errors"] == []
    before = await read(gql, integration["id"])
    for change, field in (({"triggerStatuses": []}, "triggerStatuses"),
                          ({"authorizationIdField": None}, "authorizationIdField")):
        refused = await update(gql, integration["id"], **change)
        assert [e["field"] for e in refused["errors"]] == [field], refused
        assert await read(gql, integration["id"]) == before
    # Deactivated, the same change is allowed (the configuration may be incomplete while inactive).
    assert (await activate(gql, integration["id"], False))["errors"] == []
    assert (await update(gql, integration["id"], triggerStatuses=[]))["errors"] == []


async def test_two_integrations_are_independent(gql):
    first = (await create(gql, **MINIMAL, name="One"))["integration"]
    second = (await create(gql, **MINIMAL, name="Two", siteId="strandhuis-site"))["integration"]
    await update(gql, second["id"], timeBeforeMinutes=15)
    assert await read(gql, first["id"]) == first
    assert [i["name"] for i in await read_all(gql)] == ["One", "Two"]
