"""Size limits on door-access inputs: door names per mapping (how many, how long), the status
lists and the default language of an integration. Refused with the limit named, nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from addon.door_access.mapping import MAX_DOOR_NAME, MAX_DOOR_NAMES
from addon.door_access.models import DoorIntegration, DoorMapping
from addon.door_access.policy import MAX_STATUSES
from tests.door_access.helpers import (
    HOUSE_DOORS,
    create_booking_field,
    create_integration,
    create_objects,
    set_mapping,
    update_integration,
)

pytestmark = pytest.mark.anyio


async def set_up(gql) -> tuple[str, dict[str, str]]:
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql)
    assert created["errors"] == [], created
    return created["integration"]["id"], objects


async def stored_mappings(host) -> list[list[str]]:
    async with host.database.session() as session:
        return [list(m.door_names) for m in (await session.execute(select(DoorMapping))).scalars()]


def problems(payload: dict) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def test_ten_thousand_door_names_are_refused(gql, host, memory):
    integration_id, objects = await set_up(gql)
    for names in ([f"Door {i}" for i in range(10_000)], [f"Door {i}" for i in range(MAX_DOOR_NAMES + 1)]):
        refused = await set_mapping(gql, integration_id, objects["Studio building"], names)
        assert refused["mapping"] is None
        assert problems(refused) == [("doorNames", "TOO_MANY")]
        assert str(MAX_DOOR_NAMES) in refused["errors"][0]["message"]
        assert "Door 1" not in refused["errors"][0]["message"]
    assert await stored_mappings(host) == []
    kept = await set_mapping(gql, integration_id, objects["Studio building"], HOUSE_DOORS)
    assert kept["errors"] == []


async def test_a_door_name_longer_than_the_limit_is_refused(gql, host, memory):
    integration_id, objects = await set_up(gql)
    refused = await set_mapping(gql, integration_id, objects["Studio building"],
                                ["Main door", "d" * (MAX_DOOR_NAME + 1)])
    assert problems(refused) == [("doorNames", "TOO_LONG")]
    assert str(MAX_DOOR_NAME) in refused["errors"][0]["message"] and "ddd" not in refused["errors"][0]["message"]
    assert await stored_mappings(host) == []


async def test_status_lists_and_the_default_language_are_bounded(gql, host, memory):
    integration_id, _objects = await set_up(gql)
    many = [f"s{i}" for i in range(MAX_STATUSES + 1)]
    updated = await update_integration(gql, integration_id, triggerStatuses=many, revokeStatuses=["x" * 100_000],
                                       defaultLanguage="nl" * 50_000)
    assert updated["integration"] is None
    assert sorted(problems(updated)) == [("defaultLanguage", "TOO_LONG"), ("revokeStatuses", "TOO_LONG"),
                                         ("triggerStatuses", "TOO_LONG")]
    text = " ".join(e["message"] for e in updated["errors"])
    assert str(MAX_STATUSES) in text and "xxxx" not in text and "nlnl" not in text
    async with host.database.session() as session:
        row = (await session.execute(select(DoorIntegration))).scalar_one()
        assert (row.trigger_statuses, row.revoke_statuses, row.default_language) == (["confirmed", "paid"],
                                                                                     ["cancelled"], "nl")


async def test_an_unknown_backend_is_not_quoted_back_at_length(gql, memory):
    await create_booking_field(gql)
    created = await create_integration(gql, backend="b" * 100_000)
    assert problems(created) == [("backend", "NOT_FOUND")]
    assert len(created["errors"][0]["message"]) < 300
