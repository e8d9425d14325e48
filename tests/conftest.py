"""Shared fixtures: a migrated database per test (SQLite; also a real PostgreSQL for modules
marked ``all_databases``), the host on a manual clock, an HTTP client on the ASGI app, API tokens
and a GraphQL helper."""

from __future__ import annotations

import os
import shutil
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from addon.base.public import (
    Host,
    Role,
    commit,
    create_app,
    create_token,
    load_host,
    upgrade,
)
from addon.door_access.public import call_log
from tests.support.clock import ManualClock
from tests.support.postgres import PostgresUnavailable, running_postgres

BACKENDS = ["sqlite", "postgres"]


def pytest_generate_tests(metafunc):
    """Every test that uses the database runs on SQLite; tests of locking, claiming, migrations,
    concurrency and SQL dialects (modules or tests marked ``all_databases``) on PostgreSQL too."""
    if "database_url" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("all_databases") is not None
        metafunc.parametrize("database_url", BACKENDS if both else ["sqlite"], indirect=True)


@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_server():
    try:
        with running_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        message = f"PostgreSQL could not be started, the PostgreSQL suite cannot run: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        warnings.warn(message)
        pytest.skip(message)


def base_environ(tmp_path: Path, database_url: str | None = None, **overrides: str) -> dict[str, str]:
    """The environment of a test host: the process's, minus our settings, plus a private var
    directory, no worker and no sandbox; ``overrides`` by variable name."""
    ours = ("IRESERVE_", "RESIVO_", "SALTO_KS_")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ours) and k != "DATABASE_URL"}
    environ.update({
        "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}",
        "IRESERVE_VAR_DIR": str(tmp_path),
        "IRESERVE_SECRET_KEY_FILE": str(tmp_path / "secret.key"),
        "IRESERVE_SANDBOX": "false",
        "IRESERVE_WORKER": "false",
        "RESIVO_ALLOW_PRIVATE_BASE_URL": "true",  # the sandbox is on loopback (or a made-up name)
    })
    environ.update({name: str(value) for name, value in overrides.items()})
    return environ


def run_aside(coroutine_function, *args):
    """Run a coroutine to completion on its own loop in a thread (for synchronous fixtures)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function(*args)).result()


async def _migrate(environ: dict[str, str]) -> None:
    host = load_host(environ=environ)
    try:
        await upgrade(host)
    finally:
        await host.database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file; each test gets a copy (cheaper than migrating each time)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    run_aside(_migrate, base_environ(folder, database_url=f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server, tmp_path_factory):
    """A migrated PostgreSQL database used as TEMPLATE for each test's own database."""
    postgres_server.create_database("ireserve_template")
    folder = tmp_path_factory.mktemp("pg-template")
    run_aside(_migrate, base_environ(folder, database_url=postgres_server.url(database="ireserve_template")))
    return "ireserve_template"


async def _postgres_admin(server, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(server.url(driver=None, database="postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def database_url(request, tmp_path):
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    name = "t_" + uuid.uuid4().hex[:12]
    run_aside(_postgres_admin, server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield server.url(database=name)
    run_aside(_postgres_admin, server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_server, postgres_template):
    """A migrated PostgreSQL database of its own, for tests that start real processes on it."""
    name = "t_" + uuid.uuid4().hex[:12]
    run_aside(_postgres_admin, postgres_server, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield postgres_server.url(database=name)
    run_aside(_postgres_admin, postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def env_overrides() -> dict[str, str]:
    """Override in a test module to set environment variables (settings) for its hosts."""
    return {}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def host(database_url, tmp_path, env_overrides, clock) -> Host:
    host = load_host(environ=base_environ(tmp_path, database_url, **env_overrides), clock=clock)
    yield host
    # The call log writes in a background task; let it finish before the pool goes (as the app's
    # shutdown does), or its connection is left to the garbage collector after the loop closed.
    await call_log(host).flush()
    await host.database.dispose()


@pytest.fixture
async def app(host):
    return create_app(host)


@pytest.fixture
async def http(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def tokens(host) -> dict[str, str]:
    async with host.database.session() as session:
        made = {role.name.lower(): await create_token(session, f"test-{role.name.lower()}", role) for role in Role}
        await commit(session)
    return made


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, token: str | None) -> None:
        self.http = http
        self.token = token

    async def raw(self, query: str, variables: dict | None = None, token: str | None = "default", headers=None) -> dict:
        token = self.token if token == "default" else token
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        response = await self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=sent)
        assert response.status_code == 200, response.text
        return response.json()

    async def __call__(self, query: str, variables: dict | None = None, **kwargs) -> dict:
        """Execute and insist on no GraphQL errors; returns ``data``."""
        body = await self.raw(query, variables, **kwargs)
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture
def gql(http, tokens) -> GraphQLClient:
    return GraphQLClient(http, tokens["admin"])


@contextmanager
def count_statements(host: Host):
    """Count SQL statements sent on the host's engine inside the block."""
    from sqlalchemy import event

    counter = {"n": 0, "sql": []}

    def before(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            counter["n"] += 1
            counter["sql"].append(statement)

    event.listen(host.database.engine.sync_engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(host.database.engine.sync_engine, "before_cursor_execute", before)
