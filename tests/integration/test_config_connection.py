"""Issue 4: testResivoConnection and resivoComponents against the sandbox, with its fault modes."""

import re

import pytest

from tests.integration.config_support import (
    COMPONENTS,
    TEST_CONNECTION,
    add_fault,
    connection_test,
    read,
    sandbox_calls,
    update,
)
from tests.integration.helpers import create_integration

pytestmark = pytest.mark.anyio

DUINPARK_DOORS = [
    {"id": "duinpark-studio-main", "name": "Studio building main door", "online": True},
    {"id": "duinpark-studio-side", "name": "Studio building side door", "online": True},
    {"id": "duinpark-meeting-room", "name": "Meeting room door", "online": True},
    {"id": "duinpark-sauna", "name": "Sauna door", "online": False},
    {"id": "duinpark-gate", "name": "Car park barrier", "online": True},
]
DUINPARK = {"id": "demo-site", "name": "Duinpark"}
STRANDHUIS = {"id": "strandhuis-site", "name": "Strandhuis Noordwijk"}


@pytest.fixture
def settings_overrides():
    # Over ASGI the connector's overall deadline (connect + read) is what bounds a hanging call.
    return {"resivo_read_timeout": 0.3, "resivo_connect_timeout": 0.2}


async def integration_id(gql, **overrides) -> str:
    created = await create_integration(gql, authorizationIdField=None, **overrides)
    assert created["errors"] == [], created
    return created["integration"]["id"]


def components_of(report_or_list) -> list[dict]:
    return [{k: c[k] for k in ("id", "name", "online")} for c in report_or_list]


# --------------------------------------------------------------------- testResivoConnection


async def test_connection_with_a_site_lists_the_owner_sites_and_the_site_doors(gql, connector, sandbox):
    ident = await integration_id(gql)
    before = await read(gql, ident)
    report = await connection_test(gql, ident)
    assert report["ok"] is True
    assert report["message"] == "Connected: 5 door(s) on site demo-site."
    assert report["sites"] == [
        {"id": "demo-site", "name": "Duinpark", "defaultLocale": "nl", "timeZone": "Europe/Amsterdam"},
        {"id": "strandhuis-site", "name": "Strandhuis Noordwijk", "defaultLocale": "nl", "timeZone": "Europe/Amsterdam"},
    ]
    assert components_of(report["components"]) == DUINPARK_DOORS
    assert {c["site"]["id"] for c in report["components"]} == {"demo-site"}
    assert report["components"][0]["site"] == DUINPARK
    assert isinstance(report["durationMs"], int) and 0 <= report["durationMs"] < 5000
    calls = await sandbox_calls(sandbox)
    assert calls.get("token") == 1 and calls.get("list_sites") == 1 and calls.get("list_components") == 1
    assert not calls.get("create_remote_access") and not calls.get("revoke")
    assert await read(gql, ident) == before  # a test changes nothing


async def test_connection_without_a_site_lists_every_site_and_qualifies_clashing_names(gql, connector):
    ident = await integration_id(gql, siteId=None)
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert report["message"] == "Connected: 7 door(s) on 2 site(s)."
    names = {c["name"]: c["site"]["id"] for c in report["components"]}
    assert names == {
        "Studio building main door": "demo-site", "Studio building side door": "demo-site",
        "Duinpark / Meeting room door": "demo-site", "Sauna door": "demo-site", "Car park barrier": "demo-site",
        "Main entrance": "strandhuis-site", "Strandhuis Noordwijk / Meeting room door": "strandhuis-site",
    }


@pytest.mark.parametrize("change", [{"clientSecret": "not-the-secret-93b2"}, {"clientId": "who-is-this"}])
async def test_rejected_credentials_say_so_without_the_secret(gql, connector, change):
    ident = await integration_id(gql)
    await update(gql, ident, **change)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert report["message"].startswith("Client id or secret rejected"), report["message"]
    assert "Authentication tab" in report["message"]
    assert "not-the-secret-93b2" not in str(report) and "demo-secret" not in str(report)
    assert report["sites"] == [] and report["components"] == []


@pytest.mark.parametrize("site_id", ["alpen-site", "no-such-site"])
async def test_a_site_outside_the_site_owner_is_named_with_the_owner(gql, connector, site_id):
    ident = await integration_id(gql, siteId=site_id)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert f"Site {site_id} does not belong to site owner demo-owner" in report["message"], report["message"]
    assert report["components"] == []
    assert [s["id"] for s in report["sites"]] == ["demo-site", "strandhuis-site"]  # what the owner does have


async def test_a_site_owner_the_credential_does_not_cover_is_named(gql, connector):
    ident = await integration_id(gql, siteOwnerId="alpen-owner", siteId="alpen-site")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "site owner alpen-owner" in report["message"] and "scope" in report["message"], report["message"]


@pytest.mark.parametrize("status", [503, 500, 429])
@pytest.mark.parametrize("operation", ["token", "list_sites", "list_components"])
async def test_resivo_failing_is_reported_not_raised(gql, connector, sandbox, status, operation):
    ident = await integration_id(gql)
    await add_fault(sandbox, mode="status", status=status, operation=operation, count=10)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert str(status) in report["message"] and operation in report["message"], report["message"]
    assert report["components"] == []


async def test_a_passing_fault_does_not_stick(gql, connector, sandbox):
    ident = await integration_id(gql)
    await add_fault(sandbox, mode="status", status=503, operation="token", count=1)
    assert (await connection_test(gql, ident))["ok"] is False
    assert (await connection_test(gql, ident))["ok"] is True


@pytest.mark.parametrize("operation", ["token", "list_sites", "get_site", "list_components"])
async def test_resivo_hanging_is_a_timeout_message_in_bounded_time(gql, connector, sandbox, operation):
    ident = await integration_id(gql)
    await add_fault(sandbox, mode="hang", seconds=5, operation=operation, count=10)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert re.search(r"Resivo did not answer within 0?\.\d+ s", report["message"]), report["message"]
    assert operation in report["message"]
    assert report["durationMs"] < 3000  # bounded by the timeout, not by the 5 s hang


async def test_a_site_scoped_credential_works_for_its_site(gql, connector):
    ident = await integration_id(gql, clientId="demo-site-client", clientSecret="demo-site-secret")
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert [s["id"] for s in report["sites"]] == ["demo-site"]  # it sees only its own site
    assert components_of(report["components"]) == DUINPARK_DOORS


async def test_a_site_scoped_credential_without_a_site_sees_its_one_site(gql, connector):
    ident = await integration_id(gql, clientId="demo-site-client", clientSecret="demo-site-secret", siteId=None)
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert components_of(report["components"]) == DUINPARK_DOORS  # one site: no qualified names


async def test_a_site_scoped_credential_for_another_site_is_refused(gql, connector):
    ident = await integration_id(gql, clientId="demo-site-client", clientSecret="demo-site-secret",
                                 siteId="strandhuis-site")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "strandhuis-site" in report["message"] and "demo-owner" in report["message"], report["message"]


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("x", "INVALID")])
async def test_connection_test_of_an_unknown_integration(gql, connector, ident, code):
    body = await gql.raw(TEST_CONNECTION, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code


# -------------------------------------------------------------------------- resivoComponents


async def test_components_are_the_live_doors_of_the_site(gql, connector, sandbox):
    ident = await integration_id(gql)
    doors = (await gql(COMPONENTS, {"id": ident}))["resivoComponents"]
    assert components_of(doors) == DUINPARK_DOORS
    assert all(d["site"] == DUINPARK for d in doors)
    # Live: a renamed, a new and a removed door show on the next call.
    await sandbox.patch("/_sandbox/sites/demo-site/components/duinpark-gate", json={"displayName": "Barrier"})
    await sandbox.post("/_sandbox/sites/demo-site/components", json={"id": "duinpark-spa", "displayName": "Spa door"})
    await sandbox.delete("/_sandbox/sites/demo-site/components/duinpark-sauna")
    doors = (await gql(COMPONENTS, {"id": ident}))["resivoComponents"]
    assert [d["name"] for d in doors] == ["Studio building main door", "Studio building side door",
                                          "Meeting room door", "Barrier", "Spa door"]


async def test_components_without_a_site_cover_every_site_of_the_owner(gql, connector):
    ident = await integration_id(gql, siteId=None)
    doors = (await gql(COMPONENTS, {"id": ident}))["resivoComponents"]
    assert [(d["name"], d["site"]["id"]) for d in doors] == [
        ("Studio building main door", "demo-site"), ("Studio building side door", "demo-site"),
        ("Duinpark / Meeting room door", "demo-site"), ("Sauna door", "demo-site"),
        ("Car park barrier", "demo-site"), ("Main entrance", "strandhuis-site"),
        ("Strandhuis Noordwijk / Meeting room door", "strandhuis-site"),
    ]
    assert {d["site"]["name"] for d in doors} == {"Duinpark", "Strandhuis Noordwijk"}
    assert len({d["name"] for d in doors}) == len(doors)  # every dropdown entry is unique


@pytest.mark.parametrize("fault", [
    {"mode": "status", "status": 503, "count": 10},
    {"mode": "hang", "seconds": 5, "count": 10},
])
async def test_components_unreachable_is_a_resivo_unavailable_error(gql, connector, sandbox, fault):
    ident = await integration_id(gql)
    await add_fault(sandbox, **fault)
    body = await gql.raw(COMPONENTS, {"id": ident})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RESIVO_UNAVAILABLE"
    assert error["message"].startswith("The door list could not be fetched: Resivo ")


@pytest.mark.parametrize("overrides, says", [
    ({"clientSecret": "not-the-secret-93b2"}, "Client id or secret rejected"),
    ({"siteId": "alpen-site"}, "does not cover site owner demo-owner / site alpen-site"),
    ({"clientId": "demo-site-client", "clientSecret": "demo-site-secret", "siteId": "strandhuis-site"},
     "site strandhuis-site"),
])
async def test_components_refused_by_resivo_is_a_resivo_refused_error(gql, connector, overrides, says):
    # Not "unavailable": trying again will not help, the configuration needs fixing.
    ident = await integration_id(gql, **overrides)
    body = await gql.raw(COMPONENTS, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "RESIVO_REFUSED"
    assert says in body["errors"][0]["message"], body["errors"][0]["message"]
    assert "not-the-secret-93b2" not in str(body)


async def test_a_base_url_that_is_not_resivo_says_to_check_it(gql, connector):
    # Over ASGI every host reaches the sandbox; a path prefix it does not know answers 404.
    ident = await integration_id(gql, baseUrl="http://resivo.sandbox/not-resivo")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "404" in report["message"] and "Check the Base URL (http://resivo.sandbox/not-resivo)" in report["message"]


async def test_rejected_credentials_do_not_blame_the_base_url(gql, connector):
    ident = await integration_id(gql, clientSecret="wrong")
    assert "Base URL" not in (await connection_test(gql, ident))["message"]
