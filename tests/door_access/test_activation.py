"""Activation: setDoorIntegrationActive lists every problem of an incomplete configuration (the
backend's own with the core's), activates a complete one, and deactivation is the rollback switch."""

import pytest
from sqlalchemy import text

from addon.base.public import Problem
from tests.door_access.helpers import (
    AUTH_FIELD,
    ERRORS,
    booking,
    configured,
    create_booking,
    create_booking_field,
    create_objects,
    future,
    set_mapping,
    set_status,
    update_integration,
)
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

SET_ACTIVE = ("mutation($i: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $i) {"
              f" integration {{ id active }} {ERRORS} }} }}")
CREATE = ("mutation($input: CreateDoorIntegrationInput!) { createDoorIntegration(input: $input) {"
          f" integration {{ id }} {ERRORS} }} }}")
COMPLETE = {"backend": "memory", "triggerStatuses": ["confirmed"], "revokeStatuses": ["cancelled"],
            "authorizationIdField": AUTH_FIELD}
CORE_PROBLEMS = [("authorizationIdField", "REQUIRED"), ("mapping", "REQUIRED"), ("triggerStatuses", "REQUIRED")]


async def create(gql, **values) -> str:
    created = (await gql(CREATE, {"input": values}))["createDoorIntegration"]
    assert created["errors"] == [], created
    return created["integration"]["id"]


async def activate(gql, integration_id, active=True) -> dict:
    return (await gql(SET_ACTIVE, {"i": {"integrationId": integration_id, "active": active}}))["setDoorIntegrationActive"]


async def is_active(gql, integration_id) -> bool:
    return (await gql("query($id: ID!) { doorIntegration(id: $id) { active } }",
                      {"id": integration_id}))["doorIntegration"]["active"]


async def preview(gql, booking_id) -> list[dict]:
    return (await gql("query($id: ID!) { previewBookingAccess(bookingId: $id) { integration { id } } }",
                      {"id": booking_id}))["previewBookingAccess"]


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


async def complete_but_unmapped(gql) -> tuple[str, dict[str, str]]:
    await create_booking_field(gql)
    objects = await create_objects(gql)
    return await create(gql, **COMPLETE), objects


async def test_activation_lists_every_problem_of_a_new_integration(gql, memory):
    ident = await create(gql, backend="memory")
    refused = await activate(gql, ident)
    assert refused["integration"] is None
    assert fields_of(refused["errors"]) == CORE_PROBLEMS
    assert all(e["message"] for e in refused["errors"])
    assert await is_active(gql, ident) is False


async def test_the_backends_configuration_problems_are_listed_with_the_cores_own(gql, memory):
    memory.problems = [Problem("REQUIRED", "Enter the API key on the Authentication tab.", "apiKey")]
    ident = await create(gql, backend="memory")
    refused = await activate(gql, ident)
    assert fields_of(refused["errors"]) == sorted([("apiKey", "REQUIRED"), *CORE_PROBLEMS])
    assert refused["errors"][0] == {"field": "apiKey", "code": "REQUIRED",
                                    "message": "Enter the API key on the Authentication tab."}  # the backend's first
    assert await is_active(gql, ident) is False


async def test_a_backend_problem_alone_keeps_a_complete_integration_inactive(gql, memory):
    ident, objects = await complete_but_unmapped(gql)
    assert (await set_mapping(gql, ident, objects["Studio building"], ["Main door"]))["errors"] == []
    memory.problems = [Problem("INVALID", "The API key was revoked.", "apiKey")]
    refused = await activate(gql, ident)
    assert refused["errors"] == [{"field": "apiKey", "code": "INVALID", "message": "The API key was revoked."}]
    assert await is_active(gql, ident) is False
    memory.problems = []  # fixed at the backend
    assert (await activate(gql, ident))["errors"] == []
    assert await is_active(gql, ident) is True


async def test_an_active_integration_cannot_be_changed_while_its_backend_has_problems(gql, memory):
    ident, _ = await configured(gql)
    memory.problems = [Problem("REQUIRED", "Enter the API key.", "apiKey")]
    refused = await update_integration(gql, ident, name="Renamed")
    assert fields_of(refused["errors"]) == [("apiKey", "REQUIRED")]
    assert (await gql("query($id: ID!) { doorIntegration(id: $id) { name } }",
                      {"id": ident}))["doorIntegration"]["name"] == "Duinpark doors"


@pytest.mark.parametrize("missing, expected", [
    ("triggerStatuses", ("triggerStatuses", "REQUIRED")),
    ("authorizationIdField", ("authorizationIdField", "REQUIRED")),
    ("mapping", ("mapping", "REQUIRED")),
])
async def test_activation_names_the_one_thing_missing(gql, memory, missing, expected):
    ident, objects = await complete_but_unmapped(gql)
    if missing != "mapping":
        await set_mapping(gql, ident, objects["Studio building"], ["Main door"])
        assert (await update_integration(gql, ident, **{missing: None}))["errors"] == []
    refused = await activate(gql, ident)
    assert fields_of(refused["errors"]) == [expected]
    assert await is_active(gql, ident) is False


@pytest.mark.parametrize("column, value, expected", [
    # Things the update refuses, but which a database changed behind the API's back may hold.
    ("authorization_id_field", "'gone_field'", ("authorizationIdField", "NOT_FOUND")),
    ("trigger_statuses", "'[\"archived\"]'", ("triggerStatuses", "NOT_FOUND")),
    ("revoke_statuses", "'[\"confirmed\"]'", ("revokeStatuses", "OVERLAP")),
    ("backend", "'unloaded'", ("backend", "NOT_FOUND")),
])
async def test_activation_checks_the_stored_configuration_itself(gql, host, memory, column, value, expected):
    ident, objects = await complete_but_unmapped(gql)
    await set_mapping(gql, ident, objects["Studio building"], ["Main door"])
    async with host.database.session() as session:
        await session.execute(text(f"UPDATE door_integration SET {column} = {value} WHERE id = :id"), {"id": row_id(ident)})
        await session.commit()
    refused = await activate(gql, ident)
    assert fields_of(refused["errors"]) == [expected], refused
    assert await is_active(gql, ident) is False


async def test_a_complete_integration_activates(gql, memory):
    ident, objects = await complete_but_unmapped(gql)
    assert (await set_mapping(gql, ident, objects["Studio 2"], ["Meeting room door"]))["errors"] == []
    activated = await activate(gql, ident)
    assert activated == {"integration": {"id": ident, "active": True}, "errors": []}
    assert await is_active(gql, ident) is True
    again = await activate(gql, ident)  # activating an active integration is fine
    assert again["errors"] == [] and again["integration"]["active"] is True


async def test_deactivation_is_allowed_even_when_incomplete(gql, memory):
    memory.problems = [Problem("REQUIRED", "Enter the API key.", "apiKey")]
    ident = await create(gql, backend="memory")
    result = await activate(gql, ident, False)
    assert result == {"integration": {"id": ident, "active": False}, "errors": []}


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("nope", "INVALID")])
async def test_activation_of_an_unknown_integration(gql, memory, ident, code):
    assert fields_of((await activate(gql, ident))["errors"]) == [("integrationId", code)]


async def test_deactivation_stops_new_access_but_never_keeps_a_cancelled_guest_s(gql, memory, vendor):
    ident, objects = await configured(gql)
    granted = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    kept = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert granted["access"][0]["state"] == kept["access"][0]["state"] == "ACTIVE"
    assert (await activate(gql, ident, False))["errors"] == []

    # The rollback switch: what exists stays (nothing is revoked by deactivating) ...
    assert len(vendor.active_sets()) == 2 and vendor.calls["revoke"] == 0
    assert (await booking(gql, kept["id"]))["access"][0]["state"] == "ACTIVE"
    # ... but a booking that reaches a revoke status is revoked all the same ...
    cancelled = await set_status(gql, granted["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "REVOKED"
    assert [s.access.id for s in vendor.active_sets()] == [kept["access"][0]["authorizationId"]]
    # ... and new triggers do nothing, nor does the preview show a disabled integration.
    fresh = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    assert fresh["access"] == []
    assert (await booking(gql, fresh["id"]))["access"] == []
    assert len(vendor.sets) == 2
    assert await preview(gql, fresh["id"]) == []
