"""The Details tab: what createDoorIntegration and updateDoorIntegration accept, refuse, default
and clear, that a refusal changes nothing, and which backends an integration can use."""

from datetime import datetime

import pytest

from tests.door_access.helpers import (
    AUTH_FIELD,
    ERRORS,
    create_booking_field,
    create_objects,
    set_active,
    set_mapping,
)

pytestmark = pytest.mark.anyio

FIELDS = ("id name backend active triggerStatuses revokeStatuses timeBeforeMinutes authorizationIdField "
          "defaultLanguage createdAt updatedAt")
CREATE = ("mutation($input: CreateDoorIntegrationInput!) { createDoorIntegration(input: $input) {"
          f" integration {{ {FIELDS} }} {ERRORS} }} }}")
UPDATE = ("mutation($input: UpdateDoorIntegrationInput!) { updateDoorIntegration(input: $input) {"
          f" integration {{ {FIELDS} }} {ERRORS} }} }}")
ONE = f"query($id: ID!) {{ doorIntegration(id: $id) {{ {FIELDS} }} }}"
ALL = f"query {{ doorIntegrations {{ {FIELDS} }} }}"

FULL = {
    "backend": "memory",
    "name": "Duinpark doors",
    "triggerStatuses": ["confirmed", "paid"],
    "revokeStatuses": ["cancelled"],
    "timeBeforeMinutes": 30,
    "authorizationIdField": AUTH_FIELD,
    "defaultLanguage": "nl",
}


async def create(gql, **values) -> dict:
    """createDoorIntegration with exactly ``values`` (no defaults added); the payload."""
    return (await gql(CREATE, {"input": values}))["createDoorIntegration"]


async def update(gql, integration_id, **values) -> dict:
    return (await gql(UPDATE, {"input": {"id": integration_id, **values}}))["updateDoorIntegration"]


async def read(gql, integration_id) -> dict | None:
    return (await gql(ONE, {"id": integration_id}))["doorIntegration"]


async def read_all(gql) -> list[dict]:
    return (await gql(ALL))["doorIntegrations"]


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def without_times(integration: dict) -> dict:
    return {k: v for k, v in integration.items() if k not in ("createdAt", "updatedAt")}


async def full_integration(gql, **overrides) -> dict:
    await create_booking_field(gql)
    created = await create(gql, **{**FULL, **overrides})
    assert created["errors"] == [], created
    return created["integration"]


# ------------------------------------------------------------------------------------ backends


async def test_door_backends_lists_every_loaded_backend(gql, memory):
    listed = (await gql("query { doorBackends { name label } }"))["doorBackends"]
    assert listed == [{"name": "memory", "label": "Memory lock"}, {"name": "resivo", "label": "Resivo"},
                      {"name": "salto_ks", "label": "Salto KS"}]


@pytest.mark.parametrize("backend", ["nope", "", "Memory"])
async def test_an_unknown_backend_is_a_user_error_that_lists_the_known_ones(gql, memory, backend):
    created = await create(gql, **{**FULL, "authorizationIdField": None, "backend": backend})
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("backend", "NOT_FOUND")]
    assert created["errors"][0]["message"] == f"Unknown backend {backend!r}; known: memory, resivo, salto_ks."
    assert await read_all(gql) == []


async def test_the_backend_cannot_be_changed_by_an_update(gql, memory):
    integration = await full_integration(gql)
    body = await gql.raw(UPDATE, {"input": {"id": integration["id"], "backend": "resivo"}})
    assert body["errors"] and "backend" in body["errors"][0]["message"]
    assert await read(gql, integration["id"]) == integration


# -------------------------------------------------------------------------------------- create


async def test_create_with_every_field_stores_and_answers_them(gql, memory):
    integration = await full_integration(gql)
    assert {k: integration[k] for k in FULL} == FULL
    assert integration["active"] is False
    assert await read(gql, integration["id"]) == integration
    assert await read_all(gql) == [integration]


async def test_create_with_only_the_backend_takes_the_defaults(gql, memory):
    created = await create(gql, backend="memory")
    assert created["errors"] == []
    integration = created["integration"]
    assert without_times(integration) == {
        "id": integration["id"], "name": "Memory lock", "backend": "memory", "active": False, "triggerStatuses": [],
        "revokeStatuses": [], "timeBeforeMinutes": 0, "authorizationIdField": None, "defaultLanguage": "en",
    }


async def test_name_is_trimmed_and_length_checked(gql, memory):
    created = await create(gql, backend="memory", name="  Doors  ")
    assert created["errors"] == []
    assert created["integration"]["name"] == "Doors"
    too_long = await create(gql, backend="memory", name="x" * 101)
    assert fields_of(too_long["errors"]) == [("name", "TOO_LONG")]
    blank_name = await create(gql, backend="memory", name=" ")
    assert fields_of(blank_name["errors"]) == [("name", "REQUIRED")]
    assert len(await read_all(gql)) == 1


# ------------------------------------------------------------------------------------ statuses


async def test_statuses_must_exist(gql, memory):
    created = await create(gql, backend="memory", triggerStatuses=["confirmed", "approved"], revokeStatuses=["gone"])
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("revokeStatuses", "NOT_FOUND"), ("triggerStatuses", "NOT_FOUND")]
    trigger_error = next(e for e in created["errors"] if e["field"] == "triggerStatuses")
    assert "'approved'" in trigger_error["message"] and "confirmed" in trigger_error["message"]  # names the known ones
    assert "'confirmed'" not in trigger_error["message"].split(";")[0]
    assert await read_all(gql) == []


async def test_trigger_and_revoke_statuses_must_not_overlap(gql, memory):
    created = await create(gql, backend="memory", triggerStatuses=["confirmed", "paid"],
                           revokeStatuses=["cancelled", "paid"])
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("revokeStatuses", "OVERLAP")]
    assert "paid" in created["errors"][0]["message"]
    assert await read_all(gql) == []


async def test_statuses_are_multi_select_without_duplicates(gql, memory):
    created = await create(gql, backend="memory", triggerStatuses=["confirmed", "paid", "confirmed"],
                           revokeStatuses=["cancelled", "checked_out"])
    assert created["errors"] == []
    assert created["integration"]["triggerStatuses"] == ["confirmed", "paid"]
    assert created["integration"]["revokeStatuses"] == ["cancelled", "checked_out"]


async def test_updating_one_status_list_is_checked_against_the_stored_other(gql, memory):
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


# --------------------------------------------------------------------------- timeBeforeMinutes


@pytest.mark.parametrize("minutes", [-1, -60, 7 * 24 * 60 + 1, 100_000])
async def test_time_before_refuses_negative_and_more_than_seven_days(gql, memory, minutes):
    created = await create(gql, backend="memory", timeBeforeMinutes=minutes)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("timeBeforeMinutes", "INVALID")]
    assert "7 days" in created["errors"][0]["message"]
    assert await read_all(gql) == []


@pytest.mark.parametrize("minutes", [0, 1, 7 * 24 * 60])
async def test_time_before_accepts_zero_up_to_seven_days(gql, memory, minutes):
    created = await create(gql, backend="memory", timeBeforeMinutes=minutes)
    assert created["errors"] == []
    assert created["integration"]["timeBeforeMinutes"] == minutes


# ------------------------------------------------------------------------ authorizationIdField


async def test_authorization_id_field_must_be_an_existing_booking_field(gql, memory):
    created = await create(gql, backend="memory", authorizationIdField=AUTH_FIELD)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("authorizationIdField", "NOT_FOUND")]
    assert AUTH_FIELD in created["errors"][0]["message"]
    assert await read_all(gql) == []
    await create_booking_field(gql)
    created = await create(gql, backend="memory", authorizationIdField=AUTH_FIELD)
    assert created["errors"] == []
    assert created["integration"]["authorizationIdField"] == AUTH_FIELD


# ----------------------------------------------------------------------------- defaultLanguage


@pytest.mark.parametrize("given, stored", [("nl", "nl"), ("en", "en"), ("de", "de"), ("fr", "fr"),
                                           ("NL", "nl"), (" de ", "de")])
async def test_default_language_accepts_two_letter_codes(gql, memory, given, stored):
    created = await create(gql, backend="memory", defaultLanguage=given)
    assert created["errors"] == []
    assert created["integration"]["defaultLanguage"] == stored


# A region or script is not a language code: the default language is the two-letter fallback
# ("nl-NL" and "nl_NL" are refused, not silently cut to "nl").
@pytest.mark.parametrize("given", ["xx", "dutch", "nl-NL", "nl_NL", "n", "", "  ", "123", "zz"])
async def test_default_language_refuses_what_babel_does_not_know_as_a_language(gql, memory, given):
    created = await create(gql, backend="memory", defaultLanguage=given)
    assert created["integration"] is None
    assert fields_of(created["errors"]) == [("defaultLanguage", "INVALID")]
    assert "two-letter" in created["errors"][0]["message"]
    assert await read_all(gql) == []


# --------------------------------------------------------------------------------- many at once


async def test_every_problem_is_reported_and_nothing_is_stored(gql, memory):
    created = await create(gql, backend="nope", triggerStatuses=["nope"], timeBeforeMinutes=-5,
                           authorizationIdField="missing", defaultLanguage="xx", name="y" * 101)
    assert fields_of(created["errors"]) == [
        ("authorizationIdField", "NOT_FOUND"), ("backend", "NOT_FOUND"), ("defaultLanguage", "INVALID"),
        ("name", "TOO_LONG"), ("timeBeforeMinutes", "INVALID"), ("triggerStatuses", "NOT_FOUND"),
    ]
    assert all(e["message"] for e in created["errors"])
    assert await read_all(gql) == []


# -------------------------------------------------------------------------------------- update


@pytest.mark.parametrize("change", [
    {"name": "Renamed"},
    {"triggerStatuses": ["checked_in"]},
    {"revokeStatuses": ["checked_out", "cancelled"]},
    {"timeBeforeMinutes": 0},
    {"defaultLanguage": "de"},
    {"authorizationIdField": "other_field"},
])
async def test_update_changes_only_the_given_field(gql, memory, clock, change):
    before = await full_integration(gql)
    await create_booking_field(gql, "other_field")
    clock.advance(60)
    updated = await update(gql, before["id"], **change)
    assert updated["errors"] == []
    after = updated["integration"]
    assert without_times(after) == {**without_times(before), **change}
    assert after["createdAt"] == before["createdAt"]
    assert after["updatedAt"] > before["updatedAt"]
    assert await read(gql, before["id"]) == after


async def test_created_and_updated_times_come_from_the_host_clock(gql, memory, clock):
    before = await full_integration(gql)
    assert moment(before["createdAt"]) == moment(before["updatedAt"]) == clock.now()
    after = (await update(gql, before["id"], name="Renamed"))["integration"]
    assert moment(after["updatedAt"]) == clock.now()  # not before createdAt: one clock for both
    assert after["createdAt"] == before["createdAt"]


async def test_null_clears_the_authorization_id_field(gql, memory):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], authorizationIdField=None)
    assert updated["errors"] == []
    assert without_times(updated["integration"]) == {**without_times(before), "authorizationIdField": None}


async def test_null_resets_time_before_and_empties_status_lists(gql, memory):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], timeBeforeMinutes=None, triggerStatuses=None, revokeStatuses=None)
    assert updated["errors"] == []
    assert without_times(updated["integration"]) == {
        **without_times(before), "timeBeforeMinutes": 0, "triggerStatuses": [], "revokeStatuses": []}


@pytest.mark.parametrize("field", ["name", "defaultLanguage"])
@pytest.mark.parametrize("value", [None, "", "  "])
async def test_required_fields_cannot_be_cleared(gql, memory, field, value):
    before = await full_integration(gql)
    updated = await update(gql, before["id"], **{field: value})
    assert updated["integration"] is None
    assert len(updated["errors"]) == 1 and updated["errors"][0]["field"] == field, updated["errors"]
    assert updated["errors"][0]["code"] in ("REQUIRED", "INVALID")
    assert await read(gql, before["id"]) == before


@pytest.mark.parametrize("change", [
    {"name": "Renamed", "timeBeforeMinutes": -1},
    {"name": "Renamed", "defaultLanguage": "dutch"},
    {"authorizationIdField": None, "timeBeforeMinutes": 100_000},
    {"triggerStatuses": ["checked_in"], "authorizationIdField": "missing"},
    {"revokeStatuses": ["confirmed"]},
])
async def test_a_refused_update_changes_nothing(gql, memory, change):
    before = await full_integration(gql)
    refused = await update(gql, before["id"], **change)
    assert refused["integration"] is None and refused["errors"]
    assert await read(gql, before["id"]) == before


@pytest.mark.parametrize("ident, code", [("999999", "NOT_FOUND"), ("abc", "INVALID"),
                                         ("99999999999999999999", "NOT_FOUND")])
async def test_update_of_an_unknown_integration(gql, memory, ident, code):
    refused = await update(gql, ident, name="x")
    assert fields_of(refused["errors"]) == [("id", code)]
    assert refused["integration"] is None


async def test_read_of_an_unknown_integration(gql, memory):
    assert await read(gql, "424242") is None
    assert await read(gql, "99999999999999999999") is None  # beyond the id range: not found, not a crash
    body = await gql.raw("query { doorIntegration(id: \"abc\") { id } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_active_integration_cannot_be_made_incomplete(gql, memory):
    integration = await full_integration(gql)
    objects = await create_objects(gql)
    assert (await set_mapping(gql, integration["id"], objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await set_active(gql, integration["id"]))["errors"] == []
    before = await read(gql, integration["id"])
    for change, field in (({"triggerStatuses": []}, "triggerStatuses"),
                          ({"triggerStatuses": None}, "triggerStatuses"),
                          ({"authorizationIdField": None}, "authorizationIdField")):
        refused = await update(gql, integration["id"], **change)
        assert [e["field"] for e in refused["errors"]] == [field], refused
        assert await read(gql, integration["id"]) == before
    # Deactivated, the same change is allowed (the configuration may be incomplete while inactive).
    assert (await set_active(gql, integration["id"], False))["errors"] == []
    assert (await update(gql, integration["id"], triggerStatuses=[]))["errors"] == []


async def test_two_integrations_are_independent(gql, memory):
    first = (await create(gql, backend="memory", name="One"))["integration"]
    second = (await create(gql, backend="memory", name="Two", defaultLanguage="de"))["integration"]
    updated = await update(gql, second["id"], timeBeforeMinutes=15)
    assert updated["integration"]["timeBeforeMinutes"] == 15
    assert await read(gql, first["id"]) == first
    assert [i["name"] for i in await read_all(gql)] == ["One", "Two"]
    assert first["id"] != second["id"]
