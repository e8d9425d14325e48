"""The Authentication tab of a Salto KS integration over GraphQL: setSaltoKsCredentials (what it
accepts, refuses, keeps and clears), Resolve site ID, Test / request access (the core's
testDoorConnection) and what activation needs — against the sandbox wired to the host."""

import pytest
from sqlalchemy import select

from addon.base.public import AuditEvent
from addon.salto_ks.models import SaltoKsCredentials
from tests.door_access.helpers import create_integration, set_active
from tests.salto_ks.conftest import OTHER_SITE_UID, SITE_ID, SITE_UID
from tests.salto_ks.host_helpers import (
    DEMO_CREDENTIALS,
    TEST_CONNECTION,
    configured_integration,
    get_pin,
    new_integration,
    resolve_site,
    set_credentials,
    set_pin,
    settings_of,
)

pytestmark = pytest.mark.anyio

REQUIRED_FIELDS = ["environment", "password", "siteUid", "username"]


def fields_of(errors: list[dict]) -> list[tuple[str | None, str]]:
    return sorted((e["field"], e["code"]) for e in errors)


async def stored_rows(host) -> list[SaltoKsCredentials]:
    async with host.database.session() as session:
        return list((await session.execute(select(SaltoKsCredentials))).scalars().all())


# --------------------------------------------------------------------------- the tab


async def test_the_first_save_stores_the_tab_and_answers_it_without_the_password(gql, wired_sandbox):
    ident = await new_integration(gql)
    assert await settings_of(gql, ident) is None
    answer = await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    assert answer["errors"] == []
    assert answer["integration"]["backend"] == "salto_ks" and answer["integration"]["active"] is False
    assert answer["integration"]["saltoKs"] == {
        "environment": "ACCEPTANCE", "environmentConfigured": True, "siteUid": SITE_UID, "siteId": None,
        "siteName": None, "siteTimeZone": None, "username": DEMO_CREDENTIALS["username"], "passwordSet": True,
        "iqId": None, "iqActivated": False, "iqStatus": "IQ is not activated", "currentPinFetchedAt": None}
    assert await settings_of(gql, ident) == answer["integration"]["saltoKs"]
    assert DEMO_CREDENTIALS["password"] not in str(answer)


async def test_the_first_save_lists_every_missing_field_at_once_and_stores_nothing(gql, host):
    ident = await new_integration(gql)
    nothing = await set_credentials(gql, ident)
    assert fields_of(nothing["errors"]) == [(f, "REQUIRED") for f in REQUIRED_FIELDS]
    assert {e["message"] for e in nothing["errors"]} == {"Environment is required.", "Site UID is required.",
                                                         "Username is required.", "Password is required."}
    blanks = await set_credentials(gql, ident, environment=None, siteUid=" ", username="", password="")
    assert fields_of(blanks["errors"]) == fields_of(nothing["errors"])  # each one once
    assert await stored_rows(host) == [] and await settings_of(gql, ident) is None


@pytest.mark.parametrize("values,field,code", [
    ({"siteUid": "NL 6254/340082"}, "siteUid", "INVALID"),
    ({"siteUid": "N" * 65}, "siteUid", "TOO_LONG"),
    ({"username": "u" * 201}, "username", "TOO_LONG"),
    ({"password": "p" * 1025}, "password", "TOO_LONG"),
])
async def test_bad_values_are_refused_and_change_nothing(gql, host, values, field, code):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, **values})
    assert fields_of(answer["errors"]) == [(field, code)] and answer["integration"] is None
    assert await stored_rows(host) == []


async def test_another_backends_integration_is_refused(gql):
    other = await create_integration(gql, backend="resivo", authorizationIdField=None)
    answer = await set_credentials(gql, other["integration"]["id"], **DEMO_CREDENTIALS)
    assert fields_of(answer["errors"]) == [("integrationId", "INVALID")]
    assert "not Salto KS" in answer["errors"][0]["message"]


async def test_later_saves_change_only_what_is_given_and_keep_the_password(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    [before] = await stored_rows(host)
    answer = await set_credentials(gql, ident, username="someone-else@duinpark.example")
    assert answer["errors"] == []
    settings = answer["integration"]["saltoKs"]
    assert settings["username"] == "someone-else@duinpark.example" and settings["passwordSet"] is True
    assert settings["siteId"] == SITE_ID  # same site: still resolved
    [after] = await stored_rows(host)
    assert after.password_encrypted == before.password_encrypted


@pytest.mark.parametrize("change", [{"siteUid": OTHER_SITE_UID}, {"environment": "PRODUCTION"}])
async def test_another_site_uid_or_environment_clears_the_site_id(gql, wired_sandbox, change):
    ident = await configured_integration(gql)
    assert (await settings_of(gql, ident))["siteId"] == SITE_ID
    answer = await set_credentials(gql, ident, **change)
    assert answer["errors"] == []
    settings = answer["integration"]["saltoKs"]
    assert settings["siteId"] is None and settings["siteName"] is None


async def test_an_environment_the_installation_lacks_says_so(gql):
    ident = await new_integration(gql)
    answer = await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, "environment": "PRODUCTION"})
    assert answer["errors"] == [] and answer["integration"]["saltoKs"]["environmentConfigured"] is False
    refused = await resolve_site(gql, ident)
    assert fields_of(refused["errors"]) == [("environment", "NOT_CONFIGURED")]
    message = refused["errors"][0]["message"]
    assert message.startswith("The Production environment is not configured on this installation")
    assert "SALTO_KS_PRODUCTION_IDENTITY_URL" in message


async def test_changes_are_audited_with_the_password_only_as_changed(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    await set_credentials(gql, ident, password="a-new-password")
    async with host.database.session() as session:
        events = (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars().all()
    actions = [e.action for e in events]
    assert "salto_ks.credentials.update" in actions and "salto_ks.site.resolve" in actions
    last = [e for e in events if e.action == "salto_ks.credentials.update"][-1]
    assert last.changes == {"password": ["changed", "changed"]}
    assert "a-new-password" not in str([e.changes for e in events])


# --------------------------------------------------------------------------- Resolve site ID


async def test_resolve_site_id_fills_the_read_only_site_id(gql, wired_sandbox):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, "siteUid": SITE_UID.lower()})
    answer = await resolve_site(gql, ident)
    assert answer["errors"] == []
    settings = answer["integration"]["saltoKs"]
    assert (settings["siteId"], settings["siteName"], settings["siteTimeZone"]) == (
        SITE_ID, "Duinpark", "Europe/Amsterdam")


@pytest.mark.parametrize("values,field,code,words", [
    ({"siteUid": "XX0000000000"}, "siteUid", "SITE_UNKNOWN", "knows no site with Site UID XX0000000000"),
    ({"siteUid": OTHER_SITE_UID}, "siteUid", "SITE_UNKNOWN", "that this account may see"),
    ({"password": "wrong"}, "password", "CREDENTIALS_REJECTED", "Username or Password rejected by Salto KS"),
])
async def test_resolve_site_id_says_what_is_wrong(gql, wired_sandbox, values, field, code, words):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, **values})
    answer = await resolve_site(gql, ident)
    assert fields_of(answer["errors"]) == [(field, code)] and answer["integration"] is None
    assert words in answer["errors"][0]["message"]
    assert (await settings_of(gql, ident))["siteId"] is None


async def test_resolve_site_id_when_salto_ks_is_down(gql, wired_sandbox):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    await wired_sandbox.fault(mode="status", status=503, operation="resolve_site")
    answer = await resolve_site(gql, ident)
    assert fields_of(answer["errors"]) == [(None, "BACKEND_UNAVAILABLE")]
    assert "Salto KS answered 503 to resolve_site" in answer["errors"][0]["message"]


async def test_resolve_site_id_before_the_tab_is_filled_in(gql):
    answer = await resolve_site(gql, await new_integration(gql))
    assert fields_of(answer["errors"]) == [(None, "REQUIRED")]
    assert "Fill in the Authentication tab" in answer["errors"][0]["message"]


# --------------------------------------------------------------------------- Test / request access


async def test_test_request_access_before_and_after_resolving(gql, wired_sandbox):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is True
    assert report["message"].startswith("Connected to site 'Duinpark' (NL6254340082). Locks: 4; offline: 1.")
    assert "Press Resolve site ID" in report["message"] and "Enter the IQ id" in report["message"]
    assert {d["name"]: d["online"] for d in report["doors"]}["Bike shed"] is False
    await resolve_site(gql, ident)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is True and "Press Resolve site ID" not in report["message"]
    assert report["locations"] == [{"id": SITE_ID, "name": "Duinpark", "timeZone": "Europe/Amsterdam"}]


async def test_test_request_access_reports_the_iqs_state(gql, wired_sandbox):
    ident = await configured_integration(gql)
    assert (await get_pin(gql, ident))["errors"] == []
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is True and report["message"].endswith(
        "IQ is not activated: do the IQ OTP setup (GET PIN, then Set PIN).")
    assert (await set_pin(gql, ident, "2580"))["errors"] == []
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is True and report["message"].endswith("IQ is activated")
    await wired_sandbox.set_iq_online(False)
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is False and report["message"].endswith(
        "The IQ is offline: it must be online and linked to the site. Check its power and network, then try again.")


async def test_test_request_access_with_a_wrong_password(gql, wired_sandbox):
    ident = await new_integration(gql)
    await set_credentials(gql, ident, **{**DEMO_CREDENTIALS, "password": "wrong"})
    report = (await gql(TEST_CONNECTION, {"id": ident}))["testDoorConnection"]
    assert report["ok"] is False and report["message"].startswith("Username or Password rejected by Salto KS")


async def test_test_request_access_without_the_tab(gql):
    report = (await gql(TEST_CONNECTION, {"id": await new_integration(gql)}))["testDoorConnection"]
    assert report["ok"] is False and "Environment, Site UID, Username, Password" in report["message"]


async def test_the_door_list_is_the_sites_locks(gql, wired_sandbox):
    ident = await configured_integration(gql)
    doors = (await gql("query($id: ID!) { doors(integrationId: $id) { name online location { id name } } }",
                       {"id": ident}))["doors"]
    assert {d["name"]: d["online"] for d in doors} == {"Studio 1 entrance": True, "Studio 2 entrance": True,
                                                       "Sauna entrance": True, "Bike shed": False}
    assert {d["location"]["id"] for d in doors} == {SITE_ID}


# --------------------------------------------------------------------------- activation


async def test_activation_needs_the_tab_the_site_id_and_an_activated_iq(gql, wired_sandbox):
    preview = "query($id: ID!) { activationPreview(integrationId: $id) { canActivate problems { field code message } } }"
    ident = await new_integration(gql)
    problems = (await gql(preview, {"id": ident}))["activationPreview"]["problems"]
    assert {(p["field"], p["code"]) for p in problems} >= {(f, "REQUIRED") for f in REQUIRED_FIELDS}
    await set_credentials(gql, ident, **DEMO_CREDENTIALS)
    problems = (await gql(preview, {"id": ident}))["activationPreview"]["problems"]
    mine = {p["field"]: p["message"] for p in problems if p["field"] in ("siteId", "iqId", "environment")}
    assert mine == {"siteId": "Press Resolve site ID: the Site ID is required before activation.",
                    "iqId": "The IQ is not activated: do the IQ OTP setup (IQ id, GET PIN, Set PIN) before activation."}
    await resolve_site(gql, ident)
    problems = (await gql(preview, {"id": ident}))["activationPreview"]["problems"]
    assert "siteId" not in {p["field"] for p in problems} and "iqId" in {p["field"] for p in problems}
    refused = await set_active(gql, ident)
    assert "iqId" in {e["field"] for e in refused["errors"]}

