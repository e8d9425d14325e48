"""Every sandbox fault mode, seen through the client (over httpx.ASGITransport)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from addon.resivo.client import Recipient, RemoteAccessRequest
from addon.resivo.errors import ResivoPermanentError, ResivoTransientError

pytestmark = pytest.mark.anyio


def remote_access(reference: str = "ireserve:booking:7") -> RemoteAccessRequest:
    now = datetime.now(UTC)
    return RemoteAccessRequest(
        display_name="Booking 7",
        component_ids=["duinpark-meeting-room"],
        valid_from=now,
        valid_to=now + timedelta(hours=3),
        recipients=[Recipient(email="guest@example.com")],
        locale="en",
        external_reference=reference,
    )


@pytest.fixture
async def fast_client(sandbox, records, make_credentials):
    """Short timeouts, so a hanging sandbox costs a fraction of a second."""
    async with sandbox.connector(
        connect_timeout=0.1, read_timeout=0.2, on_call=records.append
    ) as conn:
        yield conn.client(make_credentials())


async def test_status_fault_for_one_operation(demo_client, sandbox):
    await sandbox.fault(mode="status", status=500, count=2, operation="list_components")
    assert (await demo_client.get_site("demo-site")).id == "demo-site"  # other operations pass
    for _ in range(2):
        with pytest.raises(ResivoTransientError) as caught:
            await demo_client.list_components("demo-site")
        assert caught.value.status == 500
    assert await demo_client.list_components("demo-site")
    assert (await sandbox.admin.get("/_sandbox/faults")).json() == {"faults": []}


async def test_status_fault_without_operation_hits_the_next_call(demo_client, sandbox):
    await demo_client.list_sites()  # token cached
    await sandbox.fault(mode="status", status=503)
    with pytest.raises(ResivoTransientError) as caught:
        await demo_client.get_site("demo-site")
    assert (caught.value.status, caught.value.operation) == (503, "get_site")
    assert (await demo_client.get_site("demo-site")).id == "demo-site"


async def test_status_fault_on_token(demo_client, sandbox):
    await sandbox.fault(mode="status", status=503, operation="token")
    with pytest.raises(ResivoTransientError) as caught:
        await demo_client.list_sites()
    assert caught.value.operation == "token"
    assert await demo_client.list_sites()


@pytest.mark.parametrize(("retry_after", "expected"), [(3, 3.0), (None, 1.0)])
async def test_429_fault_sends_retry_after(demo_client, sandbox, retry_after, expected):
    spec = {"mode": "status", "status": 429, "operation": "create_remote_access"}
    if retry_after is not None:
        spec["retryAfter"] = retry_after
    await sandbox.fault(**spec)
    with pytest.raises(ResivoTransientError) as caught:
        await demo_client.create_remote_access("demo-site", remote_access())
    assert caught.value.status == 429
    assert caught.value.retry_after == expected
    assert await sandbox.authorizations() == []


async def test_permanent_status_fault(demo_client, sandbox):
    await sandbox.fault(mode="status", status=403, operation="get_site")
    with pytest.raises(ResivoPermanentError) as caught:
        await demo_client.get_site("demo-site")
    assert caught.value.status == 403


async def test_hang_outlasts_the_client_timeout(fast_client, sandbox, records):
    await fast_client.list_sites()
    await sandbox.fault(mode="hang", seconds=5, operation="create_remote_access")
    started = time.monotonic()
    with pytest.raises(ResivoTransientError, match="did not answer within") as caught:
        await fast_client.create_remote_access("demo-site", remote_access())
    assert time.monotonic() - started < 2
    assert caught.value.status is None
    assert (records[-1].operation, records[-1].http_status, records[-1].outcome) == (
        "create_remote_access",
        None,
        "transient",
    )
    # A hang does not perform the operation; the next try does.
    assert await sandbox.authorizations() == []
    assert (await fast_client.create_remote_access("demo-site", remote_access())).is_active


async def test_drop_answer_on_create_allows_adoption(demo_client, sandbox):
    await sandbox.fault(mode="drop_answer", operation="create_remote_access")
    with pytest.raises(ResivoTransientError) as caught:
        await demo_client.create_remote_access("demo-site", remote_access("ireserve:booking:99"))
    assert caught.value.status == 504
    # The set exists although the caller never saw it: find it by our reference.
    [adopted] = await demo_client.find_by_reference("demo-site", "ireserve:booking:99")
    assert adopted.is_active and adopted.external_reference == "ireserve:booking:99"
    assert [a["id"] for a in await sandbox.authorizations()] == [adopted.id]


async def test_drop_answer_on_revoke_then_retry_is_done(demo_client, sandbox):
    created = await demo_client.create_remote_access("demo-site", remote_access())
    await sandbox.fault(mode="drop_answer", operation="revoke")
    with pytest.raises(ResivoTransientError):
        await demo_client.revoke("demo-site", created.id)
    await demo_client.revoke("demo-site", created.id)  # now 409 already revoked: done
    assert (await demo_client.get_authorization("demo-site", created.id)).status == "revoked"


async def test_random_faults_until_cleared(demo_client, sandbox):
    await demo_client.list_sites()
    await sandbox.fault(mode="random", rates={"503": 1.0})
    for _ in range(3):
        with pytest.raises(ResivoTransientError):
            await demo_client.get_site("demo-site")
    [described] = (await sandbox.admin.get("/_sandbox/faults")).json()["faults"]
    assert described["mode"] == "random" and described["fired"] == 3
    assert (await sandbox.admin.delete("/_sandbox/faults")).status_code == 200
    assert (await demo_client.get_site("demo-site")).id == "demo-site"


async def test_random_faults_are_reproducible_with_a_seed(sandbox, make_credentials):
    async def pattern():
        await sandbox.admin.post("/_sandbox/reset")
        await sandbox.fault(
            mode="random", rates={"503": 0.3, "429": 0.2}, seed=7, operation="get_site"
        )
        seen = []
        async with sandbox.connector() as connector:
            client = connector.client(make_credentials())
            for _ in range(40):
                try:
                    await client.get_site("demo-site")
                    seen.append(200)
                except ResivoTransientError as error:
                    seen.append(error.status)
        return seen

    first = await pattern()
    assert first == await pattern()
    assert {200, 503, 429} == set(first)


@pytest.mark.parametrize(
    "spec",
    [
        {"mode": "explode"},
        {"mode": "status", "status": 200},
        {"mode": "status", "status": 500, "count": 0},
        {"mode": "status", "status": 500, "operation": "launch_rocket"},
        {"mode": "hang"},
        {"mode": "random", "rates": {"503": 0.8, "429": 0.5}},
        {"mode": "random", "rates": {"oops": 0.1}},
        {"mode": "random", "rates": {"503": 0.1}, "seed": "x"},
        ["not", "an", "object"],
    ],
)
async def test_bad_fault_specs_are_refused(sandbox, spec):
    response = await sandbox.admin.post("/_sandbox/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["message"]


async def test_faults_listed_and_used_up(sandbox, demo_client):
    await sandbox.fault(mode="status", status=500, count=2, operation="get_site")
    await sandbox.fault(mode="hang", seconds=1, count=1, operation="revoke")
    faults = (await sandbox.admin.get("/_sandbox/faults")).json()["faults"]
    assert [(f["mode"], f["count"], f["operation"]) for f in faults] == [
        ("status", 2, "get_site"),
        ("hang", 1, "revoke"),
    ]
    for _ in range(2):
        with pytest.raises(ResivoTransientError):
            await demo_client.get_site("demo-site")
    faults = (await sandbox.admin.get("/_sandbox/faults")).json()["faults"]
    assert [f["mode"] for f in faults] == ["hang"]


async def test_latency(demo_client, sandbox, records):
    response = await sandbox.admin.post("/_sandbox/latency", json={"ms": 50})
    assert response.json() == {"ms": 50.0}
    await demo_client.get_site("demo-site")
    assert all(r.duration_ms >= 50 for r in records)
    assert (await sandbox.admin.post("/_sandbox/latency", json={"ms": -1})).status_code == 400


async def test_stats_count_faulted_calls(demo_client, sandbox):
    await sandbox.fault(mode="status", status=503, operation="get_site")
    with pytest.raises(ResivoTransientError):
        await demo_client.get_site("demo-site")
    await demo_client.get_site("demo-site")
    stats = await sandbox.stats()
    assert stats["calls"] == {"token": 1, "get_site": 2}
