"""Issue 4, Mapping tab: mappable objects, door mapping by display name (live checked), the
warnings of doorMappings, and that a mapping survives a component id change."""

import pytest

from tests.integration.config_support import (
    MAPPABLE,
    SET_MAPPING,
    add_fault,
    door_mappings,
    mapping,
    sandbox_calls,
)
from tests.integration.helpers import STUDIO_DOORS, configured, create_booking_field, create_integration, create_objects

pytestmark = pytest.mark.anyio

KNOWN = ["Car park barrier", "Meeting room door", "Sauna door", "Studio building main door",
         "Studio building side door"]


@pytest.fixture
def settings_overrides():
    return {"resivo_read_timeout": 0.3, "resivo_connect_timeout": 0.2}


async def set_up(gql, **overrides) -> tuple[str, dict[str, str]]:
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, **overrides)
    assert created["errors"] == [], created
    return created["integration"]["id"], objects


def by_object(mappings: list[dict]) -> dict[str, dict]:
    return {m["object"]["name"]: m for m in mappings}


# --------------------------------------------------------------------------- mappableObjects


async def test_mappable_objects_lists_main_objects_each_followed_by_its_sub_objects(gql):
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


async def test_mappable_objects_is_empty_without_objects(gql):
    assert (await gql(MAPPABLE))["mappableObjects"] == []


# ----------------------------------------------------------------------------- setDoorMapping


async def test_mapping_is_stored_by_name_and_answered_resolved(gql, connector):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    assert result["errors"] == [] and result["warnings"] == []
    assert result["mapping"] == {
        "object": {"id": objects["Studio building"], "name": "Studio building"},
        "componentNames": STUDIO_DOORS,
        "doors": [{"name": "Studio building main door", "id": "duinpark-studio-main", "online": True},
                  {"name": "Studio building side door", "id": "duinpark-studio-side", "online": True}],
        "warnings": [],
    }
    assert await door_mappings(gql, ident) == [result["mapping"]]


async def test_mapping_again_replaces_the_names_and_duplicates_count_once(gql, connector):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    result = await mapping(gql, ident, objects["Studio building"], [" Meeting room door ", "Meeting room door"])
    assert result["errors"] == []
    assert result["mapping"]["componentNames"] == ["Meeting room door"]
    [stored] = await door_mappings(gql, ident)
    assert stored["componentNames"] == ["Meeting room door"]


async def test_unknown_names_are_refused_with_the_known_names_and_nothing_is_stored(gql, connector):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    before = await door_mappings(gql, ident)
    for names in (["Front door"], ["Studio building main door", "Front door"], ["studio building main door"]):
        refused = await mapping(gql, ident, objects["Studio building"], names)
        assert refused["mapping"] is None
        [error] = refused["errors"]
        assert (error["field"], error["code"]) == ("componentNames", "UNKNOWN_DOOR")
        assert repr(names[-1]) in error["message"]
        assert "Known doors: " + ", ".join(KNOWN) + "." in error["message"], error["message"]
        refused = await mapping(gql, ident, objects["Meeting room"], names)
        assert refused["errors"][0]["code"] == "UNKNOWN_DOOR"
    assert await door_mappings(gql, ident) == before


@pytest.mark.parametrize("names", [[""], ["  "], ["Meeting room door", " "]])
async def test_blank_names_are_refused_not_read_as_removal(gql, connector, names):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    refused = await mapping(gql, ident, objects["Meeting room"], names)
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("componentNames", "INVALID")]
    assert [m["componentNames"] for m in await door_mappings(gql, ident)] == [["Meeting room door"]]


async def test_an_empty_list_removes_the_mapping(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    calls_before = await sandbox_calls(sandbox)
    removed = await mapping(gql, ident, objects["Studio building"], [])
    assert removed == {"mapping": None, "warnings": [], "errors": []}
    assert await sandbox_calls(sandbox) == calls_before  # removing needs no door list
    assert [m["object"]["name"] for m in await door_mappings(gql, ident)] == ["Meeting room"]
    again = await mapping(gql, ident, objects["Studio building"], [])  # nothing to remove: fine
    assert again["errors"] == []


async def test_an_active_integration_cannot_lose_its_last_mapping(gql, connector):
    ident, objects = await configured(gql)
    refused = await mapping(gql, ident, objects["Studio building"], [])
    assert [(e["field"], e["code"]) for e in refused["errors"]] == [("componentNames", "REQUIRED")]
    assert "deactivate" in refused["errors"][0]["message"]
    assert [m["componentNames"] for m in await door_mappings(gql, ident)] == [STUDIO_DOORS]
    # With a second mapping, the first may go.
    assert (await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"]))["errors"] == []
    assert (await mapping(gql, ident, objects["Studio building"], []))["errors"] == []
    assert [m["object"]["name"] for m in await door_mappings(gql, ident)] == ["Meeting room"]


@pytest.mark.parametrize("fault", [
    {"mode": "status", "status": 503, "count": 10},
    {"mode": "hang", "seconds": 5, "count": 10},
])
async def test_resivo_unreachable_stores_unchecked_with_a_warning(gql, connector, sandbox, fault):
    ident, objects = await set_up(gql)
    await add_fault(sandbox, **fault)
    result = await mapping(gql, ident, objects["Studio 1"], ["Studio building main door", "Not checked door"])
    assert result["errors"] == []
    [warning] = result["warnings"]
    assert warning.startswith("The door list could not be fetched (Resivo ") and "stored unchecked" in warning
    assert result["mapping"]["componentNames"] == ["Studio building main door", "Not checked door"]
    assert [d["id"] for d in result["mapping"]["doors"]] == [None, None]
    await sandbox.delete("/_sandbox/faults")
    [stored] = await door_mappings(gql, ident)
    assert stored["object"]["name"] == "Studio 1"
    assert stored["warnings"] == ["Door 'Not checked door' does not exist on site 'Duinpark' (demo-site)."]


async def test_rejected_credentials_store_unchecked_with_a_warning_that_says_so(gql, connector):
    ident, objects = await set_up(gql, clientSecret="not-the-secret-93b2")
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert result["errors"] == []
    assert result["warnings"] == [
        "The door list could not be fetched (Client id or secret rejected by Resivo: check the Client ID and "
        "Client secret on the Authentication tab.); the names were stored unchecked."]


@pytest.mark.parametrize("ident, object_key, field, code", [
    ("424242", "Meeting room", "integrationId", "NOT_FOUND"),
    ("x", "Meeting room", "integrationId", "INVALID"),
    (None, "424242", "objectId", "NOT_FOUND"),
])
async def test_mapping_for_an_unknown_integration_or_object(gql, connector, ident, object_key, field, code):
    real, objects = await set_up(gql)
    object_id = objects.get(object_key, object_key)
    result = await mapping(gql, ident or real, object_id, ["Meeting room door"])
    assert [(e["field"], e["code"]) for e in result["errors"]] == [(field, code)]
    assert await door_mappings(gql, real) == []


async def test_mapping_warns_at_once_about_an_offline_door(gql, connector):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Meeting room"], ["Sauna door", "Meeting room door"])
    assert result["errors"] == []
    assert result["mapping"]["doors"][0] == {"name": "Sauna door", "id": "duinpark-sauna", "online": False}
    assert result["warnings"] == result["mapping"]["warnings"] == [
        "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; Resivo cannot open it remotely."]


async def test_without_a_site_the_qualified_name_is_the_one_to_map(gql, connector):
    ident, objects = await set_up(gql, siteId=None)
    refused = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert refused["errors"][0]["code"] == "UNKNOWN_DOOR"
    assert "Duinpark / Meeting room door" in refused["errors"][0]["message"]
    assert "Strandhuis Noordwijk / Meeting room door" in refused["errors"][0]["message"]
    result = await mapping(gql, ident, objects["Meeting room"], ["Strandhuis Noordwijk / Meeting room door"])
    assert result["errors"] == [] and result["warnings"] == []
    assert result["mapping"]["doors"] == [
        {"name": "Strandhuis Noordwijk / Meeting room door", "id": "strandhuis-meeting-room", "online": True}]


async def test_doors_of_two_sites_in_one_mapping_are_a_warning(gql, connector):
    ident, objects = await set_up(gql, siteId=None)
    result = await mapping(gql, ident, objects["Meeting room"], ["Main entrance", "Studio building main door"])
    assert result["errors"] == []
    assert any("different sites" in w for w in result["warnings"]), result


# ------------------------------------------------------------------------------ doorMappings


async def test_door_mappings_without_any_mapping_ask_resivo_nothing(gql, connector, sandbox):
    ident, _ = await set_up(gql)
    assert await door_mappings(gql, ident) == []
    assert (await sandbox_calls(sandbox)) == {}


async def test_door_mappings_resolve_every_object_and_fetch_doors_once(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    await mapping(gql, ident, objects["Studio 2"], ["Meeting room door"])
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    before = await sandbox_calls(sandbox)
    listed = await door_mappings(gql, ident)
    assert [(m["object"]["name"], [d["id"] for d in m["doors"]], m["warnings"]) for m in listed] == [
        ("Meeting room", ["duinpark-meeting-room"], []),
        ("Studio 2", ["duinpark-meeting-room"], []),
        ("Studio building", ["duinpark-studio-main", "duinpark-studio-side"], []),
    ]
    after = await sandbox_calls(sandbox)
    assert after["list_components"] - before["list_components"] == 1  # one look-up for every mapping


async def test_door_mappings_warn_about_a_door_that_no_longer_exists(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    response = await sandbox.delete("/_sandbox/sites/demo-site/components/duinpark-studio-side")
    assert response.status_code == 204
    [listed] = await door_mappings(gql, ident)
    assert listed["componentNames"] == STUDIO_DOORS  # the stored names stay as the admin chose them
    assert listed["doors"] == [{"name": "Studio building main door", "id": "duinpark-studio-main", "online": True},
                               {"name": "Studio building side door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door 'Studio building side door' does not exist on site 'Duinpark' (demo-site)."]


async def test_door_mappings_warn_about_a_renamed_door(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    await sandbox.patch("/_sandbox/sites/demo-site/components/duinpark-meeting-room",
                        json={"displayName": "Boardroom door"})
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"][0]["id"] is None
    assert "'Meeting room door' does not exist" in listed["warnings"][0]


async def test_door_mappings_warn_about_a_duplicated_display_name(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    response = await sandbox.post("/_sandbox/sites/demo-site/components",
                                  json={"id": "duinpark-meeting-room-2", "displayName": "Meeting room door"})
    assert response.status_code == 201
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door name 'Meeting room door' is used by 2 components on site 'Duinpark' "
                                  "(demo-site); make the display names unique in Resivo."]


async def test_door_mappings_warn_about_an_offline_door(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door", "Sauna door"])
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"][1] == {"name": "Sauna door", "id": "duinpark-sauna", "online": False}
    assert listed["warnings"] == [
        "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; Resivo cannot open it remotely."]
    # Back online: the warning goes.
    await sandbox.patch("/_sandbox/sites/demo-site/components/duinpark-sauna", json={"online": True})
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == [] and listed["doors"][1]["online"] is True


async def test_door_mappings_with_resivo_down_still_list_the_names(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    await add_fault(sandbox, mode="status", status=503, count=10)
    [listed] = await door_mappings(gql, ident)
    assert listed["componentNames"] == ["Meeting room door"]
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"][0].startswith("Doors could not be checked: Resivo answered 503")


# ------------------------------------------------------------------------ component id change


async def test_mapping_by_name_survives_a_component_id_change(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    response = await sandbox.post("/_sandbox/sites/demo-site/components/duinpark-studio-main/reassign-id")
    assert response.status_code == 200, response.text
    new_id = response.json()["id"]
    assert new_id != "duinpark-studio-main" and response.json()["previousId"] == "duinpark-studio-main"
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == []
    assert [d["id"] for d in listed["doors"]] == [new_id, "duinpark-studio-side"]
    assert listed["componentNames"] == STUDIO_DOORS


async def test_setting_a_mapping_answers_with_the_current_ids(gql, connector, sandbox):
    ident, objects = await set_up(gql)
    response = await sandbox.post("/_sandbox/sites/demo-site/components/duinpark-meeting-room/reassign-id")
    new_id = response.json()["id"]
    result = await gql(SET_MAPPING, {"i": {"integrationId": ident, "objectId": objects["Meeting room"],
                                           "componentNames": ["Meeting room door"]}})
    assert result["setDoorMapping"]["mapping"]["doors"][0]["id"] == new_id
