"""Server-side sessions: the idle and the absolute expiry (on the host's clock), sign-out on the
server, and a disabled user refused at once even with a live session."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from addon.base.identity.models import User, UserSession
from tests.base.identity_helpers import (
    VIEWER,
    add_user,
    browser,
    code_of,
    events,
    graphql,
    signed_in,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def env_overrides() -> dict[str, str]:
    return {"IRESERVE_SESSION_HOURS": "2", "IRESERVE_SESSION_IDLE_MINUTES": "30"}


async def viewer_kind(client) -> str | None:
    body = (await graphql(client, VIEWER)).json()
    if body.get("errors"):
        assert code_of(body) == "UNAUTHENTICATED", body
        return None
    return body["data"]["viewer"]["kind"]


async def session_count(host) -> int:
    async with host.database.session(read_only=True) as session:
        return (await session.execute(select(func.count()).select_from(UserSession))).scalar_one()


async def test_a_session_ends_after_the_idle_time(host, app, clock):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        clock.advance(minutes=29)
        assert await viewer_kind(client) == "USER"
        clock.advance(minutes=29)
        assert await viewer_kind(client) == "USER", "each use starts the idle time afresh"
        clock.advance(minutes=30)
        assert await viewer_kind(client) is None
        page = (await client.get("/admin/login")).text
    assert '<input id="password"' in page, "the page asks to sign in again"
    assert await session_count(host) == 0, "the ended session is deleted"
    [expired] = await events(host, "session.expired")
    assert expired.changes == {"reason": [None, "idle"]} and expired.actor_kind == "user"


async def test_a_session_ends_at_its_absolute_expiry_however_busy(host, app, clock):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        for _ in range(5):  # used every 20 minutes: never idle, for 1 h 40 min
            clock.advance(minutes=20)
            assert await viewer_kind(client) == "USER"
        clock.advance(minutes=20)  # two hours after signing in
        assert await viewer_kind(client) is None
    [expired] = await events(host, "session.expired")
    assert expired.changes == {"reason": [None, "absolute"]}


async def test_use_is_written_at_most_once_a_minute(host, app, clock):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        started = clock.now()
        clock.advance(seconds=30)
        await viewer_kind(client)
        async with host.database.session(read_only=True) as session:
            assert (await session.execute(select(UserSession.last_seen_at))).scalar_one() == started
        clock.advance(seconds=45)
        await viewer_kind(client)
        async with host.database.session(read_only=True) as session:
            assert (await session.execute(select(UserSession.last_seen_at))).scalar_one() == clock.now()


async def test_sign_out_ends_the_session_on_the_server(host, app):
    user = await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        stolen = dict(client.cookies)  # what an attacker may have copied
        response = await client.post("/admin/logout", data={"csrf_token": client.cookies["ireserve_csrf"]})
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
        assert not client.cookies.get("ireserve_session"), "the browser's cookie is cleared"
    assert await session_count(host) == 0
    async with browser(app) as thief:
        thief.cookies.update(stolen)
        assert await viewer_kind(thief) is None, "the old cookie no longer signs anyone in"
    [signout] = await events(host, "signout")
    assert (signout.actor_kind, signout.actor_id, signout.target_id) == ("user", user.id, str(user.id))


@pytest.mark.parametrize("sent", [{}, {"csrf_token": "forged"}])
async def test_sign_out_needs_the_csrf_token(host, app, sent):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        response = await client.post("/admin/logout", data=sent)
        assert response.status_code == 403
        assert await viewer_kind(client) == "USER", "still signed in"
    assert await session_count(host) == 1 and await events(host, "signout") == []


async def test_sign_out_takes_the_token_in_the_header_too(host, app):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        response = await client.post("/admin/logout", headers={"X-CSRF-Token": client.cookies["ireserve_csrf"]})
    assert response.status_code == 303 and await session_count(host) == 0


async def test_sign_out_without_a_session_just_clears_the_cookies(app):
    async with browser(app) as client:
        client.cookies.set("ireserve_session", "no-such-session")
        response = await client.post("/admin/logout")
    assert response.status_code == 303
    assert 'ireserve_session="";' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]


async def test_a_disabled_user_is_refused_at_once_with_a_live_session(host, app, gql):
    user = await add_user(host, "sam@example.com", "Sam Staff", "staff")
    async with browser(app) as client:
        await signed_in(client, "sam@example.com")
        assert await viewer_kind(client) == "USER"
        data = await gql("""mutation($input: SetUserActiveInput!) {
            setUserActive(input: $input) { user { active } errors { code } } }""",
                         {"input": {"userId": str(user.id), "active": False}})
        assert data["setUserActive"] == {"user": {"active": False}, "errors": []}
        assert await viewer_kind(client) is None
    assert await session_count(host) == 0


async def test_a_user_disabled_behind_the_sessions_back_is_refused_too(host, app):
    """Even if only the flag changed (no session was deleted), the next request is refused."""
    user = await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        async with host.database.session() as session:
            await session.execute(update(User).where(User.id == user.id).values(active=False))
            await session.commit()
        assert await viewer_kind(client) is None
        assert '<input id="password"' in (await client.get("/admin/login")).text


async def test_a_new_password_ends_the_sessions(host, app, gql):
    user = await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        data = await gql("""mutation($input: SetUserPasswordInput!) {
            setUserPassword(input: $input) { user { email } errors { code } } }""",
                         {"input": {"userId": str(user.id), "password": "a-brand-new-passphrase"}})
        assert data["setUserPassword"]["errors"] == []
        assert await viewer_kind(client) is None
        await signed_in(client, password="a-brand-new-passphrase")
        assert await viewer_kind(client) == "USER"
