"""Helpers for the tests of users, sign-in, sessions, CSRF, throttling and tokens.

A browser is an httpx client with a cookie jar on ``http://127.0.0.1`` (a loopback address, so
the cookies come without ``Secure`` and the jar sends them back over plain http)."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
from sqlalchemy import select

from addon.base.core.events import commit
from addon.base.identity.audit import AuditEvent
from addon.base.identity.models import User
from addon.base.identity.sessions import CSRF_COOKIE, CSRF_HEADER
from addon.base.identity.users import create_user

ORIGIN = "http://127.0.0.1"
PASSWORD = "violet-tractor-harbour-42"
VIEWER = "{ viewer { kind name role email } }"


@asynccontextmanager
async def browser(app, base_url: str = ORIGIN, address: str = "127.0.0.1"):
    """A client that keeps cookies, as a browser would, coming from client ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 51000))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


async def add_user(host, email: str = "anna@example.com", name: str = "Anna Admin", role: str = "admin",
                   password: str = PASSWORD) -> User:
    async with host.database.session() as session:
        user = await create_user(session, email=email, name=name, role=role, password=password)
        await commit(session)
    return user


async def sign_in(client: httpx.AsyncClient, email: str = "anna@example.com", password: str = PASSWORD,
                  **extra) -> httpx.Response:
    return await client.post("/admin/login", data={"email": email, "password": password, **extra})


async def signed_in(client: httpx.AsyncClient, email: str = "anna@example.com", password: str = PASSWORD) -> None:
    response = await sign_in(client, email, password)
    assert response.status_code == 303, response.text
    assert client.cookies.get("ireserve_session"), "the sign-in set the session cookie"


def csrf_headers(client: httpx.AsyncClient, origin: str = ORIGIN) -> dict[str, str]:
    """What our own pages send with a request: the CSRF token from its cookie, and our Origin."""
    return {CSRF_HEADER: client.cookies.get(CSRF_COOKIE) or "", "Origin": origin}


async def graphql(client: httpx.AsyncClient, query: str, variables: dict | None = None, *, csrf: bool = True,
                  headers: dict | None = None) -> httpx.Response:
    sent = {**(csrf_headers(client) if csrf else {}), **(headers or {})}
    return await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)


def code_of(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"].get("code") if errors else None


async def events(host, action: str | None = None) -> list[AuditEvent]:
    async with host.database.session(read_only=True) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list((await session.execute(query)).scalars())


def dumped(rows) -> str:
    """Every value of the rows as one text, to look for what must not be there."""
    return " ".join(str(value) for row in rows for value in row.model_dump().values())
