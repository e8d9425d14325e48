"""The client against recorded wire samples (respx): paths, bodies, parsing, error classes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from addon.resivo.client import (
    Authorization,
    Component,
    Recipient,
    RemoteAccessRequest,
    ResivoConnector,
    Site,
    format_utc,
    parse_utc,
)
from addon.resivo.errors import (
    ResivoAuthenticationError,
    ResivoError,
    ResivoPermanentError,
    ResivoProtocolError,
    ResivoTransientError,
)

pytestmark = pytest.mark.anyio

BASE = "https://api.resivo.test"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.sample-access-token.c2lnbmF0dXJl"
AUTH_ID = "7d3c2b1a-5e4f-4a6b-9c8d-0e1f2a3b4c5d"
AUTH_PATH = f"/v8/sites/demo-site/authorizations/{AUTH_ID}"


@pytest.fixture
def mock(wire_sample):
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth2/token", name="token").mock(
            return_value=httpx.Response(200, json=wire_sample("token"))
        )
        yield router


@pytest.fixture
def client(wire_connector, wire_credentials):
    return wire_connector.client(wire_credentials, context={"booking_id": 42})


def booking_request(**overrides) -> RemoteAccessRequest:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    values = dict(
        display_name="Booking B-2026-0042 Jansen",
        component_ids=["duinpark-studio-main", "duinpark-studio-side"],
        valid_from=datetime(2026, 6, 12, 14, 0, tzinfo=amsterdam),
        valid_to=datetime(2026, 6, 14, 11, 0, tzinfo=amsterdam),
        recipients=[Recipient(email="anna.jansen@example.com", phone_number="+31612345678")],
        locale="nl",
        message="Welkom in Duinpark!",
        legic_app_id=4711,
        external_reference="ireserve:booking:42:integration:1",
    )
    values.update(overrides)
    return RemoteAccessRequest(**values)


# --------------------------------------------------------------------------- time stamps


def test_format_utc_sends_z_and_whole_seconds():
    local = datetime(2026, 6, 12, 14, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert format_utc(local) == "2026-06-12T12:00:00Z"
    assert format_utc(datetime(2026, 1, 5, 8, 30, tzinfo=UTC)) == "2026-01-05T08:30:00Z"


def test_naive_datetime_is_a_programming_error():
    with pytest.raises(ValueError, match="naive"):
        format_utc(datetime(2026, 6, 12, 12, 0))
    with pytest.raises(ValueError, match="naive"):
        booking_request(valid_to=datetime(2026, 6, 14, 9, 0))


def test_parse_utc_gives_aware_utc():
    assert parse_utc("2026-06-12T12:00:00Z") == datetime(2026, 6, 12, 12, tzinfo=UTC)
    assert parse_utc("2026-06-12T14:00:00+02:00").tzinfo == UTC
    assert parse_utc("2026-06-12T12:00:00").tzinfo == UTC


def test_recipient_needs_an_address():
    with pytest.raises(ValueError):
        Recipient()


# --------------------------------------------------------------------------- operations


async def test_token_request_is_form_encoded_client_credentials(mock, client):
    mock.get("/v8/site-owners/demo-owner/sites").mock(return_value=httpx.Response(200, json=[]))
    await client.list_sites()
    token_request = mock["token"].calls.last.request
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": ["demo-client"],
        "client_secret": ["demo-secret"],
    }


async def test_list_sites(mock, client, wire_sample, records):
    route = mock.get("/v8/site-owners/demo-owner/sites").mock(
        return_value=httpx.Response(200, json=wire_sample("sites"))
    )
    sites = await client.list_sites()
    assert sites[0] == Site("demo-site", "Duinpark", "nl", "Europe/Amsterdam")
    assert [s.id for s in sites] == ["demo-site", "strandhuis-site"]
    assert route.calls.last.request.headers["authorization"] == f"Bearer {TOKEN}"
    assert [(r.operation, r.outcome, r.http_status) for r in records] == [
        ("token", "ok", 200),
        ("list_sites", "ok", 200),
    ]
    assert records[1].path == "/v8/site-owners/demo-owner/sites"
    assert records[1].method == "GET"
    assert records[1].context == {"booking_id": 42}
    assert records[1].duration_ms >= 0


async def test_get_site(mock, client, wire_sample):
    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    site = await client.get_site("demo-site")
    assert site == Site("demo-site", "Duinpark", "nl", "Europe/Amsterdam", "demo-owner")


async def test_list_components_asks_for_all(mock, client, wire_sample):
    route = mock.get("/v8/sites/demo-site/components").mock(
        return_value=httpx.Response(200, json=wire_sample("components"))
    )
    components = await client.list_components("demo-site")
    assert route.calls.last.request.url.params["scope"] == "all"
    assert components[0] == Component(
        "duinpark-studio-main", "Studio building main door", True, "door"
    )
    assert [c.display_name for c in components if not c.online] == ["Sauna door"]


async def test_create_remote_access_sends_the_contract_body(mock, client, wire_sample):
    route = mock.post("/v8/sites/demo-site/authorizations/remote-access").mock(
        return_value=httpx.Response(201, json=wire_sample("remote_access_created"))
    )
    authorization = await client.create_remote_access("demo-site", booking_request())
    sent = json.loads(route.calls.last.request.content)
    assert sent == wire_sample("remote_access_request")
    assert authorization == Authorization(
        id=AUTH_ID,
        status="active",
        link="https://sandbox.resivo.invalid/remote-access/Qm9va2luZzQy",
        component_ids=("duinpark-studio-main", "duinpark-studio-side"),
        valid_from=datetime(2026, 6, 12, 12, tzinfo=UTC),
        valid_to=datetime(2026, 6, 14, 9, tzinfo=UTC),
        external_reference="ireserve:booking:42:integration:1",
        display_name="Booking B-2026-0042 Jansen",
    )
    assert authorization.is_active and not authorization.is_gone


async def test_create_leaves_out_optional_fields(mock, client, wire_sample):
    route = mock.post("/v8/sites/demo-site/authorizations/remote-access").mock(
        return_value=httpx.Response(201, json=wire_sample("remote_access_created"))
    )
    request = booking_request(
        message=None,
        legic_app_id=None,
        external_reference=None,
        recipients=[Recipient(phone_number="+31612345678")],
    )
    await client.create_remote_access("demo-site", request)
    sent = json.loads(route.calls.last.request.content)
    assert "message" not in sent and "mobileApp" not in sent and "externalReference" not in sent
    assert sent["recipients"] == [{"phoneNumber": "+31612345678"}]


async def test_find_by_reference(mock, client, wire_sample):
    route = mock.get("/v8/sites/demo-site/authorizations").mock(
        return_value=httpx.Response(200, json=wire_sample("authorizations_by_reference"))
    )
    found = await client.find_by_reference("demo-site", "ireserve:booking:42:integration:1")
    assert route.calls.last.request.url.params["externalReference"] == (
        "ireserve:booking:42:integration:1"
    )
    assert [a.id for a in found] == [AUTH_ID]


async def test_get_authorization_revoked(mock, client, wire_sample):
    mock.get(AUTH_PATH).mock(
        return_value=httpx.Response(200, json=wire_sample("authorization_read"))
    )
    authorization = await client.get_authorization("demo-site", AUTH_ID)
    assert authorization.status == "revoked" and authorization.is_gone


async def test_ids_are_escaped_in_paths(mock, client, wire_sample):
    route = mock.get("/v8/sites/a%2Fb").mock(
        return_value=httpx.Response(200, json=wire_sample("site"))
    )
    await client.get_site("a/b")
    assert route.called


async def test_api_version_is_a_setting(mock, wire_connector, make_credentials, wire_sample):
    client = wire_connector.client(make_credentials(BASE, api_version="v7"))
    route = mock.get("/v7/sites/demo-site").mock(
        return_value=httpx.Response(200, json=wire_sample("site"))
    )
    await client.get_site("demo-site")
    assert route.called


@pytest.mark.parametrize("status", [204, 200])
async def test_revoke(mock, client, status):
    route = mock.delete(f"{AUTH_PATH}/revoke").mock(return_value=httpx.Response(status))
    assert await client.revoke("demo-site", AUTH_ID) is None
    assert route.called


@pytest.mark.parametrize("status", [404, 409])
async def test_revoke_already_gone_is_done(mock, client, wire_sample, records, status):
    mock.delete(f"{AUTH_PATH}/revoke").mock(
        return_value=httpx.Response(status, json=wire_sample(f"error_{status}"))
    )
    assert await client.revoke("demo-site", AUTH_ID) is None
    assert (records[-1].operation, records[-1].http_status, records[-1].outcome) == (
        "revoke",
        status,
        "ok",
    )


async def test_revoke_server_error_is_transient(mock, client, wire_sample):
    mock.delete(f"{AUTH_PATH}/revoke").mock(
        return_value=httpx.Response(503, json=wire_sample("error_503"))
    )
    with pytest.raises(ResivoTransientError):
        await client.revoke("demo-site", AUTH_ID)


# --------------------------------------------------------------------------- token cache


async def test_token_is_cached_across_calls_and_clients(
    mock, wire_connector, wire_credentials, wire_sample
):
    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    first = wire_connector.client(wire_credentials)
    second = wire_connector.client(wire_credentials, context={"other": True})
    for client in (first, second, first):
        await client.get_site("demo-site")
    assert mock["token"].call_count == 1


async def test_token_cache_is_per_secret(mock, wire_connector, make_credentials, wire_sample):
    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    await wire_connector.client(make_credentials(BASE)).get_site("demo-site")
    await wire_connector.client(make_credentials(BASE, client_secret="rotated")).get_site(
        "demo-site"
    )
    assert mock["token"].call_count == 2


async def test_token_refreshed_shortly_before_expiry(mock, client, wire_sample):
    # expires_in 0 leaves no usable lifetime: every call needs a fresh token.
    mock["token"].mock(
        return_value=httpx.Response(200, json={**wire_sample("token"), "expires_in": 0})
    )
    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    await client.get_site("demo-site")
    await client.get_site("demo-site")
    assert mock["token"].call_count == 2


async def test_401_refreshes_token_and_repeats_once(mock, client, wire_sample, records):
    mock["token"].mock(
        side_effect=[
            httpx.Response(200, json={**wire_sample("token"), "access_token": "old-token"}),
            httpx.Response(200, json={**wire_sample("token"), "access_token": "new-token"}),
        ]
    )
    route = mock.get("/v8/sites/demo-site").mock(
        side_effect=[
            httpx.Response(401, json=wire_sample("error_401")),
            httpx.Response(200, json=wire_sample("site")),
        ]
    )
    site = await client.get_site("demo-site")
    assert site.id == "demo-site"
    assert [c.request.headers["authorization"] for c in route.calls] == [
        "Bearer old-token",
        "Bearer new-token",
    ]
    assert [(r.operation, r.http_status, r.outcome) for r in records] == [
        ("token", 200, "ok"),
        ("get_site", 401, "transient"),
        ("token", 200, "ok"),
        ("get_site", 200, "ok"),
    ]


async def test_second_401_is_an_authentication_error(mock, client, wire_sample):
    route = mock.get("/v8/sites/demo-site").mock(
        return_value=httpx.Response(401, json=wire_sample("error_401"))
    )
    with pytest.raises(ResivoAuthenticationError) as caught:
        await client.get_site("demo-site")
    assert route.call_count == 2
    assert mock["token"].call_count == 2
    assert caught.value.status == 401


@pytest.mark.parametrize("status", [400, 401])
async def test_token_endpoint_rejection_is_permanent(mock, client, wire_sample, status, records):
    mock["token"].mock(return_value=httpx.Response(status, json=wire_sample("error_401_token")))
    api = mock.get("/v8/sites/demo-site")
    with pytest.raises(ResivoAuthenticationError, match="client id or secret rejected") as caught:
        await client.get_site("demo-site")
    assert isinstance(caught.value, ResivoPermanentError)
    assert caught.value.status == status and caught.value.operation == "token"
    assert not api.called
    assert [(r.operation, r.outcome) for r in records] == [("token", "permanent")]


async def test_token_endpoint_outage_is_transient(mock, client, wire_sample):
    mock["token"].mock(return_value=httpx.Response(503, json=wire_sample("error_503")))
    with pytest.raises(ResivoTransientError) as caught:
        await client.get_site("demo-site")
    assert caught.value.operation == "token" and caught.value.status == 503


# --------------------------------------------------------------------------- error classes


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
async def test_client_errors_are_permanent_with_resivo_message(
    mock, client, wire_sample, records, status
):
    body = wire_sample(f"error_{status}")
    mock.post("/v8/sites/demo-site/authorizations/remote-access").mock(
        return_value=httpx.Response(status, json=body)
    )
    with pytest.raises(ResivoPermanentError) as caught:
        await client.create_remote_access("demo-site", booking_request())
    error = caught.value
    assert not isinstance(error, ResivoAuthenticationError)
    assert error.status == status
    assert error.message == body["message"]
    assert error.operation == "create_remote_access"
    assert body["message"] in str(error) and str(status) in str(error)
    assert (records[-1].outcome, records[-1].http_status, records[-1].error) == (
        "permanent",
        status,
        str(error),
    )


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_transient(mock, client, wire_sample, records, status):
    sample = "error_500" if status != 503 else "error_503"
    mock.get("/v8/sites/demo-site/components").mock(
        return_value=httpx.Response(status, json=wire_sample(sample))
    )
    with pytest.raises(ResivoTransientError) as caught:
        await client.list_components("demo-site")
    assert caught.value.status == status
    assert caught.value.retry_after is None
    assert caught.value.message == wire_sample(sample)["message"]
    assert records[-1].outcome == "transient"


async def test_429_retry_after_seconds(mock, client, wire_sample):
    mock.get("/v8/sites/demo-site").mock(
        return_value=httpx.Response(
            429, json=wire_sample("error_429"), headers={"Retry-After": "7"}
        )
    )
    with pytest.raises(ResivoTransientError) as caught:
        await client.get_site("demo-site")
    assert caught.value.status == 429
    assert caught.value.retry_after == 7.0
    assert "retry after 7 s" in str(caught.value)


async def test_429_retry_after_http_date(mock, client, wire_sample):
    when = datetime.now(UTC) + timedelta(seconds=120)
    mock.get("/v8/sites/demo-site").mock(
        return_value=httpx.Response(
            429,
            json=wire_sample("error_429"),
            headers={"Retry-After": format_datetime(when, usegmt=True)},
        )
    )
    with pytest.raises(ResivoTransientError) as caught:
        await client.get_site("demo-site")
    assert 115 <= caught.value.retry_after <= 120


@pytest.mark.parametrize("header", [None, "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
async def test_429_odd_retry_after(mock, client, wire_sample, header):
    headers = {"Retry-After": header} if header else {}
    mock.get("/v8/sites/demo-site").mock(
        return_value=httpx.Response(429, json=wire_sample("error_429"), headers=headers)
    )
    with pytest.raises(ResivoTransientError) as caught:
        await client.get_site("demo-site")
    # Missing or garbled: no hint; a date in the past: retry now.
    assert caught.value.retry_after == (0.0 if header and "2015" in header else None)


async def test_error_body_without_json_still_reads(mock, client):
    mock.get("/v8/sites/demo-site").mock(
        return_value=httpx.Response(502, text="<html>Bad gateway</html>")
    )
    with pytest.raises(ResivoTransientError, match="Bad Gateway"):
        await client.get_site("demo-site")


async def test_read_timeout(mock, client, records):
    mock.get("/v8/sites/demo-site").mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(ResivoTransientError, match="Resivo did not answer within 10 s") as caught:
        await client.get_site("demo-site")
    assert caught.value.status is None and caught.value.retry_after is None
    assert (records[-1].http_status, records[-1].outcome) == (None, "transient")
    assert records[-1].error == str(caught.value)


async def test_connect_timeout(mock, client):
    mock.get("/v8/sites/demo-site").mock(side_effect=httpx.ConnectTimeout("timed out"))
    with pytest.raises(
        ResivoTransientError, match="Could not connect to Resivo at api.resivo.test within 5 s"
    ):
        await client.get_site("demo-site")


async def test_connection_error(mock, client, records):
    mock.get("/v8/sites/demo-site").mock(
        side_effect=httpx.ConnectError("[Errno 111] Connection refused")
    )
    with pytest.raises(ResivoTransientError, match="Could not reach Resivo at api.resivo.test"):
        await client.get_site("demo-site")
    assert records[-1].http_status is None


async def test_timeouts_are_configurable(mock, wire_credentials):
    mock.get("/v8/sites/demo-site").mock(side_effect=httpx.ReadTimeout("timed out"))
    async with ResivoConnector(connect_timeout=1, read_timeout=2.5) as connector:
        with pytest.raises(ResivoTransientError, match="within 2.5 s"):
            await connector.client(wire_credentials).get_site("demo-site")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>maintenance</html>"),
        httpx.Response(200, json={"displayName": "no id"}),
        httpx.Response(200, json=[]),
    ],
)
async def test_unexpected_answer_is_a_protocol_error(mock, client, records, response):
    mock.get("/v8/sites/demo-site").mock(return_value=response)
    with pytest.raises(ResivoProtocolError) as caught:
        await client.get_site("demo-site")
    assert isinstance(caught.value, ResivoTransientError)
    assert records[-1].outcome == "transient"


# --------------------------------------------------------------------------- callbacks


async def test_async_on_call_callback(mock, wire_credentials, wire_sample):
    seen = []

    async def on_call(record):
        seen.append(record.operation)

    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    async with ResivoConnector(on_call=on_call) as connector:
        await connector.client(wire_credentials).get_site("demo-site")
    assert seen == ["token", "get_site"]


async def test_failing_callback_does_not_fail_the_call(mock, wire_credentials, wire_sample, caplog):
    def on_call(record):
        raise RuntimeError("log table is gone")

    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    async with ResivoConnector(on_call=on_call) as connector:
        site = await connector.client(wire_credentials).get_site("demo-site")
    assert site.id == "demo-site"
    assert "on_call callback failed" in caplog.text


async def test_with_context_changes_only_the_context(mock, client, wire_sample, records):
    mock.get("/v8/sites/demo-site").mock(return_value=httpx.Response(200, json=wire_sample("site")))
    await client.with_context({"grant_id": 7}).get_site("demo-site")
    assert records[-1].context == {"grant_id": 7}


def test_errors_share_a_base():
    for cls in (
        ResivoTransientError,
        ResivoPermanentError,
        ResivoAuthenticationError,
        ResivoProtocolError,
    ):
        assert issubclass(cls, ResivoError)
