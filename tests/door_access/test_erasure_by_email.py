"""Erasing every customer with one e-mail address (a guest who booked twice is two customers):
the door access of each is revoked at the lock first, through the same events as one erasure;
while one revoke is unconfirmed nothing is erased, and once they are all done every copy goes."""

from __future__ import annotations

import pytest

from addon.door_access.worker import Worker
from tests.door_access.helpers import booking, configured, create_booking, future
from tests.door_access.test_lifecycle_access import rows_mentioning

pytestmark = pytest.mark.anyio

EMAIL, PHONE = "r.vandermeulen@twice.example", "+31 6 5550 7722"
ERASE_BY_EMAIL = """mutation($i: EraseCustomersByEmailInput!) { eraseCustomersByEmail(input: $i) {
  erased customers { id name erasedAt } errors { field code message } } }"""


@pytest.fixture
def env_overrides():
    return {"IRESERVE_RECONCILE_WAIT": "10", "IRESERVE_RETRY_BASE": "1", "IRESERVE_RETRY_MAX": "1"}


async def two_stays_of_one_guest(gql) -> tuple[dict, dict]:
    _, objects = await configured(gql)
    first = await create_booking(gql, objects["Studio 1"], future(), future(11), status="confirmed", email=EMAIL,
                                 phone=PHONE)
    second = await create_booking(gql, objects["Studio 2"], future(20), future(22), status="confirmed",
                                  email=EMAIL.upper(), phone=PHONE)
    assert [first["access"][0]["state"], second["access"][0]["state"]] == ["ACTIVE", "ACTIVE"]
    return first, second


async def test_both_customers_lose_their_door_access_first_then_their_data(gql, host, memory, vendor):
    first, second = await two_stays_of_one_guest(gql)
    assert len(vendor.active_sets()) == 2
    answer = (await gql(ERASE_BY_EMAIL, {"i": {"email": EMAIL}}))["eraseCustomersByEmail"]
    assert answer["errors"] == [] and answer["erased"] == 2
    assert vendor.active_sets() == [], "both sets revoked at the lock"
    for made in (first, second):
        assert (await booking(gql, made["id"]))["access"][0]["state"] == "REVOKED"
    assert await rows_mentioning(host, [EMAIL, PHONE]) == []


async def test_while_one_revoke_is_unconfirmed_nothing_is_erased(gql, host, clock, memory, vendor):
    first, second = await two_stays_of_one_guest(gql)
    vendor.fail("revoke", kind="transient", times=1)  # the first revoke fails once; the second goes through
    answer = (await gql(ERASE_BY_EMAIL, {"i": {"email": EMAIL}}))["eraseCustomersByEmail"]
    assert answer["erased"] == 0 and answer["customers"] == []
    [error] = answer["errors"]
    assert error["code"] == "ACCESS_STILL_LIVE" and error["field"] == "email"
    assert len(vendor.active_sets()) == 1
    # Both customers kept, and where their links went (the journal's deliveries) with them.
    assert {t for t, _ in await rows_mentioning(host, [EMAIL])} == {"booking_customer", "door_access_set"}

    clock.advance(5)
    await Worker(host).run_until_idle()
    assert vendor.active_sets() == []
    answer = (await gql(ERASE_BY_EMAIL, {"i": {"email": EMAIL}}))["eraseCustomersByEmail"]
    assert answer["errors"] == [] and answer["erased"] == 2
    assert await rows_mentioning(host, [EMAIL, PHONE]) == []
