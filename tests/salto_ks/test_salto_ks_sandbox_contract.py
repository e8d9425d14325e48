"""The sandbox keeps the contract the client speaks (over httpx.ASGITransport): the same answers
as the recorded samples, the same refusals, one-time passwords verified with one step of
tolerance, and the scripted faults of /_sandbox/faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from addon.salto_ks.client import parse_utc
from addon.salto_ks.errors import (
    SaltoKsClientRejected,
    SaltoKsCredentialsRejected,
    SaltoKsIqNotFound,
    SaltoKsIqOffline,
    SaltoKsLockOffline,
    SaltoKsOtpRejected,
    SaltoKsPermanentError,
    SaltoKsPinChangedElsewhere,
    SaltoKsSiteUnknown,
    SaltoKsTransientError,
)
from addon.salto_ks.otp import iq_otp
from addon.salto_ks.sandbox import create_sandbox_app
from tests.salto_ks.conftest import (
    IQ_ID,
    IQ_PIN,
    IQ_SECRET,
    LOCKS,
    OFFLINE_IQ_ID,
    OTHER_SITE_ID,
    OTHER_SITE_UID,
    SANDBOX_URL,
    SITE_ID,
    SITE_UID,
    Sandbox,
    make_account,
    wire_sample,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 6, 12, 12, 0, 15, tzinfo=UTC)  # 15 s into a 30 s step
STUDIO_1 = LOCKS["Studio 1 entrance"]
BIKE_SHED = LOCKS["Bike shed"]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def box(clock):
    sandbox = Sandbox(create_sandbox_app(wall_clock=clock))
    yield sandbox
    await sandbox.admin.aclose()


@pytest.fixture
async def client(box, records):
    async with box.connector(on_call=records.append) as connector:
        yield connector.client(make_account(SANDBOX_URL, SANDBOX_URL))


def otp(pin: str = IQ_PIN, at: datetime = NOW) -> str:
    return iq_otp(IQ_SECRET, pin, at)


def keys(value) -> set[str]:
    return set((value[0] if isinstance(value, list) else value).keys())


# --------------------------------------------------------------------------- the contract


async def test_answers_have_the_shape_of_the_recorded_samples(box, client):
    raw = httpx.AsyncClient(transport=httpx.ASGITransport(app=box.app), base_url=SANDBOX_URL)
    async with raw:
        form = wire_sample("token_request")
        token = (await raw.post("/connect/token", data=form)).json()
        assert keys(token) == keys(wire_sample("token"))
        bearer = {"Authorization": f"Bearer {token['access_token']}"}

        async def get(path, **params):
            response = await raw.get(f"/v1.1{path}", params=params, headers=bearer)
            assert response.status_code == 200, response.text
            return response.json()

        assert keys(await get("/sites", uid=SITE_UID)) == keys(wire_sample("sites"))
        assert keys(await get(f"/sites/{SITE_ID}/locks")) == keys(wire_sample("locks"))
        assert keys(await get(f"/sites/{SITE_ID}/iqs/{IQ_ID}")) == keys(wire_sample("iq"))
        assert keys(await get(f"/sites/{SITE_ID}/iqs/{IQ_ID}/pin")) == keys(wire_sample("pin"))
        opened = await raw.patch(f"/v1.1/sites/{SITE_ID}/locks/{STUDIO_1}/locking", headers=bearer,
                                 json={"locked": False, "otp": otp(), "reference": "r-1"})
        assert opened.status_code == 202 and keys(opened.json()) == keys(wire_sample("open_accepted"))
        entries = await get(f"/sites/{SITE_ID}/entries", since="2026-06-12T00:00:00Z")
        assert keys(entries) == keys(wire_sample("entries"))
        set_pin = await raw.put(f"/v1.1/sites/{SITE_ID}/iqs/{IQ_ID}/pin", headers=bearer,
                                json={"newPin": "2580", "otp": otp()})
        assert set_pin.status_code == 200 and keys(set_pin.json()) == keys(wire_sample("set_pin"))
        refused = await raw.put(f"/v1.1/sites/{SITE_ID}/iqs/{IQ_ID}/pin", headers=bearer,
                                json={"newPin": "1111", "otp": "000000"})
        assert refused.status_code == 403 and keys(refused.json()) == keys(wire_sample("error_otp_rejected"))
        bad_grant = await raw.post("/connect/token", data={**form, "password": "wrong"})
        assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
        bad_scope = await raw.post("/connect/token", data={**form, "scope": "everything"})
        assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"
        bad_grant_type = await raw.post("/connect/token", data={**form, "grant_type": "client_credentials"})
        assert bad_grant_type.json()["error"] == "unsupported_grant_type"


async def test_the_set_up_guide_against_the_sandbox(box, client):
    site = await client.resolve_site(SITE_UID)
    assert (site.id, site.name, site.time_zone) == (SITE_ID, "Duinpark", "Europe/Amsterdam")
    locks = {lock.name: lock for lock in await client.list_locks(site.id)}
    assert set(locks) == {"Studio 1 entrance", "Studio 2 entrance", "Sauna entrance", "Bike shed"}
    assert [name for name, lock in locks.items() if not lock.online] == ["Bike shed"]
    assert (await client.get_iq(site.id, IQ_ID)).activated is False
    current = await client.get_pin(site.id, IQ_ID)
    assert (current.pin, current.secret) == (IQ_PIN, IQ_SECRET)
    state = await client.set_pin(site.id, IQ_ID, "2580", iq_otp(current.secret, current.pin, NOW))
    assert state.activated is True and (await client.get_iq(site.id, IQ_ID)).activated is True
    # From now on the open command is signed with the new pin.
    accepted = await client.open_lock(site.id, STUDIO_1, otp("2580"), "booking-1:open-1")
    assert accepted.reference == "booking-1:open-1" and accepted.accepted_at == NOW.replace(second=15)
    [entry] = await client.list_entries(site.id, NOW - timedelta(minutes=1), STUDIO_1)
    assert entry.opened and entry.reference == "booking-1:open-1" and entry.lock_id == STUDIO_1
    assert await client.list_entries(site.id, NOW + timedelta(minutes=1)) == []
    [seen] = await box.openings()
    assert (seen["lockName"], seen["outcome"], seen["reference"]) == ("Studio 1 entrance", "opened", "booking-1:open-1")


async def test_a_repeated_reference_opens_nothing_more(box, client):
    first = await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-1:open-1")
    again = await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-1:open-1")
    assert again.duplicate is True and not first.duplicate and again.accepted_at == first.accepted_at
    assert len(await client.list_entries(SITE_ID, NOW - timedelta(minutes=1))) == 1
    assert [o["outcome"] for o in await box.openings()] == ["opened", "duplicate"]


async def test_what_the_sandbox_refuses(box, client):
    with pytest.raises(SaltoKsSiteUnknown):
        await client.resolve_site("XX0000000000")
    with pytest.raises(SaltoKsSiteUnknown):  # another account's site is not visible either
        await client.resolve_site(OTHER_SITE_UID)
    with pytest.raises(SaltoKsPermanentError, match="no rights on site") as caught:
        await client.list_locks(OTHER_SITE_ID)
    assert caught.value.status == 403
    with pytest.raises(SaltoKsSiteUnknown):
        await client.list_locks("00000000-0000-4000-8000-000000000000")
    with pytest.raises(SaltoKsIqNotFound):
        await client.get_pin(SITE_ID, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(SaltoKsPermanentError, match="newPin must be exactly 4 digits"):
        await client.set_pin(SITE_ID, IQ_ID, "12345", otp())


async def test_a_wrong_account_and_a_wrong_client(box):
    async with box.connector() as connector:
        with pytest.raises(SaltoKsCredentialsRejected):
            await connector.client(make_account(SANDBOX_URL, SANDBOX_URL, password="wrong")).list_locks(SITE_ID)
        with pytest.raises(SaltoKsClientRejected):
            await connector.client(make_account(SANDBOX_URL, SANDBOX_URL, client_secret="wrong")).list_locks(SITE_ID)


# --------------------------------------------------------------------------- one-time passwords


@pytest.mark.parametrize("skew", [-30, 30])
async def test_a_clock_one_step_off_is_accepted(client, skew):
    await client.set_pin(SITE_ID, IQ_ID, "2580", otp(at=NOW + timedelta(seconds=skew)))
    assert (await client.get_pin(SITE_ID, IQ_ID)).pin == "2580"


@pytest.mark.parametrize("skew", [-60, 60])
async def test_a_clock_two_steps_off_is_refused(box, client, skew):
    with pytest.raises(SaltoKsOtpRejected) as caught:
        await client.set_pin(SITE_ID, IQ_ID, "2580", otp(at=NOW + timedelta(seconds=skew)))
    assert type(caught.value) is SaltoKsOtpRejected and caught.value.unprocessed
    with pytest.raises(SaltoKsOtpRejected):
        await client.open_lock(SITE_ID, STUDIO_1, otp(at=NOW + timedelta(seconds=skew)), "r-1")
    assert (await client.get_pin(SITE_ID, IQ_ID)).pin == IQ_PIN  # nothing changed
    assert [o["outcome"] for o in await box.openings()] == ["otp_rejected"]
    assert await client.list_entries(SITE_ID, NOW - timedelta(hours=1)) == []


async def test_the_sandbox_clock_moves(box, client, clock):
    signed = otp()
    response = await box.admin.post("/_sandbox/clock", json={"advanceSeconds": 60})
    assert response.json()["now"] == "2026-06-12T12:01:15Z"
    with pytest.raises(SaltoKsOtpRejected):
        await client.open_lock(SITE_ID, STUDIO_1, signed, "r-1")


async def test_an_otp_of_an_earlier_pin_says_the_pin_was_changed_elsewhere(box, client):
    changed = await box.change_pin_elsewhere(pin="9999")
    assert changed["pin"] == "9999"
    with pytest.raises(SaltoKsPinChangedElsewhere):
        await client.open_lock(SITE_ID, STUDIO_1, otp(IQ_PIN), "r-1")
    with pytest.raises(SaltoKsPinChangedElsewhere):
        await client.set_pin(SITE_ID, IQ_ID, "2580", otp(IQ_PIN))
    await client.open_lock(SITE_ID, STUDIO_1, otp("9999"), "r-2")  # the new PIN signs


async def test_an_offline_iq_or_lock_does_nothing(box, client):
    with pytest.raises(SaltoKsIqOffline):
        await client.get_pin(SITE_ID, OFFLINE_IQ_ID)
    assert (await client.get_iq(SITE_ID, OFFLINE_IQ_ID)).online is False  # its state is still known
    with pytest.raises(SaltoKsIqOffline):  # the bike shed's IQ is offline
        await client.open_lock(SITE_ID, BIKE_SHED, otp(), "r-1")
    await box.set_iq_online(False)
    with pytest.raises(SaltoKsIqOffline):
        await client.set_pin(SITE_ID, IQ_ID, "2580", otp())
    await box.set_iq_online(True)
    response = await box.admin.patch(f"/_sandbox/locks/{STUDIO_1}", json={"online": False})
    assert response.json()["online"] is False
    with pytest.raises(SaltoKsLockOffline):
        await client.open_lock(SITE_ID, STUDIO_1, otp(), "r-2")
    assert await client.list_entries(SITE_ID, NOW - timedelta(hours=1)) == []


# --------------------------------------------------------------------------- scripted faults


async def test_503_and_429_with_retry_after(box, client):
    await box.fault(mode="status", status=503, retryAfter=4, operation="list_locks")
    with pytest.raises(SaltoKsTransientError) as caught:
        await client.list_locks(SITE_ID)
    assert caught.value.status == 503 and caught.value.retry_after == 4
    await box.fault(mode="status", status=429, operation="open_lock")
    with pytest.raises(SaltoKsTransientError) as caught:
        await client.open_lock(SITE_ID, STUDIO_1, otp(), "r-1")
    assert caught.value.retry_after == 1 and caught.value.unprocessed
    assert await client.list_entries(SITE_ID, NOW - timedelta(hours=1)) == []  # nothing opened
    assert await client.list_locks(SITE_ID)  # used up


async def test_a_lost_answer_to_an_open_the_entry_tells_and_the_reference_keeps_it_single(box, client):
    await box.fault(mode="drop_answer", operation="open_lock")
    with pytest.raises(SaltoKsTransientError) as caught:
        await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-1:open-1")
    assert caught.value.status == 504 and not caught.value.unprocessed
    [entry] = await client.list_entries(SITE_ID, NOW - timedelta(minutes=1), STUDIO_1)
    assert entry.reference == "booking-1:open-1"
    retried = await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-1:open-1")
    assert retried.duplicate is True
    assert len(await client.list_entries(SITE_ID, NOW - timedelta(minutes=1))) == 1


async def test_a_slow_open_opens_though_the_caller_stopped_waiting(box):
    await box.fault(mode="slow", seconds=2, operation="open_lock")
    async with box.connector(connect_timeout=0.1, read_timeout=0.2) as connector:
        client = connector.client(make_account(SANDBOX_URL, SANDBOX_URL))
        with pytest.raises(SaltoKsTransientError, match="did not answer within 0.3 s") as caught:
            await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-1:open-1")
        assert not caught.value.unprocessed
        assert [e.reference for e in await client.list_entries(SITE_ID, NOW - timedelta(minutes=1))] == [
            "booking-1:open-1"]


async def test_a_hang_does_nothing(box):
    await box.fault(mode="hang", seconds=2, operation="open_lock")
    async with box.connector(connect_timeout=0.1, read_timeout=0.2) as connector:
        client = connector.client(make_account(SANDBOX_URL, SANDBOX_URL))
        with pytest.raises(SaltoKsTransientError, match="did not answer"):
            await client.open_lock(SITE_ID, STUDIO_1, otp(), "r-1")
        assert await client.list_entries(SITE_ID, NOW - timedelta(minutes=1)) == []


async def test_scripted_iq_faults(box, client):
    await box.fault(mode="iq_offline", count=2)
    assert await client.list_locks(SITE_ID)  # not a call the IQ takes part in: the fault waits
    with pytest.raises(SaltoKsIqOffline):
        await client.get_pin(SITE_ID, IQ_ID)
    with pytest.raises(SaltoKsIqOffline):
        await client.open_lock(SITE_ID, STUDIO_1, otp(), "r-1")
    await client.open_lock(SITE_ID, STUDIO_1, otp(), "r-2")

    await box.fault(mode="otp_rejected")
    with pytest.raises(SaltoKsOtpRejected):
        await client.set_pin(SITE_ID, IQ_ID, "2580", otp())
    await client.set_pin(SITE_ID, IQ_ID, "2580", otp())

    await box.fault(mode="pin_changed", operation="open_lock")
    with pytest.raises(SaltoKsPinChangedElsewhere):
        await client.open_lock(SITE_ID, STUDIO_1, otp("2580"), "r-3")
    assert (await client.get_pin(SITE_ID, IQ_ID)).pin != "2580"
    assert [o["outcome"] for o in await box.openings()] == ["iq_offline", "opened", "pin_changed"]


async def test_random_faults_are_reproducible_by_seed(box, client):
    await box.fault(mode="random", rates={"503": 0.5}, seed=7, operation="list_locks")
    outcomes = []
    for _ in range(10):
        try:
            await client.list_locks(SITE_ID)
            outcomes.append("ok")
        except SaltoKsTransientError:
            outcomes.append("503")
    assert "ok" in outcomes and "503" in outcomes
    described = (await box.admin.get("/_sandbox/faults")).json()["faults"]
    assert described[0]["fired"] == outcomes.count("503")


@pytest.mark.parametrize("spec,message", [
    ({"mode": "explode"}, "mode must be one of"),
    ({"mode": "status", "status": 200}, "HTTP error status"),
    ({"mode": "slow"}, "slow needs 'seconds'"),
    ({"mode": "otp_rejected", "operation": "list_locks"}, "otp_rejected applies to open_lock, set_pin only"),
    ({"mode": "status", "status": 503, "operation": "nope"}, "operation must be one of"),
    ({"mode": "status", "status": 503, "count": 0}, "count must be a positive integer"),
])
async def test_a_fault_that_makes_no_sense_is_refused(box, spec, message):
    response = await box.admin.post("/_sandbox/faults", json=spec)
    assert response.status_code == 400 and message in response.json()["message"]


async def test_an_expired_token_is_refreshed_once(box, client, records):
    await client.list_locks(SITE_ID)
    assert (await box.admin.post("/_sandbox/expire-tokens")).json()["expired"] == 1
    await client.list_locks(SITE_ID)
    assert (await box.stats())["tokenRequests"] == 2
    assert [r.http_status for r in records if r.operation == "list_locks"] == [200, 401, 200]


# --------------------------------------------------------------------------- views


async def test_the_sandbox_pages_show_the_iqs_locks_and_openings(box, client):
    await client.open_lock(SITE_ID, STUDIO_1, otp(), "booking-<1>:open-1")
    page = await box.admin.get("/_sandbox/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "Studio 1 entrance" in page.text and "booking-&lt;1&gt;:open-1" in page.text and "<1>" not in page.text
    assert "IQ reception" in page.text and IQ_SECRET not in page.text
    sites = (await box.admin.get("/_sandbox/sites")).json()
    assert sites[0]["iqs"][0]["pin"] == IQ_PIN and "secret" not in sites[0]["iqs"][0]
    entries = (await box.admin.get("/_sandbox/entries")).json()
    assert [e["reference"] for e in entries] == ["booking-<1>:open-1"]
    assert parse_utc(entries[0]["at"]) == NOW.replace(microsecond=0)
    stats = await box.stats()
    assert stats["openings"] == {"opened": 1} and stats["calls"]["open_lock"] == 1
    await box.admin.post("/_sandbox/reset")
    assert await box.openings() == [] and (await box.stats())["calls"] == {}


async def test_unknown_paths_answer_json(box):
    response = await box.admin.get("/v1.1/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "not_found"

