"""Resivo's doors on the Mapping tab and in the preview: site-qualified names without a Site ID,
doors of two sites, a component whose id changes at Resivo, and the warnings about components
renamed, removed, duplicated or offline at the sandbox."""

import pytest

from tests.door_access.helpers import (
    ERRORS,
    create_booking,
    create_booking_field,
    create_integration,
    create_objects,
    future,
    set_active,
    set_status,
)
from tests.resivo.host_helpers import (
    DEMO_CREDENTIALS,
    STUDIO_DOORS,
    configured_resivo,
    set_credentials,
)

pytestmark = pytest.mark.anyio

SET_MAPPING = (
    "mutation($i: SetDoorMappingInput!) { setDoorMapping(input: $i) {"
    " mapping { object { id name } doorNames doors { name id online } warnings }"
    f" warnings {ERRORS} }} }}"
)
DOOR_MAPPINGS = (
    "query($id: ID!) { doorIntegration(id: $id) { doorMappings {"
    " object { id name } doorNames doors { name id online } warnings } } }"
)
PREVIEW = (
    "query($id: ID!) { previewBookingAccess(bookingId: $id) { integration { id } action mappedObject { name }"
    " doorNames doors { name id online } locationId problems warnings } }"
)
MAIN = {"name": "Studio building main door", "id": "duinpark-studio-main", "online": True}
SIDE = {"name": "Studio building side door", "id": "duinpark-studio-side", "online": True}
SAUNA_OFFLINE = "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; it cannot be opened remotely."
COMPONENTS = "/_sandbox/sites/demo-site/components"


@pytest.fixture
def env_overrides():
    return {"RESIVO_READ_TIMEOUT": "0.3", "RESIVO_CONNECT_TIMEOUT": "0.2"}


async def set_up(gql, **credentials) -> tuple[str, dict[str, str]]:
    """Objects and an inactive Resivo integration with the demo credential, ``credentials``
    changed (None: left out)."""
    await create_booking_field(gql)
    objects = await create_objects(gql)
    created = await create_integration(gql, backend="resivo")
    assert created["errors"] == [], created
    ident = created["integration"]["id"]
    values = {k: v for k, v in {**DEMO_CREDENTIALS, **credentials}.items() if v is not None}
    assert (await set_credentials(gql, ident, **values))["errors"] == []
    return ident, objects


async def mapping(gql, integration_id, object_id, names) -> dict:
    data = await gql(SET_MAPPING, {"i": {"integrationId": integration_id, "objectId": object_id, "doorNames": names}})
    return data["setDoorMapping"]


async def door_mappings(gql, integration_id) -> list[dict]:
    return (await gql(DOOR_MAPPINGS, {"id": integration_id}))["doorIntegration"]["doorMappings"]


async def preview(gql, booking_id) -> list[dict]:
    return (await gql(PREVIEW, {"id": booking_id}))["previewBookingAccess"]


async def reassign_id(sandbox, component_id: str) -> str:
    response = await sandbox.admin.post(f"{COMPONENTS}/{component_id}/reassign-id")
    assert response.status_code == 200, response.text
    assert response.json()["previousId"] == component_id
    new_id = response.json()["id"]
    assert new_id != component_id
    return new_id


# ------------------------------------------------------------------------------ sites


async def test_without_a_site_id_the_site_qualified_name_is_the_one_to_map(gql, wired_sandbox):
    ident, objects = await set_up(gql, siteId=None)
    refused = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    [error] = refused["errors"]
    assert (error["field"], error["code"]) == ("doorNames", "UNKNOWN_DOOR")
    assert "Duinpark / Meeting room door" in error["message"]
    assert "Strandhuis Noordwijk / Meeting room door" in error["message"]
    result = await mapping(gql, ident, objects["Meeting room"], ["Strandhuis Noordwijk / Meeting room door"])
    assert result["errors"] == [] and result["warnings"] == []
    assert result["mapping"]["doors"] == [
        {"name": "Strandhuis Noordwijk / Meeting room door", "id": "strandhuis-meeting-room", "online": True}]
    assert (await door_mappings(gql, ident))[0]["warnings"] == []


async def test_without_a_site_id_access_is_made_at_the_site_of_the_mapped_doors(gql, wired_sandbox):
    ident, objects = await set_up(gql, siteId=None)
    assert (await mapping(gql, ident, objects["Meeting room"], ["Main entrance"]))["errors"] == []
    assert (await set_active(gql, ident))["errors"] == []
    made = await create_booking(gql, objects["Meeting room"], future(10), future(12))
    [plan] = await preview(gql, made["id"])
    assert (plan["locationId"], plan["problems"]) == ("strandhuis-site", [])
    confirmed = await set_status(gql, made["id"], "confirmed")
    assert confirmed["access"][0]["state"] == "ACTIVE", confirmed["access"]
    [made_set] = await wired_sandbox.sets()
    assert (made_set["siteId"], made_set["componentIds"]) == ("strandhuis-site", ["strandhuis-main"])


async def test_doors_of_two_sites_in_one_mapping_are_stored_with_a_warning_and_stop_a_grant(gql, wired_sandbox):
    ident, objects = await set_up(gql, siteId=None)
    result = await mapping(gql, ident, objects["Meeting room"], ["Main entrance", "Studio building main door"])
    assert result["errors"] == []
    two_sites = "The mapped doors are in different places (Duinpark, Strandhuis Noordwijk)"
    assert any(w.startswith(two_sites) for w in result["warnings"]), result
    [listed] = await door_mappings(gql, ident)
    assert any(w.startswith(two_sites) for w in listed["warnings"]), listed
    assert (await set_active(gql, ident))["errors"] == []
    made = await create_booking(gql, objects["Meeting room"], future(10), future(12))
    [plan] = await preview(gql, made["id"])
    assert plan["locationId"] is None
    assert any(p.startswith(two_sites) for p in plan["problems"]), plan
    confirmed = await set_status(gql, made["id"], "confirmed")
    [access] = confirmed["access"]
    assert access["state"] == "FAILED" and "different places" in access["lastError"], access
    assert await wired_sandbox.sets() == []  # nothing was made at either site


async def test_each_integration_previews_at_its_own_site(gql, wired_sandbox):
    first, objects = await configured_resivo(gql)
    created = await create_integration(gql, backend="resivo", name="Strandhuis", triggerStatuses=["paid"],
                                       defaultLanguage="en")
    second = created["integration"]["id"]
    assert (await set_credentials(gql, second, **{**DEMO_CREDENTIALS, "siteId": "strandhuis-site"}))["errors"] == []
    assert (await mapping(gql, second, objects["Studio building"], ["Main entrance"]))["errors"] == []
    assert (await set_active(gql, second))["errors"] == []
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    plans = await preview(gql, made["id"])
    assert [(p["integration"]["id"], p["locationId"], [d["id"] for d in p["doors"]]) for p in plans] == [
        (first, "demo-site", ["duinpark-studio-main", "duinpark-studio-side"]),
        (second, "strandhuis-site", ["strandhuis-main"]),
    ]
    assert await wired_sandbox.sets() == []  # a preview makes nothing


# ------------------------------------------------------------------------ component id change


async def test_a_mapping_by_name_follows_a_component_id_change(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    assert (await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS))["errors"] == []
    new_id = await reassign_id(wired_sandbox, "duinpark-studio-main")
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == []
    assert listed["doorNames"] == STUDIO_DOORS
    assert [d["id"] for d in listed["doors"]] == [new_id, "duinpark-studio-side"]


async def test_setting_a_mapping_answers_with_the_current_ids(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    new_id = await reassign_id(wired_sandbox, "duinpark-meeting-room")
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert result["mapping"]["doors"] == [{"name": "Meeting room door", "id": new_id, "online": True}]


async def test_preview_and_access_follow_a_component_id_change(gql, wired_sandbox):
    _, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    new_id = await reassign_id(wired_sandbox, "duinpark-studio-side")
    [plan] = await preview(gql, made["id"])
    assert [d["id"] for d in plan["doors"]] == ["duinpark-studio-main", new_id]
    assert plan["problems"] == []
    confirmed = await set_status(gql, made["id"], "confirmed")
    assert confirmed["access"][0]["state"] == "ACTIVE"
    [made_set] = await wired_sandbox.sets()
    assert made_set["componentIds"] == ["duinpark-studio-main", new_id]


# ------------------------------------------------------------------------------ warnings


async def test_door_mappings_look_doors_up_once_for_every_mapping(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    for name, doors in (("Studio building", STUDIO_DOORS), ("Studio 2", ["Meeting room door"]),
                        ("Meeting room", ["Meeting room door"])):
        assert (await mapping(gql, ident, objects[name], doors))["errors"] == []
    before = (await wired_sandbox.stats())["calls"]
    listed = await door_mappings(gql, ident)
    assert [(m["object"]["name"], [d["id"] for d in m["doors"]], m["warnings"]) for m in listed] == [
        ("Meeting room", ["duinpark-meeting-room"], []),
        ("Studio 2", ["duinpark-meeting-room"], []),
        ("Studio building", ["duinpark-studio-main", "duinpark-studio-side"], []),
    ]
    after = (await wired_sandbox.stats())["calls"]
    assert after["list_components"] - before["list_components"] == 1


async def test_door_mappings_warn_about_a_removed_component(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Studio building"], STUDIO_DOORS)
    response = await wired_sandbox.admin.delete(f"{COMPONENTS}/duinpark-studio-side")
    assert response.status_code == 204
    [listed] = await door_mappings(gql, ident)
    assert listed["doorNames"] == STUDIO_DOORS  # the stored names stay as the admin chose them
    assert listed["doors"] == [MAIN, {"name": "Studio building side door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door 'Studio building side door' does not exist on site 'Duinpark' (demo-site)."]


async def test_door_mappings_warn_about_a_renamed_component(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    await wired_sandbox.admin.patch(f"{COMPONENTS}/duinpark-meeting-room", json={"displayName": "Boardroom door"})
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door 'Meeting room door' does not exist on site 'Duinpark' (demo-site)."]
    # Mapped again under the new name, it resolves.
    assert (await mapping(gql, ident, objects["Meeting room"], ["Boardroom door"]))["warnings"] == []


async def test_door_mappings_warn_about_a_duplicated_display_name(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    response = await wired_sandbox.admin.post(COMPONENTS, json={"id": "duinpark-meeting-room-2",
                                                                "displayName": "Meeting room door"})
    assert response.status_code == 201
    [listed] = await door_mappings(gql, ident)
    assert listed["doors"] == [{"name": "Meeting room door", "id": None, "online": None}]
    assert listed["warnings"] == ["Door name 'Meeting room door' is used by 2 doors on site 'Duinpark' (demo-site); "
                                  "make the names unique at the lock system."]


async def test_mapping_an_offline_component_warns_at_once_and_until_it_is_back(gql, wired_sandbox):
    ident, objects = await set_up(gql)
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door", "Sauna door"])
    assert result["errors"] == []
    assert result["mapping"]["doors"][1] == {"name": "Sauna door", "id": "duinpark-sauna", "online": False}
    assert result["warnings"] == result["mapping"]["warnings"] == [SAUNA_OFFLINE]
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == [SAUNA_OFFLINE]
    # Back online: the warning goes.
    await wired_sandbox.admin.patch(f"{COMPONENTS}/duinpark-sauna", json={"online": True})
    [listed] = await door_mappings(gql, ident)
    assert listed["warnings"] == [] and listed["doors"][1]["online"] is True


async def test_preview_warns_about_a_removed_component_and_an_offline_one(gql, wired_sandbox):
    ident, objects = await configured_resivo(gql)
    assert (await mapping(gql, ident, objects["Studio 2"], ["Meeting room door", "Sauna door"]))["errors"] == []
    await wired_sandbox.admin.delete(f"{COMPONENTS}/duinpark-studio-side")
    one = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    two = await create_booking(gql, objects["Studio 2"], future(10), future(12))
    [plan_one] = await preview(gql, one["id"])
    assert plan_one["doors"] == [MAIN, {"name": "Studio building side door", "id": None, "online": None}]
    assert plan_one["problems"] == []  # the main door still opens
    assert plan_one["warnings"] == ["Door 'Studio building side door' does not exist on site 'Duinpark' (demo-site)."]
    [plan_two] = await preview(gql, two["id"])
    assert (plan_two["problems"], plan_two["warnings"]) == ([], [SAUNA_OFFLINE])


# ------------------------------------------------------------------- Resivo not answering


@pytest.mark.parametrize("fault", [
    {"mode": "status", "status": 503, "count": 10},
    {"mode": "hang", "seconds": 5, "count": 10},
])
async def test_resivo_unreachable_stores_unchecked_and_checks_later(gql, wired_sandbox, fault):
    ident, objects = await set_up(gql)
    await wired_sandbox.fault(**fault)
    result = await mapping(gql, ident, objects["Studio 1"], ["Studio building main door", "Not checked door"])
    assert result["errors"] == []
    [warning] = result["warnings"]
    assert warning.startswith("The door list could not be fetched (Resivo ") and "stored unchecked" in warning
    assert [d["id"] for d in result["mapping"]["doors"]] == [None, None]
    await wired_sandbox.admin.delete("/_sandbox/faults")
    [stored] = await door_mappings(gql, ident)
    assert stored["doorNames"] == ["Studio building main door", "Not checked door"]
    assert stored["warnings"] == ["Door 'Not checked door' does not exist on site 'Duinpark' (demo-site)."]


async def test_rejected_credentials_store_unchecked_with_a_warning_that_says_so(gql, wired_sandbox):
    ident, objects = await set_up(gql, clientSecret="not-the-secret-93b2")
    result = await mapping(gql, ident, objects["Meeting room"], ["Meeting room door"])
    assert result["errors"] == []
    assert result["warnings"] == [
        "The door list could not be fetched (Client id or secret rejected by Resivo: check the Client ID and "
        "Client secret on the Authentication tab.); the names were stored unchecked."]
    assert "not-the-secret-93b2" not in str(result)


async def test_with_resivo_down_mappings_and_preview_still_show_the_names(gql, wired_sandbox):
    ident, objects = await configured_resivo(gql)
    made = await create_booking(gql, objects["Studio 1"], future(10), future(12))
    await wired_sandbox.fault(mode="status", status=503, count=10)
    [listed] = await door_mappings(gql, ident)
    assert listed["doorNames"] == STUDIO_DOORS
    assert listed["doors"] == [{"name": n, "id": None, "online": None} for n in STUDIO_DOORS]
    assert listed["warnings"][0].startswith("Doors could not be checked: Resivo answered 503"), listed
    [plan] = await preview(gql, made["id"])
    assert plan["doors"] == listed["doors"]
    assert plan["problems"][0].startswith("The doors could not be looked up: Resivo answered 503"), plan
