"""Signing in with a browser: the page, the form, the cookies, one answer for every wrong sign-in,
a new session at every sign-in, and what the audit trail keeps of it (never a password)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from starlette.requests import Request

from addon.base.core.i18n import Message
from addon.base.identity import passwords
from addon.base.identity.models import User, UserSession
from addon.base.identity.sessions import csrf_token_for, hash_session_id, is_loopback
from tests.base.identity_helpers import (
    PASSWORD,
    VIEWER,
    add_user,
    browser,
    dumped,
    events,
    graphql,
    sign_in,
    signed_in,
)

pytestmark = pytest.mark.anyio


def set_cookie_headers(response) -> dict[str, str]:
    """Set-Cookie headers by cookie name."""
    return {value.split("=", 1)[0]: value for value in response.headers.get_list("set-cookie")}


async def test_the_page_is_plain_and_labelled(app):
    async with browser(app) as client:
        response = await client.get("/admin/login", params={"next": "/graphql"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert re.search(r'<label for="email">Email</label>\s*<input id="email" name="email" type="email"', page)
    assert re.search(r'<label for="password">Password</label>\s*<input id="password" name="password" type="password"',
                     page)
    assert '<button type="submit">Sign in</button>' in page
    assert '<input type="hidden" name="next" value="/graphql">' in page
    assert "<script" not in page and "http://" not in page and "https://" not in page, "no external resources"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_the_page_speaks_the_readers_language(app):
    async with browser(app) as client:
        page = (await client.get("/admin/login", headers={"Accept-Language": "nl"})).text
    assert '<html lang="nl">' in page
    for text in ("Email", "Password", "Sign in"):
        assert f">{Message(text).text('nl')}</" in page


async def test_signing_in_sets_the_cookies_and_the_viewer_is_the_person(host, app):
    user = await add_user(host)
    async with browser(app) as client:
        response = await sign_in(client, "  Anna@Example.COM ", next="/graphql")
        assert response.status_code == 303
        assert response.headers["location"] == "/graphql"
        cookies = set_cookie_headers(response)
        session_cookie, csrf_cookie = cookies["ireserve_session"].lower(), cookies["ireserve_csrf"].lower()
        for cookie in (session_cookie, csrf_cookie):
            assert "samesite=lax" in cookie and "path=/" in cookie and "max-age=43200" in cookie
            assert "secure" not in cookie, "no Secure on a loopback address (plain http)"
        assert "httponly" in session_cookie
        assert "httponly" not in csrf_cookie, "our pages read the CSRF token"
        session_id = client.cookies["ireserve_session"]
        assert client.cookies["ireserve_csrf"] == csrf_token_for(session_id) != session_id

        body = (await graphql(client, VIEWER)).json()
    assert body == {"data": {"viewer": {"kind": "USER", "name": "Anna Admin", "role": "ADMIN",
                                        "email": "anna@example.com"}}}
    async with host.database.session(read_only=True) as session:
        [row] = (await session.execute(select(UserSession))).scalars().all()
        signed_in_user = await session.get(User, user.id)
    assert row.token_hash == hash_session_id(session_id) and session_id not in dumped([row])
    assert row.user_id == user.id and row.address == "127.0.0.1"
    assert signed_in_user.last_signin_at is not None


async def test_the_page_shows_who_is_signed_in_with_a_sign_out_button(host, app):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        page = (await client.get("/admin/login")).text
        token = client.cookies["ireserve_csrf"]
    assert "Anna Admin" in page and "anna@example.com" in page
    assert '<form method="post" action="/admin/logout">' in page
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in page
    assert '<button type="submit">Sign out</button>' in page


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"])
async def test_sign_in_goes_on_only_to_a_page_of_this_site(host, app, next_path):
    await add_user(host)
    async with browser(app) as client:
        response = await sign_in(client, next=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login"


async def test_wrong_password_and_unknown_address_get_the_same_answer(host, app, monkeypatch):
    await add_user(host)
    checked = []
    real = passwords.HASHER

    class Spy:
        def verify(self, stored_hash, password):
            checked.append(stored_hash)
            return real.verify(stored_hash, password)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(passwords, "HASHER", Spy())
    async with browser(app) as client:
        wrong = await sign_in(client, "anna@example.com", "not-the-password-at-all")
        unknown = await sign_in(client, "nobody@example.com", "not-the-password-at-all")
        assert not client.cookies.get("ireserve_session")
    assert wrong.status_code == unknown.status_code == 401
    assert "Wrong e-mail address or password." in wrong.text
    assert wrong.text.replace("anna@", "") == unknown.text.replace("nobody@", ""), "same page but the address typed"
    # Both cost one argon2id check: the unknown address is checked against a dummy hash.
    assert len(checked) == 2 and all(h.startswith("$argon2id$") for h in checked)


async def test_a_disabled_user_cannot_sign_in_and_gets_the_same_answer(host, app):
    user = await add_user(host)
    async with host.database.session() as session:
        await session.execute(update(User).where(User.id == user.id).values(active=False))
        await session.commit()
    async with browser(app) as client:
        response = await sign_in(client)
        assert response.status_code == 401 and "Wrong e-mail address or password." in response.text
        assert not client.cookies.get("ireserve_session")


async def test_an_empty_form_is_refused_without_counting(host, app):
    async with browser(app) as client:
        response = await client.post("/admin/login", data={"email": "anna@example.com"})
        assert response.status_code == 400 and "Enter your e-mail address and your password." in response.text
        assert (await client.post("/admin/login", content=b"x" * 10_000,
                                  headers={"content-type": "application/x-www-form-urlencoded"})).status_code == 400
    assert await events(host, "signin.failure") == []


async def test_a_sign_in_posted_from_another_site_is_refused(host, app):
    await add_user(host)
    async with browser(app) as client:
        response = await client.post("/admin/login", data={"email": "anna@example.com", "password": PASSWORD},
                                     headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
        assert "another site" in response.text
        assert not client.cookies.get("ireserve_session")


async def test_every_sign_in_starts_a_new_session_and_ends_the_old_one(host, app):
    await add_user(host)
    async with browser(app) as client:
        await signed_in(client)
        first = client.cookies["ireserve_session"]
        await signed_in(client)
        second = client.cookies["ireserve_session"]
    assert first != second
    async with host.database.session(read_only=True) as session:
        hashes = (await session.execute(select(UserSession.token_hash))).scalars().all()
    assert hashes == [hash_session_id(second)], "the session the browser brought has ended"


async def test_cookies_are_secure_outside_loopback(host, app):
    await add_user(host)
    async with browser(app, base_url="http://testserver") as client:
        response = await sign_in(client)
    assert response.status_code == 303
    for cookie in set_cookie_headers(response).values():
        assert "; secure" in cookie.lower()


@pytest.mark.parametrize("host_header, loopback", [
    ("127.0.0.1:8000", True), ("localhost", True), ("[::1]:8000", True), ("127.0.0.2", True),
    ("app.localhost", True), ("testserver", False), ("booking.example.com", False), ("10.0.0.5:8000", False),
    ("192.168.1.2", False),
])
def test_which_hosts_are_loopback(host_header, loopback):
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "scheme": "http",
             "headers": [(b"host", host_header.encode())], "server": ("127.0.0.1", 8000)}
    assert is_loopback(Request(scope)) is loopback


async def test_the_audit_trail_records_sign_ins_without_secrets(host, app):
    user = await add_user(host)
    async with browser(app, address="198.51.100.7") as client:
        await sign_in(client, "anna@example.com", "Wrong-Password-123")
        await sign_in(client, "ghost@example.com", "Wrong-Password-456")
        await signed_in(client)
        session_id = client.cookies["ireserve_session"]
    failures = await events(host, "signin.failure")
    assert [(e.actor_kind, e.address, e.changes) for e in failures] == [
        ("anonymous", "198.51.100.7", {"email": [None, "anna@example.com"]}),
        ("anonymous", "198.51.100.7", {"email": [None, "ghost@example.com"]}),
    ]
    assert all(e.target_id is None for e in failures), "nothing says whether the address is a user's"
    [success] = await events(host, "signin.success")
    assert (success.actor_kind, success.actor_id, success.actor_name, success.address) == (
        "user", user.id, "Anna Admin", "198.51.100.7")
    assert (success.target_type, success.target_id) == ("user", str(user.id))
    everything = dumped(await events(host))
    for secret in ("Wrong-Password-123", "Wrong-Password-456", PASSWORD, session_id, csrf_token_for(session_id)):
        assert secret not in everything


async def test_a_password_stored_with_older_parameters_is_rehashed_at_sign_in(host, app):
    from argon2 import PasswordHasher

    user = await add_user(host)
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    async with host.database.session() as session:
        await session.execute(update(User).where(User.id == user.id).values(password_hash=old))
        await session.commit()
    async with browser(app) as client:
        await signed_in(client)
    async with host.database.session(read_only=True) as session:
        stored = (await session.get(User, user.id)).password_hash
    assert stored != old and not passwords.needs_rehash(stored)


async def test_a_busy_database_asks_to_try_again(host, app, monkeypatch):
    import sqlite3
    from contextlib import asynccontextmanager

    from sqlalchemy.exc import OperationalError

    @asynccontextmanager
    async def locked(**_options):
        raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        yield

    monkeypatch.setattr(host.database, "session", locked)
    async with browser(app) as client:
        response = await sign_in(client)
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert "The database is busy; try again in a moment." in response.text
