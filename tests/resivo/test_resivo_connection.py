"""testDoorConnection and doors(integrationId) of a Resivo integration against the sandbox, with
its fault modes: Resivo's sites are the report's locations, its components the doors."""

import re

import pytest

from tests.resivo.host_helpers import (
    DEMO_CREDENTIALS,
    create_resivo_integration,
    set_credentials,
)

pytestmark = pytest.mark.anyio

TEST_CONNECTION = (
    "query($id: ID!) { testDoorConnection(integrationId: $id) { ok message durationMs"
    " locations { id name timeZone } doors { id name online location { id name timeZone } } } }"
)
DOORS = "query($id: ID!) { doors(integrationId: $id) { id name online location { id name timeZone } } }"
READ = ("query($id: ID!) { doorIntegration(id: $id) { id name active updatedAt"
        " resivo { siteOwnerId clientId siteId baseUrl updatedAt } } }")

DUINPARK_DOORS = [
    {"id": "duinpark-studio-main", "name": "Studio building main door", "online": True},
    {"id": "duinpark-studio-side", "name": "Studio building side door", "online": True},
    {"id": "duinpark-meeting-room", "name": "Meeting room door", "online": True},
    {"id": "duinpark-sauna", "name": "Sauna door", "online": False},
    {"id": "duinpark-gate", "name": "Car park barrier", "online": True},
]
DUINPARK = {"id": "demo-site", "name": "Duinpark", "timeZone": "Europe/Amsterdam"}
STRANDHUIS = {"id": "strandhuis-site", "name": "Strandhuis Noordwijk", "timeZone": "Europe/Amsterdam"}
SITE_CLIENT = {"clientId": "demo-site-client", "clientSecret": "demo-site-secret"}


@pytest.fixture
def env_overrides():
    # Over ASGI the connector's overall deadline (connect + read) is what bounds a hanging call.
    return {"RESIVO_READ_TIMEOUT": "0.3", "RESIVO_CONNECT_TIMEOUT": "0.2"}


async def integration_id(gql, **credentials) -> str:
    """A Resivo integration with the demo credential, ``credentials`` changed (None: left out)."""
    values = {k: v for k, v in {**DEMO_CREDENTIALS, **credentials}.items() if v is not None}
    return await create_resivo_integration(gql, values, authorizationIdField=None)


async def connection_test(gql, integration_id) -> dict:
    return (await gql(TEST_CONNECTION, {"id": integration_id}))["testDoorConnection"]


async def read(gql, integration_id) -> dict:
    return (await gql(READ, {"id": integration_id}))["doorIntegration"]


def doors_of(listed: list[dict]) -> list[dict]:
    return [{k: d[k] for k in ("id", "name", "online")} for d in listed]


async def calls(sandbox) -> dict[str, int]:
    return (await sandbox.stats())["calls"]


# ------------------------------------------------------------------------ testDoorConnection


async def test_connection_with_a_site_lists_the_owner_sites_and_the_site_doors(gql, wired_sandbox):
    ident = await integration_id(gql)
    before = await read(gql, ident)
    report = await connection_test(gql, ident)
    assert report["ok"] is True
    assert report["message"] == "Connected: 5 door(s) on site demo-site."
    assert report["locations"] == [DUINPARK, STRANDHUIS]
    assert doors_of(report["doors"]) == DUINPARK_DOORS
    assert all(d["location"] == DUINPARK for d in report["doors"])
    assert isinstance(report["durationMs"], int) and 0 <= report["durationMs"] < 5000
    made = await calls(wired_sandbox)
    assert made.get("token") == 1 and made.get("list_sites") == 1 and made.get("list_components") == 1
    assert not made.get("create_remote_access") and not made.get("revoke")
    assert await read(gql, ident) == before  # a test changes nothing


async def test_connection_without_a_site_lists_every_site_and_qualifies_clashing_names(gql, wired_sandbox):
    ident = await integration_id(gql, siteId=None)
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert report["message"] == "Connected: 7 door(s) on 2 site(s)."
    assert report["locations"] == [DUINPARK, STRANDHUIS]
    names = {d["name"]: d["location"]["id"] for d in report["doors"]}
    assert names == {
        "Studio building main door": "demo-site", "Studio building side door": "demo-site",
        "Duinpark / Meeting room door": "demo-site", "Sauna door": "demo-site", "Car park barrier": "demo-site",
        "Main entrance": "strandhuis-site", "Strandhuis Noordwijk / Meeting room door": "strandhuis-site",
    }


@pytest.mark.parametrize("change", [{"clientSecret": "not-the-secret-93b2"}, {"clientId": "who-is-this"}])
async def test_rejected_credentials_say_so_without_the_secret(gql, wired_sandbox, change):
    ident = await integration_id(gql)
    assert (await set_credentials(gql, ident, **change))["errors"] == []
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert report["message"].startswith("Client id or secret rejected"), report["message"]
    assert "Authentication tab" in report["message"]
    assert "not-the-secret-93b2" not in str(report) and "demo-secret" not in str(report)
    assert report["locations"] == [] and report["doors"] == []


@pytest.mark.parametrize("site_id", ["alpen-site", "no-such-site"])
async def test_a_site_outside_the_site_owner_is_named_with_the_owner(gql, wired_sandbox, site_id):
    ident = await integration_id(gql, siteId=site_id)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert f"Site {site_id} does not belong to site owner demo-owner" in report["message"], report["message"]
    assert report["doors"] == []
    assert [s["id"] for s in report["locations"]] == ["demo-site", "strandhuis-site"]  # what the owner does have


async def test_a_site_owner_the_credential_does_not_cover_is_named(gql, wired_sandbox):
    ident = await integration_id(gql, siteOwnerId="alpen-owner", siteId="alpen-site")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "site owner alpen-owner" in report["message"] and "scope" in report["message"], report["message"]


@pytest.mark.parametrize("status", [503, 500, 429])
@pytest.mark.parametrize("operation", ["token", "list_sites", "list_components"])
async def test_resivo_failing_is_reported_not_raised(gql, wired_sandbox, status, operation):
    ident = await integration_id(gql)
    await wired_sandbox.fault(mode="status", status=status, operation=operation, count=10)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert str(status) in report["message"] and operation in report["message"], report["message"]
    assert report["doors"] == []


async def test_a_passing_fault_does_not_stick(gql, wired_sandbox):
    ident = await integration_id(gql)
    await wired_sandbox.fault(mode="status", status=503, operation="token", count=1)
    assert (await connection_test(gql, ident))["ok"] is False
    assert (await connection_test(gql, ident))["ok"] is True


@pytest.mark.parametrize("operation", ["token", "list_sites", "get_site", "list_components"])
async def test_resivo_hanging_is_a_timeout_message_in_bounded_time(gql, wired_sandbox, operation):
    ident = await integration_id(gql)
    await wired_sandbox.fault(mode="hang", seconds=5, operation=operation, count=10)
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert re.search(r"Resivo did not answer within 0?\.\d+ s", report["message"]), report["message"]
    assert operation in report["message"]
    assert report["durationMs"] < 3000  # bounded by the timeout, not by the 5 s hang


async def test_a_site_scoped_credential_works_for_its_site(gql, wired_sandbox):
    ident = await integration_id(gql, **SITE_CLIENT)
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert report["locations"] == [DUINPARK]  # it sees only its own site
    assert doors_of(report["doors"]) == DUINPARK_DOORS


async def test_a_site_scoped_credential_without_a_site_sees_its_one_site(gql, wired_sandbox):
    ident = await integration_id(gql, **SITE_CLIENT, siteId=None)
    report = await connection_test(gql, ident)
    assert report["ok"] is True, report
    assert doors_of(report["doors"]) == DUINPARK_DOORS  # one site: no qualified names


async def test_a_site_scoped_credential_for_another_site_is_refused(gql, wired_sandbox):
    ident = await integration_id(gql, **SITE_CLIENT, siteId="strandhuis-site")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "strandhuis-site" in report["message"] and "demo-owner" in report["message"], report["message"]


async def test_connection_test_without_credentials_says_what_to_fill_in(gql, wired_sandbox):
    created = await gql("mutation { createDoorIntegration(input: {backend: \"resivo\"}) { integration { id } } }")
    report = await connection_test(gql, created["createDoorIntegration"]["integration"]["id"])
    assert report["ok"] is False
    assert "Authentication tab" in report["message"], report["message"]
    assert await calls(wired_sandbox) == {}


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("x", "INVALID")])
async def test_connection_test_of_an_unknown_integration(gql, wired_sandbox, ident, code):
    body = await gql.raw(TEST_CONNECTION, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code


async def test_a_base_url_that_is_not_resivo_says_to_check_it(gql, wired_sandbox):
    # Over ASGI every host reaches the sandbox; a path prefix it does not know answers 404.
    ident = await integration_id(gql, baseUrl="http://resivo.sandbox/not-resivo")
    report = await connection_test(gql, ident)
    assert report["ok"] is False
    assert "404" in report["message"] and "Check the Base URL (http://resivo.sandbox/not-resivo)" in report["message"]


async def test_rejected_credentials_do_not_blame_the_base_url(gql, wired_sandbox):
    ident = await integration_id(gql, clientSecret="wrong")
    assert "Base URL" not in (await connection_test(gql, ident))["message"]


# ----------------------------------------------------------------------------------- doors


async def test_doors_are_the_live_components_of_the_site(gql, wired_sandbox):
    ident = await integration_id(gql)
    doors = (await gql(DOORS, {"id": ident}))["doors"]
    assert doors_of(doors) == DUINPARK_DOORS
    assert all(d["location"] == DUINPARK for d in doors)
    # Live: a renamed, a new and a removed door show on the next call.
    admin = wired_sandbox.admin
    await admin.patch("/_sandbox/sites/demo-site/components/duinpark-gate", json={"displayName": "Barrier"})
    await admin.post("/_sandbox/sites/demo-site/components", json={"id": "duinpark-spa", "displayName": "Spa door"})
    await admin.delete("/_sandbox/sites/demo-site/components/duinpark-sauna")
    doors = (await gql(DOORS, {"id": ident}))["doors"]
    assert [d["name"] for d in doors] == ["Studio building main door", "Studio building side door",
                                          "Meeting room door", "Barrier", "Spa door"]


async def test_doors_without_a_site_cover_every_site_of_the_owner(gql, wired_sandbox):
    ident = await integration_id(gql, siteId=None)
    doors = (await gql(DOORS, {"id": ident}))["doors"]
    assert [(d["name"], d["location"]["id"]) for d in doors] == [
        ("Studio building main door", "demo-site"), ("Studio building side door", "demo-site"),
        ("Duinpark / Meeting room door", "demo-site"), ("Sauna door", "demo-site"),
        ("Car park barrier", "demo-site"), ("Main entrance", "strandhuis-site"),
        ("Strandhuis Noordwijk / Meeting room door", "strandhuis-site"),
    ]
    assert {d["location"]["name"] for d in doors} == {"Duinpark", "Strandhuis Noordwijk"}
    assert len({d["name"] for d in doors}) == len(doors)  # every dropdown entry is unique


@pytest.mark.parametrize("fault", [
    {"mode": "status", "status": 503, "count": 10},
    {"mode": "status", "status": 429, "count": 10},
    {"mode": "hang", "seconds": 5, "count": 10},
])
async def test_doors_unreachable_is_a_backend_unavailable_error(gql, wired_sandbox, fault):
    ident = await integration_id(gql)
    await wired_sandbox.fault(**fault)
    body = await gql.raw(DOORS, {"id": ident})
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BACKEND_UNAVAILABLE"
    assert error["message"].startswith("The door list could not be fetched: Resivo "), error["message"]


@pytest.mark.parametrize("credentials, says", [
    ({"clientSecret": "not-the-secret-93b2"}, "Client id or secret rejected"),
    ({"siteId": "alpen-site"}, "does not cover site owner demo-owner / site alpen-site"),
    ({**SITE_CLIENT, "siteId": "strandhuis-site"}, "site strandhuis-site"),
])
async def test_doors_refused_by_resivo_is_a_backend_refused_error(gql, wired_sandbox, credentials, says):
    # Not "unavailable": trying again will not help, the configuration needs fixing.
    ident = await integration_id(gql, **credentials)
    body = await gql.raw(DOORS, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_REFUSED"
    assert says in body["errors"][0]["message"], body["errors"][0]["message"]
    assert "not-the-secret-93b2" not in str(body)


async def test_doors_without_credentials_is_a_backend_refused_error(gql, wired_sandbox):
    created = await gql("mutation { createDoorIntegration(input: {backend: \"resivo\"}) { integration { id } } }")
    body = await gql.raw(DOORS, {"id": created["createDoorIntegration"]["integration"]["id"]})
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_REFUSED"
    assert "Authentication tab" in body["errors"][0]["message"]
    assert await calls(wired_sandbox) == {}


@pytest.mark.parametrize("ident, code", [("424242", "NOT_FOUND"), ("x", "INVALID")])
async def test_doors_of_an_unknown_integration(gql, wired_sandbox, ident, code):
    body = await gql.raw(DOORS, {"id": ident})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
