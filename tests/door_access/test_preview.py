"""Preview: previewBookingAccess is a dry run — the mapping that applies (most specific wins),
live door ids, the window in UTC and local time, language and why, recipients, the guest text and
every problem — and nothing is asked of the vendor but the door list."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from tests.door_access.helpers import (
    AUTH_FIELD,
    HOUSE_DOORS,
    booking,
    configured,
    create_booking,
    create_integration,
    set_active,
    set_mapping,
)

pytestmark = pytest.mark.anyio

YEAR = datetime.now(timezone.utc).year + 1
START, END = f"{YEAR}-07-10T15:00:00+02:00", f"{YEAR}-07-12T10:00:00+02:00"  # summer time in Amsterdam
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
PREVIEW = (
    "query($id: ID!) { previewBookingAccess(bookingId: $id) {"
    " integration { id name } action reason bookedObject { id name } mappedObject { id name }"
    " doorNames doors { name id online } locationId"
    " validFrom { utc local timeZone } validTo { utc local timeZone }"
    " locale localeReason recipients { email phoneNumber } displayName message problems warnings } }"
)
HOUSE_RESOLVED = [{"name": "Main door", "id": "d-main", "online": True},
                  {"name": "Side door", "id": "d-side", "online": True}]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def preview(gql, booking_id) -> list[dict]:
    return (await gql(PREVIEW, {"id": booking_id}))["previewBookingAccess"]


def assert_nothing_sent(vendor) -> None:
    """Only the door list was asked for; no access set was made, read or revoked."""
    assert set(vendor.calls) <= {"list_doors"}, vendor.calls
    assert vendor.sets == {}


async def test_preview_of_a_booking_on_a_sub_object_uses_the_parent_mapping(gql, memory, vendor):
    ident, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, language="de", email="anna@example.de",
                                phone="+49 30 1234567", reference="R-100")
    [plan] = await preview(gql, made["id"])

    assert plan["integration"] == {"id": ident, "name": "Duinpark doors"}
    assert (plan["action"], plan["reason"]) == ("NONE", "Status 'option' is neither a trigger nor a revoke status.")
    assert plan["bookedObject"] == {"id": objects["Studio 1"], "name": "Studio 1"}
    assert plan["mappedObject"] == {"id": objects["Studio building"], "name": "Studio building"}
    assert plan["doorNames"] == HOUSE_DOORS
    assert plan["doors"] == HOUSE_RESOLVED
    assert plan["locationId"] == "house"

    # 30 minutes before the start until the end; UTC and Amsterdam wall time.
    valid_from, valid_to = plan["validFrom"], plan["validTo"]
    assert moment(valid_from["utc"]) == datetime(YEAR, 7, 10, 12, 30, tzinfo=timezone.utc)
    assert moment(valid_from["utc"]).utcoffset() == timedelta(0)
    assert valid_from["local"].startswith(f"{YEAR}-07-10T14:30:00") and valid_from["local"].endswith("+02:00")
    assert moment(valid_to["utc"]) == datetime(YEAR, 7, 12, 8, 0, tzinfo=timezone.utc)
    assert valid_to["local"].startswith(f"{YEAR}-07-12T10:00:00") and valid_to["local"].endswith("+02:00")
    assert valid_from["timeZone"] == valid_to["timeZone"] == "Europe/Amsterdam"

    assert plan["locale"] == "de"
    assert plan["localeReason"] == "the customer's language 'de'"
    assert plan["recipients"] == [{"email": "anna@example.de", "phoneNumber": "+49 30 1234567"}]
    assert plan["displayName"] == "R-100 – Studio 1"
    local_from = datetime(YEAR, 7, 10, 14, 30, tzinfo=AMSTERDAM)
    local_to = datetime(YEAR, 7, 12, 10, 0, tzinfo=AMSTERDAM)
    assert plan["message"] == (f"Ihr Türzugang für Studio 1 gilt von {format_date(local_from, 'full', locale='de')} "
                               f"14:30 bis {format_date(local_to, 'full', locale='de')} 10:00.")
    assert plan["problems"] == [] and plan["warnings"] == []
    assert_nothing_sent(vendor)
    assert (await booking(gql, made["id"]))["access"] == []  # and no grant either


@pytest.mark.parametrize("language, locale, reason", [
    ("nl-NL", "nl", "the customer's language 'nl-NL'"),
    ("de-CH", "de", "the customer's language 'de-CH'"),
    (None, "nl", "the customer has no language set; the integration's default language"),
    ("ar", "nl", "the customer's language 'ar' is not supported; the integration's default language"),
])
async def test_preview_says_which_language_and_why(gql, memory, language, locale, reason):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 2"], START, END, language=language)
    [plan] = await preview(gql, made["id"])
    assert (plan["locale"], plan["localeReason"]) == (locale, reason)
    if locale == "nl":
        assert plan["message"].startswith("Uw deurtoegang voor Studio 2 is geldig van ")


async def test_a_default_language_without_catalog_falls_back_to_english(gql, memory):
    _, objects = await configured(gql, defaultLanguage="it")
    made = await create_booking(gql, objects["Studio 2"], START, END, language=None)
    [plan] = await preview(gql, made["id"])
    assert plan["locale"] == "en"
    assert plan["localeReason"] == "the customer has no language set; no usable default language, so en"
    assert plan["message"].startswith("Your door access for Studio 2 is valid from ")


async def test_the_sub_object_own_mapping_wins_and_a_deeper_object_inherits_it(gql, memory, vendor):
    ident, objects = await configured(gql)
    assert (await set_mapping(gql, ident, objects["Studio 1"], ["Meeting room door"]))["errors"] == []
    loft = await gql("mutation($i: CreateObjectInput!) { createObject(input: $i) { object { id } } }",
                     {"i": {"code": "loft", "name": "Loft", "parentId": objects["Studio 1"]}})
    cases = {"Studio 1": objects["Studio 1"], "Studio 2": objects["Studio 2"],
             "Loft": loft["createObject"]["object"]["id"], "Studio building": objects["Studio building"]}
    seen = {}
    for name, object_id in cases.items():
        made = await create_booking(gql, object_id, START, END)
        [plan] = await preview(gql, made["id"])
        seen[name] = (plan["mappedObject"]["name"], [d["id"] for d in plan["doors"]])
    assert seen == {
        "Studio 1": ("Studio 1", ["d-room"]),
        "Studio 2": ("Studio building", ["d-main", "d-side"]),
        "Loft": ("Studio 1", ["d-room"]),
        "Studio building": ("Studio building", ["d-main", "d-side"]),
    }
    assert_nothing_sent(vendor)


async def test_an_integration_without_a_mapping_for_the_object_does_not_apply(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Meeting room"], START, END, status="confirmed")
    calls_before = dict(vendor.calls)
    [plan] = await preview(gql, made["id"])
    assert plan["action"] == "NONE" and plan["problems"] == []
    assert plan["reason"] == ("Integration 'Duinpark doors' maps no doors for object 'Meeting room' (nor its parent "
                              "objects); it does not apply to this booking.")
    assert plan["mappedObject"] is None and plan["doors"] == [] and plan["doorNames"] == []
    assert plan["locationId"] is None
    assert dict(vendor.calls) == calls_before  # not even the door list


async def test_a_customer_without_email_or_phone_is_a_problem(gql, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, email=None, phone=None)
    [plan] = await preview(gql, made["id"])
    assert plan["recipients"] == []
    assert plan["problems"] == ["Customer 'Guest' has neither an e-mail address nor a phone number to send the "
                                "door link to."]


async def test_a_phone_number_alone_is_a_recipient(gql, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, email=None, phone="+31 6 12345678")
    [plan] = await preview(gql, made["id"])
    assert plan["recipients"] == [{"email": None, "phoneNumber": "+31 6 12345678"}]
    assert plan["problems"] == []


async def test_an_unknown_door_is_a_warning_while_others_resolve_and_an_offline_door_a_warning(gql, memory, vendor):
    ident, objects = await configured(gql)
    await set_mapping(gql, ident, objects["Studio 2"], ["Meeting room door", "Cellar door"])
    vendor.doors = [d for d in vendor.doors if d.name != "Side door"]
    one = await create_booking(gql, objects["Studio 1"], START, END)
    two = await create_booking(gql, objects["Studio 2"], START, END)
    [plan_one] = await preview(gql, one["id"])
    assert plan_one["doors"][1] == {"name": "Side door", "id": None, "online": None}
    # The main door still opens: the missing one is a warning; with no door left it is a problem.
    assert plan_one["problems"] == []
    assert plan_one["warnings"] == ["Door 'Side door' does not exist on the memory lock."]
    vendor.doors = [d for d in vendor.doors if d.name != "Main door"]
    [plan_one] = await preview(gql, one["id"])
    assert plan_one["problems"] == ["Door 'Main door' does not exist on the memory lock.",
                                    "Door 'Side door' does not exist on the memory lock."]
    [plan_two] = await preview(gql, two["id"])
    assert plan_two["problems"] == []
    assert plan_two["warnings"] == ["Door 'Cellar door' on the memory lock is offline; it cannot be opened remotely."]
    assert_nothing_sent(vendor)


async def test_doors_in_two_places_are_a_problem(gql, memory, vendor):
    ident, objects = await configured(gql)
    await set_mapping(gql, ident, objects["Studio 2"], ["Main door", "Barn door"])
    made = await create_booking(gql, objects["Studio 2"], START, END)
    [plan] = await preview(gql, made["id"])
    assert plan["locationId"] is None
    assert plan["problems"] == ["The mapped doors are in different places (Dune house, Old barn); one access can "
                                "only cover one. Map doors of one place."]
    assert_nothing_sent(vendor)


async def test_an_ended_booking_is_a_problem(gql, memory):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2020-01-01T15:00:00+01:00", "2020-01-02T10:00:00+01:00")
    [plan] = await preview(gql, made["id"])
    assert any("already ended" in p for p in plan["problems"]), plan["problems"]


async def test_a_booking_ends_by_the_hosts_clock(gql, memory, clock):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END)
    end = datetime(YEAR, 7, 12, 8, 0, tzinfo=timezone.utc)
    clock.advance((end - clock.now()).total_seconds() - 60)  # a minute before the end: still fine
    [plan] = await preview(gql, made["id"])
    assert plan["problems"] == []
    clock.advance(120)  # a minute after it
    [plan] = await preview(gql, made["id"])
    assert plan["problems"] == ["The booking has already ended; door access can only be given for a window that "
                                "ends in the future."]


async def test_preview_follows_a_door_id_change(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END)
    vendor.change_id("Side door", "d-side-replaced")
    [plan] = await preview(gql, made["id"])
    assert [d["id"] for d in plan["doors"]] == ["d-main", "d-side-replaced"]
    assert plan["problems"] == []


async def test_preview_with_the_vendor_down_shows_the_problem(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END)
    vendor.fail("list_doors", kind="transient", times=10)
    [plan] = await preview(gql, made["id"])
    assert plan["doors"] == [{"name": n, "id": None, "online": None} for n in HOUSE_DOORS]
    assert plan["problems"] == ["The doors could not be looked up: memory lock: The vendor answered 503 to "
                                "list_doors: scripted failure"]


async def test_preview_of_trigger_and_revoke_statuses_and_nothing_extra_is_sent(gql, memory, vendor):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, status="confirmed")
    assert made["access"][0]["state"] == "ACTIVE"
    calls_before = dict(vendor.calls)
    sets_before = {k: s.access for k, s in vendor.sets.items()}
    [plan] = await preview(gql, made["id"])
    assert (plan["action"], plan["reason"]) == ("GRANT", "Status 'confirmed' is a trigger status.")
    changed = {k for k, v in vendor.calls.items() if v != calls_before.get(k, 0)}
    assert changed <= {"list_doors"}, vendor.calls
    assert {k: s.access for k, s in vendor.sets.items()} == sets_before
    cancelled = await create_booking(gql, objects["Studio 2"], START, END, status="cancelled")
    [plan] = await preview(gql, cancelled["id"])
    assert (plan["action"], plan["reason"]) == ("REVOKE", "Status 'cancelled' is a revoke status.")


async def test_preview_covers_each_active_integration_only(gql, memory, vendor):
    first, objects = await configured(gql)
    second = (await create_integration(gql, name="Old barn", triggerStatuses=["paid"], revokeStatuses=[],
                                       defaultLanguage="en"))["integration"]["id"]
    await set_mapping(gql, second, objects["Studio building"], ["Barn door"])
    inactive = (await create_integration(gql, name="Inactive", authorizationIdField=AUTH_FIELD))["integration"]["id"]
    await set_mapping(gql, inactive, objects["Studio building"], ["Side door"])
    made = await create_booking(gql, objects["Studio 1"], START, END, language="fr")
    assert len(await preview(gql, made["id"])) == 1  # only the active one so far
    assert (await set_active(gql, second))["errors"] == []
    plans = await preview(gql, made["id"])
    assert [(p["integration"]["id"], p["locationId"], [d["id"] for d in p["doors"]], p["locale"]) for p in plans] == [
        (first, "house", ["d-main", "d-side"], "fr"),
        (second, "barn", ["d-barn"], "fr"),
    ]
    assert inactive not in {p["integration"]["id"] for p in plans}
    assert_nothing_sent(vendor)


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("x", "INVALID")])
async def test_preview_of_an_unknown_booking(gql, memory, ident, code):
    body = await gql.raw(PREVIEW, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
