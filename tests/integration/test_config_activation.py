"""Issue 4, Activation: setResivoIntegrationActive lists every problem of an incomplete
configuration, activates a complete one, and deactivation is the rollback switch."""

import pytest
from sqlalchemy import text

from tests.integration.config_support import (
    MINIMAL,
    activate,
    create,
    fields_of,
    future,
    mapping,
    preview,
    read,
    update,
)
from tests.integration.helpers import (
    booking,
    configured,
    create_booking,
    create_booking_field,
    create_objects,
    sandbox_sets,
    set_status,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings_overrides():
    return {"reconcile_wait_seconds": 10.0, "retry_base_seconds": 0.01, "retry_max_seconds": 0.05,
            "resivo_read_timeout": 0.5, "resivo_connect_timeout": 0.5}


COMPLETE = {**MINIMAL, "siteId": "demo-site", "baseUrl": "http://resivo.sandbox", "triggerStatuses": ["confirmed"],
            "revokeStatuses": ["cancelled"], "authorizationIdField": "resivo_authorization_id"}


async def complete_but_unmapped(gql) -> tuple[str, dict[str, str]]:
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create(gql, **COMPLETE)
    assert created["errors"] == [], created
    return created["integration"]["id"], objects


async def test_activation_lists_every_problem_of_a_new_integration(gql):
    ident = (await create(gql, **MINIMAL))["integration"]["id"]
    refused = await activate(gql, ident)
    assert refused["integration"] is None
    assert fields_of(refused["errors"]) == [("authorizationIdField", "REQUIRED"), ("mapping", "REQUIRED"),
                                            ("triggerStatuses", "REQUIRED")]
    assert all(e["message"] for e in refused["errors"])
    assert (await read(gql, ident))["active"] is False


@pytest.mark.parametrize("missing, expected", [
    ("triggerStatuses", ("triggerStatuses", "REQUIRED")),
    ("authorizationIdField", ("authorizationIdField", "REQUIRED")),
    ("mapping", ("mapping", "REQUIRED")),
])
async def test_activation_names_the_one_thing_missing(gql, connector, missing, expected):
    ident, objects = await complete_but_unmapped(gql)
    if missing != "mapping":
        await mapping(gql, ident, objects["Studio building"], ["Studio building main door"])
        await update(gql, ident, **{missing: None})
    refused = await activate(gql, ident)
    assert fields_of(refused["errors"]) == [expected]
    assert (await read(gql, ident))["active"] is False


@pytest.mark.parametrize("column, value, expected", [
    # Things the update refuses, but which a database changed behind the API's back may hold.
    ("authorization_id_field", "'gone_field'", ("authorizationIdField", "NOT_FOUND")),
    ("trigger_statuses", "'[\"archived\"]'", ("triggerStatuses", "NOT_FOUND")),
    ("revoke_statuses", "'[\"confirmed\"]'", ("revokeStatuses", "OVERLAP")),
    ("site_owner_id", "''", ("siteOwnerId", "REQUIRED")),
])
async def test_activation_checks_the_stored_configuration_itself(gql, host, connector, column, value, expected):
    ident, objects = await complete_but_unmapped(gql)
    await mapping(gql, ident, objects["Studio building"], ["Studio building main door"])
    async with host.database.session() as session:
        await session.execute(text(f"UPDATE resivo_integration SET {column} = {value} WHERE id = :id"), {"id": int(ident)})
        await session.commit()
    refused = await activate(gql, ident)
    assert fields_of(refused["errors"]) == [expected], refused
    assert (await read(gql, ident))["active"] is False


async def test_a_complete_integration_activates(gql, connector):
    ident, objects = await complete_but_unmapped(gql)
    assert (await mapping(gql, ident, objects["Studio 2"], ["Meeting room door"]))["errors"] == []
    activated = await activate(gql, ident)
    assert activated == {"integration": {"id": ident, "active": True}, "errors": []}
    assert (await read(gql, ident))["active"] is True
    again = await activate(gql, ident)  # activating an active integration is fine
    assert again["errors"] == [] and again["integration"]["active"] is True


async def test_deactivation_is_allowed_even_when_incomplete(gql):
    ident = (await create(gql, **MINIMAL))["integration"]["id"]
    result = await activate(gql, ident, False)
    assert result == {"integration": {"id": ident, "active": False}, "errors": []}


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("nope", "INVALID")])
async def test_activation_of_an_unknown_integration(gql, ident, code):
    assert fields_of((await activate(gql, ident))["errors"]) == [("integrationId", code)]


async def test_deactivation_stops_new_grants_and_revokes_nothing(gql, connector, sandbox):
    ident, objects = await configured(gql)
    granted = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed")
    assert granted["access"][0]["state"] == "ACTIVE"
    assert (await activate(gql, ident, False))["errors"] == []

    # The rollback switch: what exists stays ...
    cancelled = await set_status(gql, granted["id"], "cancelled")
    assert cancelled["access"][0]["state"] == "ACTIVE"
    assert [s["status"] for s in await sandbox_sets(sandbox)] == ["active"]
    # ... and new triggers do nothing, nor does the preview show a disabled integration.
    fresh = await create_booking(gql, objects["Studio 2"], future(), future(11), status="confirmed")
    assert fresh["access"] == []
    assert (await booking(gql, fresh["id"]))["access"] == []
    assert len(await sandbox_sets(sandbox)) == 1
    assert await preview(gql, fresh["id"]) == []
