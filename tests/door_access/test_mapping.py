"""The Mapping tab: mappable objects, door mapping by name (checked against the live door list),
the warnings of doorMappings, and that a mapping survives a door id change at the vendor."""

import pytest

from addon.door_access.backend import Door
from tests.door_access.helpers import (
    ERRORS,
    HOUSE_DOORS,
    configured,
    create_booking_field,
    create_integration,
    create_objects,
)
from tests.door_access.memory_backend import HOUSE

pytestmark = pytest.mark.anyio

KNOWN = ["Barn door", "Cellar door", "Main door", "Meeting room door", "Side door"]
MAPPABLE = "query { mappableObjects { id code name parent { id name } } }"
SET_MAPPING = (
    "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) {"
    " mapping { object { id name } doorNames doors { name id online } warnings }"
    f" warnings {ERRORS} }} }}"
)
DOOR_MAPPINGS = (
    "query($id: ID!) { doorIntegration(id: $id) { doorMappings {"
    " object { id name } doorNames doors { name id online } warnings } } }"
)
MAIN = {"name": "Main door", "id": "d-main", "online": True}
SIDE = {"name": "Side door", "id": "d-side", "online": True}
OFFLINE_CELLAR = "Door 'Cellar door' on the memory lock is offline; it cannot be opened remotely."


async def set_up(gql, **overrides) -> tuple[str, dict[str, str]]:
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, **overrides)
    assert created["errors"] == [], created
    return created["integration"]["id"], objects


async def mapping(gql, integration_id, object_id, names) -> dict:
    data = await gql(SET_MAPPING, {"i": {"integrationId": integration_id, "objectId": object_id, "doorNames": names}})
    return data["setDoorMapping"]


async def door_mappings(gql, integration_id) -> list[dict]:
    return (await gql(DOOR_MAPPINGS, {"id": integration_id}))["doorIntegration"]["doorMappings"]


# ----------------------------------------------------------------------------- mappableObjects


async def test_mappable_objects_lists_main_objects_each_followed_by_its_sub_objects(gql, memory):
    objects = await create_objects(gql)
    deeper = await gql("mutation($i: CreateObjectInput!) { createObject(input: $i) { object { id } } }",
                       {"i": {"code": "studio-1-loft", "name": "Loft", "parentId": objects["Studio 1"]}})
    listed = (await gql(MAPPABLE))["mappableObjects"]
    assert [(o["name"], o["parent"] and o["parent"]["name"]) for o in listed] == [
        ("Meeting room", None),
        ("Studio building", None),
        ("Studio 1", "Studio building"),
        ("Loft", "Studio 1"),
        ("Studio 2", "Studio building"),
    ]
    assert listed[3]["id"] == deeper["createObject"]["object"]["id"]
    assert listed[2]["parent"]["id"] == objects["Studio building"]


async def test_mappable_objects_is_empty_without_objects(gql, memory):
    assert (await gql(MAPPABLE))["mappableObjects"] == []


# ------------------------------------------------------------------------------- setDoorMapping


async def test_mapping_is_stored_by_name_and_answered_resolved(gql, memory):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    assert result["errors"] == [] and result["warnings"] == []
    assert result["mapping"] == {
        "object": {"id": objects["Studio building"], "name": "Studio building"},
        "doorNames": HOUSE_DOORS,
        "doors": [MAIN, SIDE],
        "warnings": [],
    }
    assert await door_mappings(gql, ident) == [result["mapping"]]


async def test_mapping_again_replaces_the_names_and_duplicates_count_once(gql, memory):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    result = await mapping(gql, ident, objects["Studio building"], [" Meeting room door ", "Meeting room door"])
    assert result["errors"] == [] and result["warnings"] == []
    assert result["mapping"]["doorNames"] == ["Meeting room door"]
    [stored] = await door_mappings(gql, ident)
    assert stored["doorNames"] == ["Meeting room door"]


async def test_unknown_names_are_refused_with_the_known_names_and_nothing_is_stored(gql, memory):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    before = await door_mappings(gql, ident)
    for names in (["Front door"], ["Main door", "Front door"], ["main door"]):
        refused = await mapping(gql, ident, objects["Studio building"], names)
        assert refused["mapping"] is None
        [error] = refused["errors"]
        assert (error["field"], error["code"]) == ("doorNames", "UNKNOWN_DOOR")
        assert repr(names[-1]) in error["message"]
        assert "Known doors: " + ", ".join(KNOWN) + "." in error["message"], error["message"]
        refused = await mapping(gql, ident, objects["Meeting room"], names)
        assert refused["errors"][0]["code"] == "UNKNOWN_DOOR"
    assert await door_mappings(gql, ident) == before


@pytest.mark.parametrize("names", [[""], ["  "], ["Meeting room door", " "]])
async def test_blank_names_are_refused_not_read_as_removal(gql, memory, names):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    refused = await mapping(gql, ident, objects["Meeting room"], names)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("doorNames", "INVALID")]
    assert refused["mapping"] is None
    assert [m["doorNames"] for m in await door_mappings(gql, ident)] == [["Meeting room door"]]


async def test_an_empty_list_removes_the_mapping(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    calls_before = dict(vendor.calls)
    removed = await mapping(gql, ident, objects["Studio building"], [])
    assert removed == {"mapping": None, "warnings": [], "errors": []}
    assert dict(vendor.calls) == calls_before  # removing needs no door list
    assert [m["object"]["name"] for m in await door_mappings(gql, ident)] == ["Meeting room"]
    again = await mapping(gql, ident, objects["Studio building"], [])  # nothing to remove: fine
    assert again["errors"] == []


async def test_an_active_integration_cannot_lose_its_last_mapping(gql, memory):
    ident, objects = await configured(gql)
    refused = await mapping(gql, ident, objects["Studio building"], [])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("doorNames", "REQUIRED")]
    assert "deactivate" in refused["errors"][0]["message"]
    assert [m["doorNames"] for m in await door_mappings(gql, ident)] == [HOUSE_DOORS]
    # With a second mapping, the first may go.
    assert (await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await mapping(gql, ident, objects["Studio building"], []))["errors"] == []
    assert [m["object"]["name"] for m in await door_mappings(gql, ident)] == ["Meeting room"]


async def test_vendor_unreachable_stores_unchecked_with_a_warning(gql, memory, vendor):
    ident, objects = await set_up(gql)
    vendor.fail("list_doors", kind="transient", times=10)
    result = await mapping(gql, ident, objects["Studio 1"], ["Main door", "Not checked door"])
    assert result["errors"] == []
    assert result["warnings"] == result["mapping"]["warnings"] == [
        "The door list could not be fetched (memory lock: The vendor answered 503 to list_doors: scripted failure); "
        "the names were stored unchecked."]
    assert result["mapping"]["doorNames"] == ["Main door", "Not checked door"]
    assert [d["id"] for d in result["mapping"]["doors"]] == [None, None]
    vendor.clear_faults()
    [stored] = await door_mappings(gql, ident)
    assert stored["object"]["name"] == "Studio 1"
    assert stored["warnings"] == ["Door 'Not checked door' does not exist on the memory lock."]


async def test_a_refusing_vendor_stores_unchecked_with_a_warning_that_says_so(gql, memory, vendor):
    ident, objects = await set_up(gql)
    vendor.fail("list_doors", kind="permanent", status=401, message="credentials rejected")
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert result["errors"] == []
    assert result["warnings"] == [
        "The door list could not be fetched (memory lock: The vendor refused list_doors (401): credentials "
        "rejected); the names were stored unchecked."]
    assert [m["doorNames"] for m in await door_mappings(gql, ident)] == [["Meeting room door"]]


@pytest.mark.parametrize("ident, object_key, field, code", [
    ("424242", "Meeting room", "integrationId", "NOT_FOUND"),
    ("x", "Meeting room", "integrationId", "INVALID"),
    (None, "424242", "objectId", "NOT_FOUND"),
    (None, "y", "objectId", "INVALID"),
])
async def test_mapping_for_an_unknown_integration_or_object(gql, memory, vendor, ident, object_key, field, code):
    real, objects = await set_up(gql)
    object_id = objects.get(object_key, object_key)
    result = await mapping(gql, ident or real, object_id, ["Meeting room door"])
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert result["mapping"] is None
    assert await door_mappings(gql, real) == []


async def test_mapping_warns_at_once_about_an_offline_door(gql, memory):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Meeting room"], ["Cellar door", "Meeting room door"])
    assert result["errors"] == []
    assert result["mapping"]["doors"][0] == {"name": "Cellar door", "id": "d-cellar", "online": False}
    assert result["warnings"] == result["mapping"]["warnings"] == [OFFLINE_CELLAR]


async def test_doors_in_two_places_in_one_mapping_are_a_problem(gql, memory):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Meeting room"], ["Barn door", "Main door"])
    assert result["errors"] == []  # stored, but the admin is told at once
    assert result["warnings"] == [
        "The mapped doors are in different places (Dune house, Old barn); one access can only cover one. "
        "Map doors of one place."]
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == result["warnings"]


# -------------------------------------------------------------------------------- doorMappings


async def test_door_mappings_without_any_mapping_ask_the_vendor_nothing(gql, memory, vendor):
    ident, _ = await set_up(gql)
    assert await door_mappings(gql, ident) == []
    assert vendor.calls == {}


async def test_door_mappings_resolve_every_object_and_fetch_doors_once(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    await mapping(gql, ident, objects["Studio 2"], ["Meeting room door"])
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    before = vendor.calls["list_doors"]
    listed = await door_mappings(gql, ident)
    assert [(m["object"]["name"], [d["id"] for d in m["doors"]], m["warnings"]) for m in listed] == [
        ("Meeting room", ["d-room"], []),
        ("Studio 2", ["d-room"], []),
        ("Studio building", ["d-main", "d-side"], []),
    ]
    assert vendor.calls["list_doors"] - before == 1  # one look-up for every mapping


async def test_door_mappings_warn_about_a_door_that_no_longer_exists(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    vendor.doors = [d for d in vendor.doors if d.name != "Side door"]
    [listed] = await door_mappings(gql, ident)
    assert listed["doorNames"] == HOUSE_DOORS  # the stored names stay as the admin chose them
    assert listed["doors"] == [MAIN, {"name": "Side door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door 'Side door' does not exist on the memory lock."]


async def test_door_mappings_warn_about_a_renamed_door(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    vendor.rename("Meeting room door", "Boardroom door")
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"][0]["id"] is None
    assert listed["warnings"] == ["Door 'Meeting room door' does not exist on the memory lock."]


async def test_door_mappings_warn_about_a_duplicated_door_name(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    vendor.doors.append(Door("d-room-2", "Meeting room door", True, HOUSE.id, HOUSE.name))
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door name 'Meeting room door' is used by 2 doors on the memory lock; make the "
                                  "names unique at the lock system."]


async def test_door_mappings_warn_about_an_offline_door(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door", "Cellar door"])
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"][1] == {"name": "Cellar door", "id": "d-cellar", "online": False}
    assert listed["warnings"] == [OFFLINE_CELLAR]
    # Back online: the warning goes.
    vendor.set_online("Cellar door", True)
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == [] and listed["doors"][1]["online"] is True


async def test_door_mappings_with_the_vendor_down_still_list_the_names(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    vendor.fail("list_doors", kind="transient", times=10)
    [listed] = await door_mappings(gql, ident)
    assert listed["doorNames"] == ["Meeting room door"]
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"] == ["Doors could not be checked: memory lock: The vendor answered 503 to list_doors: "
                                  "scripted failure"]


# ---------------------------------------------------------------------------------- id changes


async def test_mapping_by_name_survives_a_door_id_change(gql, memory, vendor):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], HOUSE_DOORS)
    vendor.change_id("Main door", "d-main-replaced")
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == []
    assert [d["id"] for d in listed["doors"]] == ["d-main-replaced", "d-side"]
    assert listed["doorNames"] == HOUSE_DOORS


async def test_setting_a_mapping_answers_with_the_current_ids(gql, memory, vendor):
    ident, objects = await set_up(gql)
    vendor.change_id("Meeting room door", "d-room-replaced")
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert result["mapping"]["doors"] == [{"name": "Meeting room door", "id": "d-room-replaced", "online": True}]
