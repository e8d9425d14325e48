"""The client against recorded wire samples (respx): every call's method, path, query and body,
parsing, the token cache and its 401 refresh, typed errors, Retry-After, timeouts, and that no
password, client secret, token, PIN, IQ secret or OTP reaches an error, a log line or the call
log."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from addon.salto_ks.client import (
    Entry,
    IqPin,
    IqState,
    Lock,
    OpenAccepted,
    SaltoKsConnector,
    Site,
    format_utc,
    parse_utc,
)
from addon.salto_ks.errors import (
    SaltoKsAuthenticationError,
    SaltoKsClientRejected,
    SaltoKsCredentialsRejected,
    SaltoKsError,
    SaltoKsIqNotFound,
    SaltoKsIqOffline,
    SaltoKsLockOffline,
    SaltoKsOtpRejected,
    SaltoKsPermanentError,
    SaltoKsPinChangedElsewhere,
    SaltoKsProtocolError,
    SaltoKsSiteUnknown,
    SaltoKsTransientError,
)
from tests.salto_ks.conftest import (
    API_URL,
    CLIENT_SECRET,
    IDENTITY_URL,
    IQ_ID,
    LOCKS,
    PASSWORD,
    SITE_ID,
    SITE_UID,
    make_account,
    wire_sample,
)

pytestmark = pytest.mark.anyio

TOKEN = wire_sample("token")["access_token"]
SITE = f"/sites/{SITE_ID}"  # under {API_URL}/v1.1
LOCK_ID = LOCKS["Studio 1 entrance"]


@pytest.fixture
def mock():
    with respx.mock(assert_all_called=False) as router:
        router.post(f"{IDENTITY_URL}/connect/token", name="token").mock(
            return_value=httpx.Response(200, json=wire_sample("token")))
        yield router


@pytest.fixture
def client(wire_connector):
    return wire_connector.client(make_account(), context={"integration_id": 7, "booking_id": 42})


def api(mock, method: str, path: str, name: str | None = None):
    return mock.route(method=method, url__regex=rf"^{API_URL}/v1\.1{path}(\?.*)?$", name=name)


def form_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


# --------------------------------------------------------------------------- every call


async def test_the_token_request_is_the_password_grant_with_the_installations_client(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))
    await client.list_locks(SITE_ID)
    sent = mock["token"].calls.last.request
    assert sent.method == "POST" and sent.url == f"{IDENTITY_URL}/connect/token"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(sent) == wire_sample("token_request")
    assert "authorization" not in sent.headers


async def test_resolve_site_by_uid(mock, client):
    route = api(mock, "GET", "/sites").mock(return_value=httpx.Response(200, json=wire_sample("sites")))
    site = await client.resolve_site(SITE_UID.lower())
    assert site == Site(id=SITE_ID, uid=SITE_UID, name="Duinpark", time_zone="Europe/Amsterdam")
    request = route.calls.last.request
    assert request.url.params["uid"] == SITE_UID.lower()
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


async def test_an_unknown_site_uid_is_its_own_error(mock, client):
    api(mock, "GET", "/sites").mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(SaltoKsSiteUnknown, match="no site with Site UID 'XX0000000000'") as caught:
        await client.resolve_site("XX0000000000")
    assert isinstance(caught.value, SaltoKsPermanentError)


async def test_locks(mock, client):
    route = api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=wire_sample("locks")))
    locks = await client.list_locks(SITE_ID)
    assert route.calls.last.request.method == "GET"
    assert locks[0] == Lock(id=LOCK_ID, name="Studio 1 entrance", online=True, iq_id=IQ_ID)
    assert [lock.online for lock in locks] == [True, True, False]


async def test_iq_state(mock, client):
    api(mock, "GET", f"{SITE}/iqs/{IQ_ID}").mock(return_value=httpx.Response(200, json=wire_sample("iq")))
    assert await client.get_iq(SITE_ID, IQ_ID) == IqState(id=IQ_ID, online=True, activated=False, name="IQ reception")


async def test_get_pin_answers_the_pin_and_the_secret_and_hides_both_from_repr(mock, client):
    sample = wire_sample("pin")
    api(mock, "GET", f"{SITE}/iqs/{IQ_ID}/pin").mock(return_value=httpx.Response(200, json=sample))
    found = await client.get_pin(SITE_ID, IQ_ID)
    assert found == IqPin(pin=sample["pin"], secret=sample["secret"])
    assert sample["pin"] not in repr(found) and sample["secret"] not in repr(found)


@pytest.mark.parametrize("body", [{"pin": "471", "secret": "ULTO26GSJB4ZSMX7"}, {"pin": "4711", "secret": "not b32!"},
                                  {"pin": "4711"}])
async def test_a_pin_or_secret_outside_the_contract_is_a_protocol_error(mock, client, body):
    api(mock, "GET", f"{SITE}/iqs/{IQ_ID}/pin").mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(SaltoKsProtocolError) as caught:
        await client.get_pin(SITE_ID, IQ_ID)
    assert "4711" not in str(caught.value) and "not b32" not in str(caught.value)


async def test_set_pin_puts_the_new_pin_and_the_otp(mock, client):
    route = api(mock, "PUT", f"{SITE}/iqs/{IQ_ID}/pin").mock(
        return_value=httpx.Response(200, json=wire_sample("set_pin")))
    sample = wire_sample("set_pin_request")
    state = await client.set_pin(SITE_ID, IQ_ID, sample["newPin"], sample["otp"])
    assert state.activated is True
    assert json.loads(route.calls.last.request.content) == sample


async def test_open_patches_the_locking_and_is_accepted_with_202(mock, client):
    sample = wire_sample("open_request")
    route = api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(
        return_value=httpx.Response(202, json=wire_sample("open_accepted")))
    accepted = await client.open_lock(SITE_ID, LOCK_ID, sample["otp"], sample["reference"])
    assert accepted == OpenAccepted(reference=sample["reference"], accepted_at=datetime(2026, 6, 12, 12, 30, 5,
                                                                                          tzinfo=UTC))
    assert json.loads(route.calls.last.request.content) == sample


async def test_a_repeated_reference_is_accepted_as_a_duplicate(mock, client):
    api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(
        return_value=httpx.Response(202, json=wire_sample("open_duplicate")))
    assert (await client.open_lock(SITE_ID, LOCK_ID, "123456", "ireserve:booking:42:open:1")).duplicate is True


async def test_entries_since_a_utc_time_for_one_lock(mock, client):
    route = api(mock, "GET", f"{SITE}/entries").mock(return_value=httpx.Response(200, json=wire_sample("entries")))
    since = datetime(2026, 6, 12, 14, 0, tzinfo=datetime.now().astimezone().tzinfo)
    entries = await client.list_entries(SITE_ID, since, LOCK_ID)
    params = route.calls.last.request.url.params
    assert params["since"] == format_utc(since) and params["since"].endswith("Z") and params["lockId"] == LOCK_ID
    assert entries[0] == Entry(id="9d3a8f0e-6b1c-4e2a-8f5d-7c6b5a4e3d21", lock_id=LOCK_ID,
                               at=parse_utc("2026-06-12T12:30:06Z"), result="opened",
                               reference="ireserve:booking:42:open:1")
    assert entries[0].opened and not entries[1].opened and entries[1].reference is None
    await client.list_entries(SITE_ID, since)
    assert "lockId" not in route.calls.last.request.url.params
    with pytest.raises(ValueError, match="naive"):
        await client.list_entries(SITE_ID, datetime(2026, 6, 12, 14, 0))


# --------------------------------------------------------------------------- the token


async def test_one_token_serves_many_calls_and_concurrent_callers_share_one_refresh(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))

    async def slow_token(request):
        await asyncio.sleep(0.01)
        return httpx.Response(200, json=wire_sample("token"))

    mock["token"].mock(side_effect=slow_token)
    await asyncio.gather(*(client.list_locks(SITE_ID) for _ in range(8)))
    await client.list_locks(SITE_ID)
    assert mock["token"].call_count == 1


async def test_a_token_is_refreshed_before_it_expires(mock, wire_connector):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))
    mock["token"].mock(return_value=httpx.Response(200, json={"access_token": "short-lived", "expires_in": 0}))
    client = wire_connector.client(make_account())
    await client.list_locks(SITE_ID)
    await client.list_locks(SITE_ID)
    assert mock["token"].call_count == 2


async def test_another_password_gets_another_token(mock, wire_connector):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))
    await wire_connector.client(make_account()).list_locks(SITE_ID)
    await wire_connector.client(make_account(password="changed-password")).list_locks(SITE_ID)
    assert mock["token"].call_count == 2


async def test_a_401_fetches_a_new_token_and_repeats_the_call_once(mock, client, records):
    route = api(mock, "GET", f"{SITE}/locks").mock(side_effect=[
        httpx.Response(401, json=wire_sample("error_401")), httpx.Response(200, json=wire_sample("locks"))])
    assert len(await client.list_locks(SITE_ID)) == 3
    assert mock["token"].call_count == 2 and route.call_count == 2
    assert [r.operation for r in records] == ["token", "list_locks", "token", "list_locks"]
    assert [r.outcome for r in records] == ["ok", "transient", "ok", "ok"]


async def test_a_second_401_is_an_authentication_error(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(401, json=wire_sample("error_401")))
    with pytest.raises(SaltoKsAuthenticationError, match="freshly issued access token") as caught:
        await client.list_locks(SITE_ID)
    assert not isinstance(caught.value, SaltoKsTransientError)
    assert mock["token"].call_count == 2


async def test_a_rejected_account_and_a_rejected_client_are_told_apart(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))
    mock["token"].mock(return_value=httpx.Response(400, json=wire_sample("error_invalid_grant")))
    with pytest.raises(SaltoKsCredentialsRejected, match="username or password"):
        await client.list_locks(SITE_ID)
    mock["token"].mock(return_value=httpx.Response(401, json=wire_sample("error_invalid_client")))
    with pytest.raises(SaltoKsClientRejected, match="Acceptance client id or secret"):
        await client.list_locks(SITE_ID)


async def test_a_failed_token_request_is_shared_by_the_callers_waiting_for_it(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(200, json=[]))

    async def failing(request):
        await asyncio.sleep(0.01)
        return httpx.Response(503, json=wire_sample("error_503"))

    mock["token"].mock(side_effect=failing)
    results = await asyncio.gather(*(client.list_locks(SITE_ID) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, SaltoKsTransientError) for r in results)
    assert mock["token"].call_count == 1


# --------------------------------------------------------------------------- typed errors


@pytest.mark.parametrize("status,sample,kind,unprocessed", [
    (403, "error_otp_rejected", SaltoKsOtpRejected, True),
    (403, "error_pin_changed", SaltoKsPinChangedElsewhere, True),
    (409, "error_iq_offline", SaltoKsIqOffline, True),
    (409, "error_lock_offline", SaltoKsLockOffline, True),
])
async def test_what_the_iq_refuses_has_a_class_of_its_own(mock, client, status, sample, kind, unprocessed):
    api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(
        return_value=httpx.Response(status, json=wire_sample(sample)))
    with pytest.raises(kind) as caught:
        await client.open_lock(SITE_ID, LOCK_ID, "492039", "ref-1")
    error = caught.value
    assert error.status == status and error.code == wire_sample(sample)["code"] and error.operation == "open_lock"
    assert error.unprocessed is unprocessed
    assert error.message == wire_sample(sample)["message"]


async def test_a_pin_changed_elsewhere_is_an_otp_refusal_too():
    assert issubclass(SaltoKsPinChangedElsewhere, SaltoKsOtpRejected)
    assert issubclass(SaltoKsIqOffline, SaltoKsTransientError) and issubclass(SaltoKsOtpRejected, SaltoKsPermanentError)


@pytest.mark.parametrize("status,sample,kind", [
    (404, "error_site_not_found", SaltoKsSiteUnknown),
    (404, "error_iq_not_found", SaltoKsIqNotFound),
    (403, "error_forbidden", SaltoKsPermanentError),
    (422, "error_invalid_request", SaltoKsPermanentError),
])
async def test_refusals_are_permanent(mock, client, status, sample, kind):
    api(mock, "GET", f"{SITE}/iqs/{IQ_ID}").mock(return_value=httpx.Response(status, json=wire_sample(sample)))
    with pytest.raises(kind) as caught:
        await client.get_iq(SITE_ID, IQ_ID)
    assert isinstance(caught.value, SaltoKsPermanentError) and not isinstance(caught.value, SaltoKsTransientError)
    assert type(caught.value) is kind


async def test_429_is_transient_unprocessed_and_carries_retry_after(mock, client):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(
        429, json=wire_sample("error_429"), headers={"Retry-After": "7"}))
    with pytest.raises(SaltoKsTransientError, match="rate limiting list_locks .*retry after 7 s") as caught:
        await client.list_locks(SITE_ID)
    assert caught.value.retry_after == 7 and caught.value.unprocessed is True and caught.value.status == 429


async def test_503_with_an_http_date_retry_after(mock, client):
    when = datetime.now(UTC) + timedelta(seconds=120)
    api(mock, "GET", f"{SITE}/locks").mock(return_value=httpx.Response(
        503, json=wire_sample("error_503"), headers={"Retry-After": format_datetime(when, usegmt=True)}))
    with pytest.raises(SaltoKsTransientError) as caught:
        await client.list_locks(SITE_ID)
    assert 100 < caught.value.retry_after <= 120 and caught.value.unprocessed is False


async def test_a_server_error_on_open_may_have_opened(mock, client):
    api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(return_value=httpx.Response(500, text="boom"))
    with pytest.raises(SaltoKsTransientError) as caught:
        await client.open_lock(SITE_ID, LOCK_ID, "492039", "ref-1")
    assert caught.value.unprocessed is False and caught.value.retry_after is None


@pytest.mark.parametrize("answer", [httpx.Response(200, text="<html>maintenance</html>"),
                                    httpx.Response(200, json={"unexpected": True}),
                                    httpx.Response(200, json=[{"id": "x", "name": "y", "online": "yes"}])])
async def test_an_answer_outside_the_contract_is_a_protocol_error(mock, client, answer):
    api(mock, "GET", f"{SITE}/locks").mock(return_value=answer)
    with pytest.raises(SaltoKsProtocolError, match="list_locks"):
        await client.list_locks(SITE_ID)


async def test_timeouts_and_unreachable_are_transient(mock, client):
    route = api(mock, "GET", f"{SITE}/locks")
    route.mock(side_effect=httpx.ReadTimeout("read timed out"))
    with pytest.raises(SaltoKsTransientError, match="did not answer within 10 s") as caught:
        await client.list_locks(SITE_ID)
    assert caught.value.unprocessed is False and caught.value.status is None
    route.mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(SaltoKsTransientError, match="Could not reach Salto KS at api.salto.test") as caught:
        await client.list_locks(SITE_ID)
    assert caught.value.unprocessed is True
    route.mock(side_effect=httpx.ConnectTimeout("connect timed out"))
    with pytest.raises(SaltoKsTransientError, match="Could not connect to Salto KS .* within 5 s"):
        await client.list_locks(SITE_ID)


async def test_every_call_has_connect_and_read_timeouts():
    connector = SaltoKsConnector(connect_timeout=2, read_timeout=3)
    try:
        timeout = connector._http.timeout
        assert (timeout.connect, timeout.read, timeout.pool) == (2, 3, 2)
        assert connector._deadline == 5
    finally:
        await connector.aclose()


# --------------------------------------------------------------------------- the call log


async def test_every_call_is_reported_without_its_query(mock, client, records):
    api(mock, "GET", "/sites").mock(return_value=httpx.Response(200, json=wire_sample("sites")))
    api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(
        return_value=httpx.Response(409, json=wire_sample("error_iq_offline")))
    await client.resolve_site(SITE_UID)
    with pytest.raises(SaltoKsIqOffline):
        await client.open_lock(SITE_ID, LOCK_ID, "492039", "ref-1")
    assert [(r.operation, r.method, r.path, r.http_status, r.outcome) for r in records] == [
        ("token", "POST", "/connect/token", 200, "ok"),
        ("resolve_site", "GET", "/v1.1/sites", 200, "ok"),
        ("open_lock", "PATCH", f"/v1.1{SITE}/locks/{LOCK_ID}/locking", 409, "transient"),
    ]
    assert records[-1].context == {"integration_id": 7, "booking_id": 42}
    assert records[-1].error.startswith("Salto KS answered 409 to open_lock: IQ IQ reception is offline")


# --------------------------------------------------------------------------- secrets stay in


async def test_no_secret_reaches_an_error_a_log_line_or_the_call_log(mock, client, records, caplog):
    caplog.set_level(logging.DEBUG)
    otp, new_pin = "492039", "2580"
    sample = wire_sample("pin")
    # A server that echoes back what it was sent: all of it must be scrubbed.
    echo = f"refused {PASSWORD} {CLIENT_SECRET} {TOKEN} {otp} {new_pin}"
    api(mock, "GET", f"{SITE}/iqs/{IQ_ID}/pin").mock(return_value=httpx.Response(200, json=wire_sample("pin")))
    api(mock, "PUT", f"{SITE}/iqs/{IQ_ID}/pin").mock(
        return_value=httpx.Response(403, json={"code": "otp_rejected", "message": echo}))
    api(mock, "PATCH", f"{SITE}/locks/{LOCK_ID}/locking").mock(
        return_value=httpx.Response(503, json={"code": "x", "message": echo.replace(new_pin, "")}))
    api(mock, "GET", f"{SITE}/locks").mock(side_effect=httpx.ConnectError(f"cannot connect {PASSWORD} {TOKEN}"))
    errors: list[SaltoKsError] = []
    await client.get_pin(SITE_ID, IQ_ID)
    for call in (lambda: client.set_pin(SITE_ID, IQ_ID, new_pin, otp),
                 lambda: client.open_lock(SITE_ID, LOCK_ID, otp, "ref-1"),
                 lambda: client.list_locks(SITE_ID)):
        with pytest.raises(SaltoKsError) as caught:
            await call()
        errors.append(caught.value)
    mock["token"].mock(return_value=httpx.Response(400, json={"error": "invalid_grant",
                                                              "error_description": f"bad {PASSWORD}"}))
    async with SaltoKsConnector(on_call=records.append) as connector:
        with pytest.raises(SaltoKsCredentialsRejected) as caught:
            await connector.client(make_account()).list_locks(SITE_ID)
    errors.append(caught.value)
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [e.message for e in errors]
    texts += [repr(r) for r in records] + [r.getMessage() for r in caplog.records] + [repr(client)]
    texts += [repr(make_account())]
    for hidden in (PASSWORD, CLIENT_SECRET, TOKEN, sample["secret"], otp, new_pin):
        assert not [t for t in texts if hidden in t], hidden
    assert "***" in str(errors[0])  # the echo was scrubbed, not dropped
