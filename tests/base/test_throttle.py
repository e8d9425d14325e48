"""Failed sign-ins are throttled per e-mail address and per client address: growing delays, then
a lock-out window; on the host's clock (tests move it), in the database (all processes share it),
with the same answer whether or not the address belongs to anyone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from addon.base.identity.sessions import SignInSettings
from addon.base.identity.throttle import ACCOUNT, ADDRESS, Limits, limits
from tests.base.identity_helpers import PASSWORD, add_user, browser, events, sign_in

pytestmark = pytest.mark.anyio

WRONG = "not-her-password-at-all"


async def attempt(app, email: str = "anna@example.com", password: str = WRONG, address: str = "127.0.0.1"):
    async with browser(app, address=address) as client:
        return await sign_in(client, email, password)


def waits(response) -> str:
    assert response.status_code == 429, response.text
    assert "Too many failed sign-in attempts. Try again in" in response.text
    return response.text.split("Try again in ", 1)[1].split(".", 1)[0]


def test_the_delays_double_then_lock_out():
    table = limits(SignInSettings())
    account, address = table[ACCOUNT], table[ADDRESS]
    assert [account.wait_after(n).total_seconds() for n in range(0, 11)] == [
        0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 900]
    assert address.wait_after(9) == timedelta(0) and address.wait_after(10) == timedelta(seconds=2)
    assert address.wait_after(30) == timedelta(minutes=15)
    assert Limits(1, 30, timedelta(minutes=15)).wait_after(25) == timedelta(minutes=15), "never beyond the window"


async def test_after_three_failures_each_attempt_waits_longer(host, app, clock):
    await add_user(host)
    for _ in range(3):
        assert (await attempt(app)).status_code == 401
    refused = await attempt(app, password=PASSWORD)
    assert waits(refused) == "2 seconds" and refused.headers["retry-after"] == "2"
    assert "ireserve_session" not in refused.headers.get("set-cookie", ""), "even the right password waits"

    clock.advance(2)
    assert (await attempt(app)).status_code == 401
    assert waits(await attempt(app)) == "4 seconds"
    clock.advance(3)
    assert waits(await attempt(app)) == "1 second", "counted from the last failure"
    clock.advance(1)
    assert (await attempt(app)).status_code == 401
    assert waits(await attempt(app)) == "8 seconds"

    clock.advance(8)
    assert (await attempt(app, password=PASSWORD)).status_code == 303
    for _ in range(3):
        assert (await attempt(app)).status_code == 401, "a sign-in starts the count afresh"


async def test_ten_failures_lock_the_account_for_fifteen_minutes(host, app, clock):
    await add_user(host)
    for failure in range(1, 11):
        assert (await attempt(app)).status_code == 401, failure
        clock.advance(2 ** max(0, failure - 2))  # wait out each delay
    clock.advance(-2 ** 8)  # back to just after the tenth failure
    locked = await attempt(app, password=PASSWORD)
    assert waits(locked) == "15 minutes" and locked.headers["retry-after"] == "900"
    [event] = await events(host, "signin.locked")
    assert event.changes == {"email": [None, "anna@example.com"]} and event.actor_kind == "anonymous"
    assert len(await events(host, "signin.failure")) == 10, "a refused attempt is not a failure"

    clock.advance(minutes=14)
    assert waits(await attempt(app, password=PASSWORD)) == "1 minute"
    assert len(await events(host, "signin.locked")) == 1, "reported once"
    clock.advance(minutes=1)
    assert (await attempt(app, password=PASSWORD)).status_code == 303


async def test_an_unknown_address_is_throttled_the_same_way(host, app):
    await add_user(host)
    for email in ("anna@example.com", "nobody@example.com"):
        for _ in range(3):
            assert (await attempt(app, email, address="203.0.113.9")).status_code == 401
    known = await attempt(app, "anna@example.com", address="203.0.113.9")
    unknown = await attempt(app, "nobody@example.com", address="203.0.113.9")
    assert waits(known) == waits(unknown) == "2 seconds"
    assert known.text.replace("anna@", "") == unknown.text.replace("nobody@", "")


async def test_case_and_spaces_do_not_make_a_new_account(host, app):
    for email in ("anna@example.com", "ANNA@example.com", " Anna@Example.com "):
        assert (await attempt(app, email)).status_code == 401
    assert waits(await attempt(app, "anna@EXAMPLE.com")) == "2 seconds"


async def test_failures_are_forgiven_after_the_window(host, app, clock):
    await add_user(host)
    for _ in range(3):
        await attempt(app)
    clock.advance(minutes=15)
    for _ in range(3):
        assert (await attempt(app)).status_code == 401


class TestPerClientAddress:
    @pytest.fixture
    def env_overrides(self):
        return {"IRESERVE_SIGNIN_FREE_FAILURES": "2", "IRESERVE_SIGNIN_LOCKOUT_FAILURES": "3",
                "IRESERVE_SIGNIN_ADDRESS_LOCKOUT_FAILURES": "5"}

    async def test_one_address_trying_many_accounts_is_slowed_then_locked(self, host, app, clock):
        await add_user(host)
        for n in range(3):  # a different account each time: no account is throttled
            assert (await attempt(app, f"guess{n}@example.com", address="192.0.2.66")).status_code == 401
        assert waits(await attempt(app, "fresh@example.com", address="192.0.2.66")) == "2 seconds"
        clock.advance(2)
        assert (await attempt(app, "guess3@example.com", address="192.0.2.66")).status_code == 401
        clock.advance(4)
        assert (await attempt(app, "guess4@example.com", address="192.0.2.66")).status_code == 401
        assert waits(await attempt(app, "anna@example.com", PASSWORD, address="192.0.2.66")) == "15 minutes"
        assert (await attempt(app, "anna@example.com", PASSWORD, address="192.0.2.77")).status_code == 303, (
            "another address is not affected")
        [event] = await events(host, "signin.locked")
        assert event.changes == {"address": [None, "192.0.2.66"]}

    async def test_a_sign_in_gives_the_address_its_attempt_back(self, host, app):
        await add_user(host)
        await attempt(app, "guess@example.com", address="192.0.2.66")
        await attempt(app, "other@example.com", address="192.0.2.66")
        for _ in range(3):
            assert (await attempt(app, "anna@example.com", PASSWORD, address="192.0.2.66")).status_code == 303
        assert (await attempt(app, "third@example.com", address="192.0.2.66")).status_code == 401


@pytest.mark.all_databases
async def test_attempts_sent_at_once_cannot_slip_past_the_limit(host, app):
    """Each attempt is counted before its password is checked, in the database."""
    await add_user(host)
    answers = await asyncio.gather(*(attempt(app) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [401, 401, 401, 429, 429, 429]
    assert len(await events(host, "signin.failure")) == 3
