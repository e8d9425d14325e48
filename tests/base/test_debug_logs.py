"""At DEBUG the log stays free of secrets and personal data: `ireserve serve` with
IRESERVE_LOG_LEVEL=DEBUG, a person signs in, a WebSocket opens with the session cookie and
another with a bearer token, a guest's booking is made and the guest erased — and no line of the
server's output carries the cookie, the CSRF token, the token (or a part of it), the password,
its hash, or the guest's name, e-mail address or phone number. (What uvicorn and the websockets
library log of each connection's headers and frames, what aiosqlite and SQLAlchemy log of each
statement's parameters, is kept out; addon/base/core/logs.py.)"""

from __future__ import annotations

import json
import shutil

import httpx
import pytest
from sqlalchemy import select

from addon.base.core.events import commit
from addon.base.core.host import load_host
from addon.base.core.principal import Role
from addon.base.identity import sessions
from addon.base.identity.auth import create_token
from addon.base.identity.models import User
from addon.base.identity.users import create_user
from tests.conftest import base_environ
from tests.support.live_server import open_socket
from tests.support.processes import free_port, start, stop, until_serving

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery staple 42"
GUEST = {"name": "Genoveva Thistlewood-Marchetti", "email": "genoveva.thistlewood@debug-log.example",
         "phone": "+31 6 7781 2290", "language": "it"}
CREATE = """mutation($i: CreateBookingInput!) { createBooking(input: $i) { booking { id customer { id } } errors { code } } }"""
OBJECT = """mutation { createObject(input: {code: "loft", name: "Loft"}) { object { id } errors { code } } }"""
ERASE = """mutation($i: EraseCustomerInput!) { eraseCustomer(input: $i) { customer { name } errors { code } } }"""
WATCH = "subscription($id: ID!) { bookingAccessChanged(bookingId: $id) { state } }"


async def prepared(database_url: str, tmp_path) -> tuple[str, str]:
    """An admin who signs in with PASSWORD and an admin API token; (token, password hash)."""
    host = load_host(environ=base_environ(tmp_path, database_url))
    try:
        async with host.database.session() as session:
            user = await create_user(session, email="debby@example.com", name="Debby Admin", role="admin",
                                     password=PASSWORD)
            token = await create_token(session, "debug-log-test", Role.ADMIN)
            await commit(session)
        async with host.database.session(read_only=True) as session:
            password_hash = (await session.execute(select(User.password_hash).where(User.id == user.id))).scalar_one()
    finally:
        await host.database.dispose()
    return token, password_hash


def leaks(output: str, secrets: dict[str, str]) -> list[str]:
    """The secrets found in the output: as they are, JSON-escaped, and (for tokens) any long part."""
    found = []
    lowered = output.lower()
    for label, value in secrets.items():
        forms = {value, json.dumps(value)[1:-1], value.lower()}
        if label in ("token", "session cookie", "csrf token"):
            body = value.removeprefix("irs_")
            forms |= {body[:12], body[-12:], body[len(body) // 2 - 6:len(body) // 2 + 6]}
        if any(form.lower() in lowered for form in forms if form):
            found.append(label)
    return found


async def test_a_debug_log_carries_no_cookie_token_password_or_guest_data(sqlite_template, tmp_path):
    served = tmp_path / "served.sqlite3"
    shutil.copyfile(sqlite_template, served)
    database_url = f"sqlite+aiosqlite:///{served}"
    token, password_hash = await prepared(database_url, tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environ = base_environ(tmp_path, database_url, IRESERVE_PORT=str(port), IRESERVE_LOG_LEVEL="DEBUG",
                           IRESERVE_LOG_FORMAT="json")
    log = tmp_path / "serve.log"
    server = start(["serve"], environ, log)
    try:
        await until_serving(url, server, log, path="/readyz")
        async with httpx.AsyncClient(base_url=url) as client:
            signed_in = await client.post("/admin/login", data={"email": "debby@example.com", "password": PASSWORD},
                                          headers={"Origin": url})
            assert signed_in.status_code == 303, signed_in.text
            session_id = signed_in.cookies[sessions.SESSION_COOKIE]
            csrf = signed_in.cookies[sessions.CSRF_COOKIE]
            browser = {"Origin": url, sessions.CSRF_HEADER: csrf}
            bearer = {"Authorization": f"Bearer {token}"}

            made = (await client.post("/graphql", json={"query": OBJECT}, headers=browser)).json()
            object_id = made["data"]["createObject"]["object"]["id"]
            booked = (await client.post("/graphql", headers=bearer, json={"query": CREATE, "variables": {"i": {
                "objectId": object_id, "customer": GUEST, "start": "2031-05-01T14:00:00Z",
                "end": "2031-05-03T10:00:00Z"}}})).json()["data"]["createBooking"]
            assert booked["errors"] == []
            booking_id = booked["booking"]["id"]

            cookie = {"Cookie": f"{sessions.SESSION_COOKIE}={session_id}; {sessions.CSRF_COOKIE}={csrf}"}
            async with open_socket(f"ws://127.0.0.1:{port}/graphql", headers=cookie, origin=url) as socket:
                assert (await socket.init())["type"] == "connection_ack"
                await socket.subscribe("1", WATCH, {"id": booking_id})
                assert (await socket.next("1"))["type"] == "next"
            async with open_socket(f"ws://127.0.0.1:{port}/graphql", headers=cookie, origin=url) as socket:
                assert (await socket.init({"Authorization": f"Bearer {token}"}))["type"] == "connection_ack"
                await socket.subscribe("2", WATCH, {"id": booking_id})
                assert (await socket.next("2"))["type"] == "next"

            erased = (await client.post("/graphql", headers=bearer, json={"query": ERASE, "variables": {
                "i": {"customerId": booked["booking"]["customer"]["id"]}}})).json()
            assert erased["data"]["eraseCustomer"] == {"customer": {"name": "[erased]"}, "errors": []}
            # A body that is not UTF-8 is the caller's mistake: a 400 in JSON, no traceback.
            broken = await client.post("/graphql", content=b'{"query": "\xff"}', headers={
                **bearer, "Content-Type": "application/json"})
            assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    finally:
        assert stop(server) == 0
    output = log.read_text()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line["level"] == "debug" for line in lines), "the server did log at DEBUG"
    assert any(line.get("logger") == "addon.base.request" and line.get("path") == "/graphql" for line in lines)
    assert "Traceback" not in output
    secrets = {"session cookie": session_id, "csrf token": csrf, "token": token, "password": PASSWORD,
               "password hash": password_hash, **{f"guest {key}": value for key, value in GUEST.items()
                                                  if key != "language"}}
    assert leaks(output, secrets) == []
