"""Issue 4, Preview: previewBookingAccess is a dry run — the mapping that applies (most specific
wins), live door ids, the window in UTC and local time, language and why, recipients, the guest
text and every problem — and nothing is sent to Resivo but the component look-up."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from tests.integration.config_support import (
    PREVIEW,
    activate,
    add_fault,
    create,
    mapping,
    preview,
    sandbox_calls,
)
from tests.integration.helpers import (
    STUDIO_DOORS,
    booking,
    configured,
    create_booking,
    sandbox_sets,
)

pytestmark = pytest.mark.anyio

YEAR = datetime.now(timezone.utc).year + 1
START, END = f"{YEAR}-07-10T15:00:00+02:00", f"{YEAR}-07-12T10:00:00+02:00"  # summer time in Amsterdam
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
LOOK_UP_ONLY = {"token", "get_site", "list_sites", "list_components"}


@pytest.fixture
def settings_overrides():
    return {"reconcile_wait_seconds": 10.0, "resivo_read_timeout": 0.3, "resivo_connect_timeout": 0.2}


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def assert_nothing_sent(sandbox) -> None:
    calls = await sandbox_calls(sandbox)
    assert set(calls) <= LOOK_UP_ONLY, calls
    assert await sandbox_sets(sandbox) == []


async def test_preview_of_a_booking_on_a_sub_object_uses_the_parent_mapping(gql, connector, sandbox):
    ident, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, language="de", email="anna@example.de",
                                phone="+49 30 1234567", reference="R-100")
    [plan] = await preview(gql, made["id"])

    assert plan["integration"] == {"id": ident, "name": "Duinpark doors"}
    assert (plan["action"], plan["reason"]) == ("NONE", "Status 'option' is neither a trigger nor a revoke status.")
    assert plan["bookedObject"] == {"id": objects["Studio 1"], "name": "Studio 1"}
    assert plan["mappedObject"] == {"id": objects["Studio building"], "name": "Studio building"}
    assert plan["componentNames"] == STUDIO_DOORS
    assert plan["doors"] == [{"name": "Studio building main door", "id": "duinpark-studio-main", "online": True},
                             {"name": "Studio building side door", "id": "duinpark-studio-side", "online": True}]
    assert plan["siteId"] == "demo-site"

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
    await assert_nothing_sent(sandbox)
    assert (await booking(gql, made["id"]))["access"] == []  # and no grant either


@pytest.mark.parametrize("language, locale, reason", [
    ("nl-NL", "nl", "the customer's language 'nl-NL'"),
    ("de-CH", "de", "the customer's language 'de-CH'"),
    (None, "nl", "the customer has no language set; the integration's default language"),
    ("ar", "nl", "the customer's language 'ar' is not supported; the integration's default language"),
])
async def test_preview_says_which_language_and_why(gql, connector, language, locale, reason):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 2"], START, END, language=language)
    [plan] = await preview(gql, made["id"])
    assert (plan["locale"], plan["localeReason"]) == (locale, reason)
    if locale == "nl":
        assert plan["message"].startswith("Uw deurtoegang voor Studio 2 is geldig van ")


async def test_a_default_language_without_catalog_falls_back_to_english(gql, connector):
    _, objects = await configured(gql, defaultLanguage="it")
    made = await create_booking(gql, objects["Studio 2"], START, END, language=None)
    [plan] = await preview(gql, made["id"])
    assert plan["locale"] == "en"
    assert plan["localeReason"] == "the customer has no language set; no usable default language, so en"
    assert plan["message"].startswith("Your door access for Studio 2 is valid from ")


async def test_the_sub_object_own_mapping_wins_and_a_deeper_object_inherits_it(gql, connector, sandbox):
    ident, objects = await configured(gql)
    assert (await mapping(gql, ident, objects["Studio 1"], ["Meeting room door"]))["errors"] == []
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
        "Studio 1": ("Studio 1", ["duinpark-meeting-room"]),
        "Studio 2": ("Studio building", ["duinpark-studio-main", "duinpark-studio-side"]),
        "Loft": ("Studio 1", ["duinpark-meeting-room"]),
        "Studio building": ("Studio building", ["duinpark-studio-main", "duinpark-studio-side"]),
    }
    await assert_nothing_sent(sandbox)


async def test_an_object_without_any_mapping_is_a_problem_and_needs_no_look_up(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Meeting room"], START, END)
    calls_before = await sandbox_calls(sandbox)
    [plan] = await preview(gql, made["id"])
    assert plan["mappedObject"] is None and plan["doors"] == [] and plan["componentNames"] == []
    assert plan["problems"] == ["Object 'Meeting room' (and its parent objects) has no door mapping."]
    assert await sandbox_calls(sandbox) == calls_before  # not even the door list


async def test_a_customer_without_email_or_phone_is_a_problem(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, email=None, phone=None)
    [plan] = await preview(gql, made["id"])
    assert plan["recipients"] == []
    assert plan["problems"] == ["Customer 'Guest' has neither an e-mail address nor a phone number to send the "
                                "door link to."]


async def test_a_phone_number_alone_is_a_recipient(gql, connector):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, email=None, phone="+31 6 12345678")
    [plan] = await preview(gql, made["id"])
    assert plan["recipients"] == [{"email": None, "phoneNumber": "+31 6 12345678"}]
    assert plan["problems"] == []


async def test_an_unknown_door_is_a_problem_and_an_offline_door_a_warning(gql, connector, sandbox):
    ident, objects = await configured(gql)
    await mapping(gql, ident, objects["Studio 2"], ["Meeting room door", "Sauna door"])
    await sandbox.delete("/_sandbox/sites/demo-site/components/duinpark-studio-side")
    one = await create_booking(gql, objects["Studio 1"], START, END)
    two = await create_booking(gql, objects["Studio 2"], START, END)
    [plan_one] = await preview(gql, one["id"])
    assert plan_one["doors"][1] == {"name": "Studio building side door", "id": None, "online": None}
    assert plan_one["problems"] == ["Door 'Studio building side door' does not exist on site 'Duinpark' (demo-site)."]
    [plan_two] = await preview(gql, two["id"])
    assert plan_two["problems"] == []
    assert plan_two["warnings"] == [
        "Door 'Sauna door' on site 'Duinpark' (demo-site) is offline; Resivo cannot open it remotely."]
    await assert_nothing_sent(sandbox)


async def test_an_ended_booking_is_a_problem(gql, connector):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], "2020-01-01T15:00:00+01:00", "2020-01-02T10:00:00+01:00")
    [plan] = await preview(gql, made["id"])
    assert any("already ended" in p for p in plan["problems"]), plan["problems"]


async def test_preview_follows_a_component_id_change(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END)
    response = await sandbox.post("/_sandbox/sites/demo-site/components/duinpark-studio-side/reassign-id")
    new_id = response.json()["id"]
    [plan] = await preview(gql, made["id"])
    assert [d["id"] for d in plan["doors"]] == ["duinpark-studio-main", new_id]
    assert plan["problems"] == []


async def test_preview_with_resivo_down_shows_the_problem(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END)
    await add_fault(sandbox, mode="status", status=503, count=10)
    [plan] = await preview(gql, made["id"])
    assert plan["doors"] == [{"name": n, "id": None, "online": None} for n in STUDIO_DOORS]
    assert plan["problems"][0].startswith("The doors could not be looked up at Resivo: Resivo answered 503")


async def test_preview_of_trigger_and_revoke_statuses_and_nothing_extra_is_sent(gql, connector, sandbox):
    _, objects = await configured(gql)
    made = await create_booking(gql, objects["Studio 1"], START, END, status="confirmed")
    assert made["access"][0]["state"] == "ACTIVE"
    calls_before = await sandbox_calls(sandbox)
    sets_before = await sandbox_sets(sandbox)
    [plan] = await preview(gql, made["id"])
    assert (plan["action"], plan["reason"]) == ("GRANT", "Status 'confirmed' is a trigger status.")
    calls_after = await sandbox_calls(sandbox)
    assert {k: v - calls_before.get(k, 0) for k, v in calls_after.items() if v != calls_before.get(k, 0)}.keys() \
        <= LOOK_UP_ONLY
    assert await sandbox_sets(sandbox) == sets_before
    cancelled = await create_booking(gql, objects["Studio 2"], START, END, status="cancelled")
    [plan] = await preview(gql, cancelled["id"])
    assert plan["action"] == "REVOKE"


async def test_preview_covers_each_active_integration_only(gql, connector, sandbox):
    first, objects = await configured(gql)
    second = (await create(gql, name="Strandhuis", siteOwnerId="demo-owner", clientId="demo-client",
                           clientSecret="demo-secret", siteId="strandhuis-site", baseUrl="http://resivo.sandbox",
                           triggerStatuses=["paid"], authorizationIdField="resivo_authorization_id",
                           defaultLanguage="en"))["integration"]["id"]
    await mapping(gql, second, objects["Studio building"], ["Main entrance"])
    inactive = (await create(gql, name="Inactive", siteOwnerId="demo-owner", clientId="demo-client",
                             clientSecret="demo-secret", baseUrl="http://resivo.sandbox"))["integration"]["id"]
    made = await create_booking(gql, objects["Studio 1"], START, END, language="fr")
    assert await preview(gql, made["id"]) != []
    assert len(await preview(gql, made["id"])) == 1  # only the active one so far
    assert (await activate(gql, second))["errors"] == []
    plans = await preview(gql, made["id"])
    assert [(p["integration"]["id"], p["siteId"], [d["id"] for d in p["doors"]], p["locale"]) for p in plans] == [
        (first, "demo-site", ["duinpark-studio-main", "duinpark-studio-side"], "fr"),
        (second, "strandhuis-site", ["strandhuis-main"], "fr"),
    ]
    assert inactive not in {p["integration"]["id"] for p in plans}
    await assert_nothing_sent(sandbox)


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("x", "INVALID")])
async def test_preview_of_an_unknown_booking(gql, ident, code):
    body = await gql.raw(PREVIEW, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
