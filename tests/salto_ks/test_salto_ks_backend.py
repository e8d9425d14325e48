"""The Salto KS backend as the door-access core sees it: registered by name, its locks as doors,
the credential model refused honestly (the core issues the guest's open link instead), and opening
on request — ``open_lock`` signed with the IQ's one-time password and ``entries`` — against the
sandbox, with clock skew, an offline IQ, a PIN changed elsewhere and a lost answer."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from addon.door_access.backend import backends
from addon.door_access.models import AccessCallLog
from addon.door_access.public import (
    AccessSetRequest,
    DoorIntegration,
    PermanentBackendError,
    Recipient,
    TransientBackendError,
    call_log,
)
from addon.salto_ks.backend import OpensOnRequest, UnconfiguredConnection
from addon.salto_ks.errors import (
    SaltoKsIqNotActivated,
    SaltoKsIqOffline,
    SaltoKsOtpRejected,
    SaltoKsPinChangedElsewhere,
)
from tests.door_access.helpers import (
    create_booking,
    create_booking_field,
    create_objects,
    future,
    set_active,
    set_mapping,
    set_status,
)
from tests.salto_ks.conftest import LOCKS, SITE_ID
from tests.salto_ks.host_helpers import activated_integration, configured_integration, new_integration
from tests.support.ids import row_id

pytestmark = pytest.mark.anyio

STUDIO_1 = LOCKS["Studio 1 entrance"]


async def connection(host, ident, booking_id=None):
    async with host.database.session() as session:
        integration = await session.get(DoorIntegration, row_id(ident))
        return await backends(host)["salto_ks"].connect(host, session, integration, booking_id)


async def test_the_backend_is_registered_as_salto_ks(gql, host):
    backend = backends(host)["salto_ks"]
    assert (backend.name, backend.label) == ("salto_ks", "Salto KS")
    assert backend.max_concurrency == 8 and backend.call_deadline_seconds == 15
    listed = (await gql("{ doorBackends { name label } }"))["doorBackends"]
    assert {"name": "salto_ks", "label": "Salto KS"} in listed


async def test_locks_are_doors_named_as_at_the_site(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    conn = await connection(host, ident)
    doors = await conn.list_doors()
    assert {d.name: (d.id, d.online) for d in doors}["Studio 1 entrance"] == (STUDIO_1, True)
    assert {d.location_id for d in doors} == {SITE_ID} and {d.location_time_zone for d in doors} == {"Europe/Amsterdam"}
    assert conn.where(doors).text() == "site 'Duinpark' (NL6254340082)"
    assert conn.default_location_id == SITE_ID


async def test_two_locks_of_one_name_are_told_apart(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    await wired_sandbox.admin.patch(f"/_sandbox/locks/{LOCKS['Studio 2 entrance']}", json={"name": "Studio 1 entrance"})
    names = sorted(d.name for d in await (await connection(host, ident)).list_doors())
    assert f"Studio 1 entrance ({STUDIO_1})" in names and "Studio 1 entrance" not in names


async def test_the_credential_model_is_refused_not_faked(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    conn = await connection(host, ident)
    request = AccessSetRequest(display_name="Booking 1", door_ids=[STUDIO_1], valid_from=host.clock.now(),
                               valid_to=host.clock.now() + timedelta(days=1), recipients=[Recipient(email="g@x.nl")],
                               locale="nl", message=None, external_reference="ref")
    for call in (lambda: conn.create_access_set(SITE_ID, request), lambda: conn.read_access_set(SITE_ID, "x"),
                 lambda: conn.find_access_sets(SITE_ID, "ref"), lambda: conn.revoke_access_set(SITE_ID, "x")):
        with pytest.raises(OpensOnRequest) as caught:
            await call()
        assert isinstance(caught.value, PermanentBackendError) and caught.value.unprocessed
    assert "opens locks on request" in conn.explain(caught.value).text()
    assert (await wired_sandbox.stats())["openings"] == {}


# --------------------------------------------------------------------------- opening on request


async def test_open_lock_is_signed_and_the_entry_confirms_it(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    conn = await connection(host, ident, booking_id=None)
    since = host.clock.now() - timedelta(seconds=1)
    accepted = await conn.open_lock(STUDIO_1, "booking-1:open-1")
    assert accepted.accepted and not accepted.duplicate
    [entry] = await conn.entries(since, STUDIO_1)
    assert entry.opened and entry.reference == "booking-1:open-1"
    [seen] = await wired_sandbox.openings()
    assert seen["outcome"] == "opened" and seen["lockName"] == "Studio 1 entrance"
    await call_log(host).flush()
    async with host.database.session() as session:
        logged = (await session.execute(select(AccessCallLog).where(AccessCallLog.operation == "open_lock"))).scalars()
        [row] = list(logged)
    assert row.integration_id == row_id(ident) and row.http_status == 202 and row.outcome == "ok"


@pytest.mark.parametrize("skew", [-30, 30])
async def test_a_clock_one_step_off_still_opens(gql, host, wired_sandbox, skew):
    ident = await activated_integration(gql)
    wired_sandbox.state.advance_clock(skew)
    assert (await (await connection(host, ident)).open_lock(STUDIO_1, "r-1")).accepted


@pytest.mark.parametrize("skew", [-60, 60])
async def test_a_clock_two_steps_off_is_refused(gql, host, wired_sandbox, skew):
    ident = await activated_integration(gql)
    wired_sandbox.state.advance_clock(skew)
    conn = await connection(host, ident)
    with pytest.raises(SaltoKsOtpRejected) as caught:
        await conn.open_lock(STUDIO_1, "r-1")
    assert "server clock" in conn.explain(caught.value).text()


async def test_open_before_the_iq_is_activated(gql, host, wired_sandbox):
    ident = await configured_integration(gql)
    conn = await connection(host, ident)
    with pytest.raises(SaltoKsIqNotActivated) as caught:
        await conn.open_lock(STUDIO_1, "r-1")
    assert caught.value.unprocessed
    assert conn.explain(caught.value).text() == (
        "The IQ is not activated: do the IQ OTP setup (IQ id, GET PIN, Set PIN) first.")
    assert "open_lock" not in (await wired_sandbox.stats())["calls"]  # nothing was sent


async def test_open_after_the_pin_was_changed_elsewhere(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    await wired_sandbox.change_pin_elsewhere()
    conn = await connection(host, ident)
    with pytest.raises(SaltoKsPinChangedElsewhere) as caught:
        await conn.open_lock(STUDIO_1, "r-1")
    assert conn.explain(caught.value).text().startswith("The PIN of the IQ was changed outside the booking system")


async def test_open_with_the_iq_offline(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    await wired_sandbox.set_iq_online(False)
    with pytest.raises(SaltoKsIqOffline) as caught:
        await (await connection(host, ident)).open_lock(STUDIO_1, "r-1")
    assert isinstance(caught.value, TransientBackendError) and caught.value.unprocessed


async def test_a_lost_answer_to_an_open_is_one_opening(gql, host, wired_sandbox):
    ident = await activated_integration(gql)
    conn = await connection(host, ident)
    since = host.clock.now() - timedelta(seconds=1)
    await wired_sandbox.fault(mode="drop_answer", operation="open_lock")
    with pytest.raises(TransientBackendError) as caught:
        await conn.open_lock(STUDIO_1, "booking-1:open-1")
    assert not caught.value.unprocessed  # it may have opened: the entries say it did
    assert [e.reference for e in await conn.entries(since)] == ["booking-1:open-1"]
    again = await conn.open_lock(STUDIO_1, "booking-1:open-1")  # a retry under the same reference
    assert again.duplicate and len(await conn.entries(since)) == 1


async def test_without_the_tab_every_call_says_so(gql, host):
    conn = await connection(host, await new_integration(gql))
    assert isinstance(conn, UnconfiguredConnection)
    for call in (conn.list_doors, lambda: conn.open_lock(STUDIO_1, "r"), lambda: conn.entries(host.clock.now())):
        with pytest.raises(PermanentBackendError) as caught:
            await call()
        assert "Environment, Site UID, Username, Password" in conn.explain(caught.value).text()
