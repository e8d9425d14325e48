"""Reaching the database at start-up: PostgreSQL given in parts with a password no URL could hold
as typed (a real server that checks it), the wait with backoff while the database is not up yet
(one log line per attempt), and a clear end — one line, no traceback — when it never answers."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import asyncpg
import pytest
from sqlalchemy import text

from addon.base.public import broker, load_host
from addon.base.runtime.waiting import DatabaseRefused, wait_for_database
from tests.conftest import base_environ
from tests.support.processes import free_port, run

pytestmark = pytest.mark.anyio

AWKWARD_PASSWORD = "p@ss/w#rd%2F:?&= +"


def parts_environ(tmp_path, port: int, database: str, user: str, **extra: str) -> dict[str, str]:
    environ = base_environ(tmp_path)
    del environ["DATABASE_URL"]
    return {**environ, "DATABASE_HOST": "127.0.0.1", "DATABASE_PORT": str(port), "DATABASE_NAME": database,
            "DATABASE_USER": user, **extra}


@pytest.fixture
async def password_role(postgres_server, postgres_url):
    """A role that must sign in with AWKWARD_PASSWORD (SCRAM; the suite's server trusts everyone
    else) on a database of its own."""
    role = "pw_" + uuid.uuid4().hex[:10]
    hba = postgres_server.data_dir / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())  # the first match decides
    admin = await asyncpg.connect(postgres_server.url(driver=None, database="postgres"))
    try:
        quoted = AWKWARD_PASSWORD.replace("'", "''")
        await admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{quoted}'")
        await admin.execute("SELECT pg_reload_conf()")
    finally:
        await admin.close()
    yield role, postgres_url.rsplit("/", 1)[1]


async def test_a_password_with_at_slash_and_hash_reaches_postgresql_in_parts(postgres_server, password_role, tmp_path):
    role, database = password_role
    secret = tmp_path / "postgres_password"
    secret.write_text(AWKWARD_PASSWORD + "\n", encoding="utf-8")  # as an editor saves it
    host = load_host(environ=parts_environ(tmp_path, postgres_server.port, database, role,
                                           DATABASE_PASSWORD_FILE=str(secret)))
    try:
        assert await wait_for_database(host) == 1
        async with host.database.session(read_only=True) as session:
            assert (await session.execute(text("SELECT current_user"))).scalar_one() == role
        # The live-updates connection (LISTEN) is opened from the same settings.
        async with broker(host).subscribe("startup-test") as inbox:
            await broker(host).publish("startup-test", {"n": 1})
            [notice] = await asyncio.wait_for(inbox.next_batch(), 10)
            assert notice.data == {"n": 1}
        await broker(host).aclose()
    finally:
        await host.database.dispose()

    wrong = load_host(environ=parts_environ(tmp_path, postgres_server.port, database, role,
                                            DATABASE_PASSWORD=AWKWARD_PASSWORD + "x"))
    try:
        with pytest.raises(DatabaseRefused, match="password authentication failed"):
            await wait_for_database(wrong)  # no waiting cures a wrong password
    finally:
        await wrong.database.dispose()


async def _forward(reader, writer, target_port: int) -> None:
    upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)

    async def pipe(source, sink) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        finally:
            sink.close()

    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)


async def test_start_up_waits_for_the_database_with_backoff_one_line_per_attempt(postgres_server, postgres_url,
                                                                               tmp_path, caplog):
    """The database's port answers only from the third attempt on (a forwarder to the suite's
    server starts during the second pause): the wait takes three attempts, pausing 0.5 then 1 s."""
    caplog.set_level(logging.INFO, logger="addon.base.database")
    port = free_port()
    host = load_host(environ=parts_environ(tmp_path, port, postgres_url.rsplit("/", 1)[1], "postgres"))
    pauses: list[float] = []
    servers = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # the database "comes up"
            servers.append(await asyncio.start_server(
                lambda r, w: _forward(r, w, postgres_server.port), "127.0.0.1", port))

    try:
        assert await wait_for_database(host, sleep=sleep) == 3
    finally:
        await host.database.dispose()
        for server in servers:
            server.close()
    assert pauses == [0.5, 1.0]
    lines = [r for r in caplog.records if r.name == "addon.base.database"]
    assert [(r.levelname, r.attempt) for r in lines] == [("WARNING", 1), ("WARNING", 2), ("INFO", 3)]
    assert all("ConnectionRefusedError" in r.cause for r in lines[:2])
    assert [r.retry_in_seconds for r in lines[:2]] == [0.5, 1.0]


@pytest.mark.parametrize("arguments", [("db", "upgrade"), ("serve",)], ids=["db-upgrade", "serve"])
def test_a_database_that_never_answers_ends_start_up_with_one_line(arguments, tmp_path):
    environ = parts_environ(tmp_path, free_port(), "ireserve", "ireserve", IRESERVE_DB_STARTUP_WAIT="1",
                            IRESERVE_LOG_FORMAT="json", IRESERVE_PORT=str(free_port()))
    finished = run(arguments, environ, timeout=60)
    assert finished.returncode == 3, finished
    assert "Traceback" not in finished.stderr
    logged = [json.loads(line) for line in finished.stderr.splitlines() if line.startswith("{")]
    attempts = [line for line in logged if line["logger"] == "addon.base.database"]
    assert [(line["level"], line["attempt"]) for line in attempts] == [("warning", 1), ("error", 2)]
    assert all(line["cause"].startswith("ConnectionRefusedError") for line in attempts)
    [said] = [line for line in finished.stderr.splitlines() if line.startswith("ireserve:")]
    assert "did not answer within 1 s" in said and "IRESERVE_DB_STARTUP_WAIT" in said
