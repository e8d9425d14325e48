"""What every scenario shares: fresh migrated databases (SQLite and a real PostgreSQL), a host
with the settings a scenario names, demo data, the in-process Resivo sandbox, the app served by
uvicorn on loopback, the client process, SQL statement counting and the statistics."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import math
import os
import resource
import shutil
import socket
import sqlite3
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first, not the root
    sys.path.insert(0, str(REPO_ROOT))

import httpx  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from addon.base.public import (  # noqa: E402  # noqa: E402
    AFTER_COMMIT_KEY,  # noqa: E402
    Clock,  # noqa: E402
    Database,  # noqa: E402
    Host,
    Role,
    create_token,
    load_host,
    secret_box,  # noqa: E402
    upgrade,  # noqa: E402
)
from addon.booking import services  # noqa: E402
from addon.booking.models import BookingField, BookingFieldValue  # noqa: E402
from addon.door_access.models import (  # noqa: E402
    AccessGrant,
    DoorIntegration,
    DoorMapping,
    GrantState,
)
from addon.door_access.settings import door_settings  # noqa: E402
from addon.resivo.client import ResivoConnector  # noqa: E402
from addon.resivo.connection import CallLogBridge  # noqa: E402
from addon.resivo.credentials import BACKEND_NAME as RESIVO_BACKEND  # noqa: E402
from addon.resivo.models import ResivoCredentials  # noqa: E402
from addon.resivo.sandbox import create_sandbox_app  # noqa: E402
from addon.resivo.settings import resivo_settings  # noqa: E402

SANDBOX_URL = "http://resivo.sandbox"
AUTH_FIELD = "resivo_authorization_id"
STUDIO_DOORS = ["Studio building main door", "Studio building side door"]
LANGUAGES = ["de", "nl", "fr", "en", None]


# --------------------------------------------------------------------------- statistics


def percentile(values: Iterable[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default); q in 0..100."""
    data = sorted(values)
    if not data:
        return None
    position = (len(data) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return data[low] + (data[high] - data[low]) * (position - low)


def summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values) if values else None,
        "min": min(values) if values else None,
        "max": max(values) if values else None,
    }


def medians(runs: list[dict]) -> dict:
    """Median over the repetitions of every number (recursively through dicts); lists are raw."""
    out: dict = {}
    if not runs:
        return out
    for key in runs[0]:
        values = [run.get(key) for run in runs]
        if all(isinstance(v, bool) for v in values):
            out[key] = all(values)
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            out[key] = statistics.median(values)
        elif all(isinstance(v, dict) for v in values):
            nested = medians(values)
            if nested:
                out[key] = nested
    return out


def rounded(value: Any, digits: int = 3) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value


# --------------------------------------------------------------------------- logging


class CountingHandler(logging.Handler):
    """Counts warnings and errors of the product code per message, so a run says what went wrong."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.counts: Counter = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.name}: {record.msg}"] += 1

    def take(self) -> dict[str, int]:
        taken, self.counts = dict(self.counts), Counter()
        return taken


LOG_COUNTER = CountingHandler()


_saved_logging: dict = {}


def setup_logging() -> None:
    """Warnings and errors of the product are counted (and errors shown); uvicorn, httpx and
    alembic keep quiet. ``restore_logging`` undoes it (the smoke test runs inside pytest)."""
    root = logging.getLogger()
    if _saved_logging:
        return
    _saved_logging["root_level"] = root.level
    root.setLevel(logging.WARNING)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.ERROR)
    _saved_logging["handlers"] = [LOG_COUNTER, console]
    for handler in _saved_logging["handlers"]:
        root.addHandler(handler)
    _saved_logging["levels"] = {}
    for noisy in ("uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "alembic"):
        _saved_logging["levels"][noisy] = logging.getLogger(noisy).level
        logging.getLogger(noisy).setLevel(logging.WARNING)


def restore_logging() -> None:
    if not _saved_logging:
        return
    root = logging.getLogger()
    for handler in _saved_logging.pop("handlers"):
        root.removeHandler(handler)
    root.setLevel(_saved_logging.pop("root_level"))
    for name, level in _saved_logging.pop("levels").items():
        logging.getLogger(name).setLevel(level)


# --------------------------------------------------------------------------- databases


def make_environ(workdir: Path, database_url: str, **overrides: str) -> dict[str, str]:
    """The host's environment: the process's (RESIVO_CONCURRENCY, ...), with the database, the
    work folder and whatever a scenario sets explicitly, by variable name (recorded in the results)."""
    environ = {k: v for k, v in os.environ.items() if k != "IRESERVE_SECRET_KEY"}
    environ.update({
        "DATABASE_URL": database_url,
        "IRESERVE_VAR_DIR": str(workdir),
        "IRESERVE_SECRET_KEY_FILE": str(workdir / "secret.key"),
        "IRESERVE_CORS_ORIGINS": "",
        "IRESERVE_SANDBOX": "false",  # the sandbox is wired to the connector directly, not mounted in the app
        "IRESERVE_WORKER": "false",  # scenarios run addon.door_access.worker.Worker themselves
        "IRESERVE_LOG_LEVEL": "WARNING",
        "RESIVO_ALLOW_PRIVATE_BASE_URL": "true",  # the sandbox's made-up host name, like the tests
    })
    environ.update({name: str(value) for name, value in overrides.items()})
    return environ


def settings_record(host: Host) -> dict:
    """The settings the run used, by environment variable (the values as the host read them)."""
    door, resivo, base = door_settings(host), resivo_settings(host), host.settings
    return {
        "RESIVO_CONCURRENCY": resivo.concurrency,
        "IRESERVE_RECONCILE_WAIT": door.reconcile_wait_seconds,
        "RESIVO_CONNECT_TIMEOUT": resivo.connect_timeout,
        "RESIVO_READ_TIMEOUT": resivo.read_timeout,
        "IRESERVE_WORKER_INTERVAL": door.worker_interval_seconds,
        "IRESERVE_WORKER_BATCH": door.worker_batch_size,
        "IRESERVE_RETRY_BASE": door.retry_base_seconds,
        "IRESERVE_RETRY_MAX": door.retry_max_seconds,
        "IRESERVE_MAX_PAGE_SIZE": base.max_page_size,
        "IRESERVE_MAX_QUERY_DEPTH": base.max_query_depth,
        "IRESERVE_DB_POOL_SIZE": base.db_pool_size,
    }


class SQLiteBackend:
    kind = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / "sqlite"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.template = self.workdir / "template.sqlite3"
        self.version = f"SQLite {sqlite3.sqlite_version} (aiosqlite, WAL, file in {self.workdir})"

    async def prepare(self) -> None:
        await migrate(make_environ(self.workdir, f"sqlite+aiosqlite:///{self.template}"))

    async def fresh(self) -> str:
        target = self.workdir / f"run-{uuid.uuid4().hex[:8]}.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"

    async def drop(self, url: str) -> None:
        path = Path(url.split(":///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


class PostgresBackend:
    """A real PostgreSQL started by tests/support/postgres.py (fsync off: throwaway data)."""

    kind = "postgres"
    TEMPLATE = "bench_template"

    def __init__(self, server, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir / "postgres"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.version = "PostgreSQL"

    async def _admin(self, statement: str) -> Any:
        import asyncpg

        connection = await asyncpg.connect(self.server.url(driver=None, database="postgres"))
        try:
            return await connection.fetchval(statement)
        finally:
            await connection.close()

    async def prepare(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.TEMPLATE}"')
        await self._admin(f'CREATE DATABASE "{self.TEMPLATE}"')
        await migrate(make_environ(self.workdir, self.server.url(database=self.TEMPLATE)))
        version = await self._admin("SHOW server_version")
        self.version = f"PostgreSQL {version} (asyncpg, fsync=off, synchronous_commit=off, 127.0.0.1)"

    async def fresh(self) -> str:
        name = "bench_" + uuid.uuid4().hex[:10]
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.TEMPLATE}"')
        return self.server.url(database=name)

    async def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.TEMPLATE}"')


async def migrate(environ: dict[str, str]) -> None:
    """What `ireserve db upgrade` does: alembic upgrade of every addon's branch."""
    host = load_host(environ=environ)
    try:
        await upgrade(host)
    finally:
        await host.database.dispose()


@asynccontextmanager
async def fresh_host(backend, workdir: Path, **overrides: str) -> AsyncIterator[Host]:
    """A host on a database of its own (a copy of the migrated template), dropped afterwards;
    ``overrides`` are environment variables. It runs on the real clock: these are wall-time figures."""
    url = await backend.fresh()
    run_dir = workdir / f"host-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    host = load_host(environ=make_environ(run_dir, url, **overrides), clock=Clock())
    try:
        yield host
    finally:
        await host.database.dispose()
        await backend.drop(url)
        shutil.rmtree(run_dir, ignore_errors=True)


# --------------------------------------------------------------------------- demo data


@dataclasses.dataclass
class World:
    integration_id: int
    objects: dict[str, int]
    field_id: int
    token: str


async def seed_world(host: Host, role: Role = Role.STAFF) -> World:
    """The acceptance set-up of the integration tests, written directly: a booking field for the
    authorisation id, Studio building (Studio 1, Studio 2) and Meeting room, an active
    integration on the sandbox's demo site (trigger confirmed/paid, revoke cancelled, 30 minutes
    before, default nl) mapping Studio building to two doors and Meeting room to one; an API token."""
    async with host.database.session() as session:
        field = await services.create_booking_field(host, session, code=AUTH_FIELD, label="Resivo authorisation id")
        building = await services.create_object(host, session, code="studio-building", name="Studio building",
                                                time_zone="Europe/Amsterdam")
        objects = {"Studio building": building.id}
        for code, name in (("studio-1", "Studio 1"), ("studio-2", "Studio 2")):
            objects[name] = (await services.create_object(host, session, code=code, name=name,
                                                          parent_id=building.id)).id
        objects["Meeting room"] = (await services.create_object(host, session, code="meeting-room",
                                                                name="Meeting room",
                                                                time_zone="Europe/Amsterdam")).id
        integration = DoorIntegration(
            name="Duinpark doors", backend=RESIVO_BACKEND, active=True, trigger_statuses=["confirmed", "paid"],
            revoke_statuses=["cancelled"], time_before_minutes=30, authorization_id_field=AUTH_FIELD,
            default_language="nl",
        )
        session.add(integration)
        await session.flush()
        session.add(ResivoCredentials(
            integration_id=integration.id, site_owner_id="demo-owner", client_id="demo-client",
            client_secret_encrypted=secret_box(host).encrypt("demo-secret"), site_id="demo-site",
            base_url=SANDBOX_URL,
        ))
        session.add(DoorMapping(integration_id=integration.id, object_id=building.id, door_names=STUDIO_DOORS))
        session.add(DoorMapping(integration_id=integration.id, object_id=objects["Meeting room"],
                                door_names=["Meeting room door"]))
        token = await create_token(session, "bench", role)
        await session.commit()
        return World(integration.id, objects, field.id, token)


async def create_bookings(host: Host, world: World, count: int, status: str = "option",
                          chunk: int = 250) -> list[int]:
    """``count`` bookings through the booking service (so a trigger status makes its access grant
    exactly as in production), spread over Studio 1, Studio 2 and Meeting room, customers in
    several languages. The after-commit reconciles are dropped: a grant made here stays PENDING
    and due, for the worker."""
    places = [world.objects["Studio 1"], world.objects["Studio 2"], world.objects["Meeting room"]]
    first_day = datetime.now(timezone.utc).replace(hour=13, minute=0, second=0, microsecond=0) + timedelta(days=7)
    ids: list[int] = []
    for offset in range(0, count, chunk):
        async with host.database.session() as session:
            for i in range(offset, min(count, offset + chunk)):
                start = first_day + timedelta(hours=i)
                booking = await services.create_booking(
                    host, session, object_id=places[i % len(places)],
                    customer=services.CustomerData(name=f"Guest {i}", email=f"guest{i}@example.com",
                                                   language=LANGUAGES[i % len(LANGUAGES)]),
                    start=start, end=start + timedelta(days=2), status=status, reference=f"BENCH{i:06d}",
                    actor="bench",
                )
                ids.append(booking.id)
            session.info.pop(AFTER_COMMIT_KEY, None)
            await session.commit()
    return ids


async def grant_counts(database: Database) -> dict[str, int]:
    async with database.session() as session:
        rows = (await session.execute(
            select(AccessGrant.state, func.count()).group_by(AccessGrant.state)
        )).all()
    return {state: n for state, n in rows}


async def wait_until_active(database: Database, expected: int, timeout: float, poll: float = 0.1,
                            since: float | None = None) -> tuple[float | None, dict, list]:
    """Poll (on a separate engine, so the counted SQL stays the product's) until ``expected``
    grants are ACTIVE. Returns the monotonic time it was first seen (None on timeout), the last
    counts by state, and the progress: [seconds since ``since``, grants ACTIVE] every ~0.5 s."""
    since = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout
    counts: dict = {}
    progress: list = []
    while time.monotonic() < deadline:
        counts = await grant_counts(database)
        now = time.monotonic()
        active = counts.get(GrantState.ACTIVE, 0)
        if not progress or now - since - progress[-1][0] >= 0.5 or active >= expected:
            progress.append([round(now - since, 2), active])
        if active >= expected:
            return now, counts, progress
        await asyncio.sleep(poll)
    return None, counts, progress


def time_to_fraction(progress: list, expected: int, fraction: float) -> float | None:
    """When (from the progress samples) at least ``fraction`` of the grants were ACTIVE."""
    return next((t for t, active in progress if active >= fraction * expected), None)


def reset_peak_rss() -> None:
    """Start the process's peak resident size (VmHWM) afresh (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float | None:
    """The process's peak resident size since start or :func:`reset_peak_rss`, in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class AttemptCounter:
    """Reconcile attempts per grant: each time a reconcile gets to act towards the vendor (whether
    its lease was taken while reading or renewed after waiting for a slot)."""

    def __init__(self) -> None:
        from addon.door_access import reconcile

        self._module = reconcile
        self._original = reconcile._act
        self.per_grant: Counter = Counter()

        async def counted(host, snapshot, *args, **kwargs):
            self.per_grant[snapshot.grant.id] += 1
            return await self._original(host, snapshot, *args, **kwargs)

        reconcile._act = counted

    def per_booking(self, grant_rows) -> dict[int, int]:
        return {g.booking_id: self.per_grant.get(g.id, 0) for g in grant_rows}

    def close(self) -> None:
        self._module._act = self._original


def cpu_seconds() -> float:
    """CPU time (user + system) of this process: the server, the worker and the sandbox."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def field_values(host: Host) -> dict[int, str | None]:
    async with host.database.session() as session:
        rows = (await session.execute(
            select(BookingFieldValue.booking_id, BookingFieldValue.value)
            .join(BookingField, BookingField.id == BookingFieldValue.field_id)
            .where(BookingField.code == AUTH_FIELD)
        )).all()
    return dict(rows)


async def grants(host: Host) -> list[AccessGrant]:
    async with host.database.session() as session:
        rows = list((await session.execute(select(AccessGrant))).scalars().all())
    return rows


async def activate_grants_directly(host: Host) -> None:
    """Scenario 3 needs bookings that show access: mark their grants ACTIVE without Resivo."""
    async with host.database.session() as session:
        field = (await session.execute(select(BookingField).where(BookingField.code == AUTH_FIELD))).scalar_one()
        rows = (await session.execute(select(AccessGrant))).scalars().all()
        now = datetime.now(timezone.utc)
        for grant in rows:
            grant.state = GrantState.ACTIVE
            grant.authorization_id = f"auth-{grant.booking_id}"
            grant.location_id = "demo-site"
            grant.doors = [{"id": "duinpark-studio-main", "name": STUDIO_DOORS[0]}]
            grant.valid_from, grant.valid_to = now, now + timedelta(days=2)
            grant.locale = "nl"
            grant.next_attempt_at = None
            session.add(BookingFieldValue(booking_id=grant.booking_id, field_id=field.id,
                                          value=grant.authorization_id))
        await session.commit()


# --------------------------------------------------------------------------- the Resivo sandbox


class Sandbox:
    """The sandbox app in this process; the product's connector reaches it over ASGITransport
    (its latency is an asyncio.sleep, so it costs the server no CPU), and the harness scripts and
    inspects it through its /_sandbox/ HTTP routes."""

    def __init__(self) -> None:
        self.app = create_sandbox_app(token_ttl_seconds=3600)
        self.admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=SANDBOX_URL)

    def connect(self, host: Host) -> ResivoConnector:
        """Put in place, as the host's Resivo connector, one that reaches this sandbox (with the
        timeouts of RESIVO_CONNECT_TIMEOUT / RESIVO_READ_TIMEOUT and the integration log)."""
        settings = resivo_settings(host)
        return host.provide(ResivoConnector(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            transport=httpx.ASGITransport(app=self.app),
            on_call=CallLogBridge(host),
        ))

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.admin.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def latency(self, ms: float) -> None:
        await self._json("POST", "/_sandbox/latency", json={"ms": ms})

    async def add_fault(self, spec: dict) -> None:
        await self._json("POST", "/_sandbox/faults", json=spec)

    async def faults(self) -> list[dict]:
        return (await self._json("GET", "/_sandbox/faults"))["faults"]

    async def clear_faults(self) -> None:
        await self._json("DELETE", "/_sandbox/faults")

    async def stats(self) -> dict:
        return await self._json("GET", "/_sandbox/stats")

    async def authorizations(self) -> list[dict]:
        body = await self._json("GET", "/_sandbox/authorizations")
        return body["authorizations"] if isinstance(body, dict) else body

    async def aclose(self) -> None:
        await self.admin.aclose()


def booking_of_reference(reference: str | None) -> int | None:
    """``ireserve-i{integration}-b{booking}-g{generation}`` → booking id."""
    if not reference:
        return None
    for part in reference.split("-"):
        if part.startswith("b") and part[1:].isdigit():
            return int(part[1:])
    return None


def access_check(sets: list[dict], grant_rows: list[AccessGrant], fields: dict[int, str | None],
                 booking_ids: list[int]) -> dict:
    """Every booking has exactly one active set, its grant and booking field name it, and no set
    in the sandbox is unknown to the grants (an orphan)."""
    active = [s for s in sets if s.get("status") == "active"]
    per_booking = Counter(booking_of_reference(s.get("externalReference")) for s in active)
    known_ids = {g.authorization_id for g in grant_rows if g.authorization_id}
    grant_of = {g.booking_id: g for g in grant_rows}
    orphans = [s["id"] for s in sets if s["id"] not in known_ids and s.get("status") == "active"]
    result = {
        "bookings": len(booking_ids),
        "sets_total": len(sets),
        "sets_active": len(active),
        "bookings_with_one_active_set": sum(1 for b in booking_ids if per_booking.get(b) == 1),
        "bookings_with_several_active_sets": sum(1 for b in booking_ids if per_booking.get(b, 0) > 1),
        "bookings_without_active_set": sum(1 for b in booking_ids if per_booking.get(b, 0) == 0),
        "grants_active_with_id": sum(1 for b in booking_ids
                                     if (g := grant_of.get(b)) and g.state == GrantState.ACTIVE and g.authorization_id),
        "booking_field_matches_grant": sum(1 for b in booking_ids
                                           if (g := grant_of.get(b)) and g.authorization_id
                                           and fields.get(b) == g.authorization_id),
        "orphan_active_sets": len(orphans),
    }
    result["ok"] = (result["bookings_with_one_active_set"] == len(booking_ids)
                    and result["grants_active_with_id"] == len(booking_ids)
                    and result["booking_field_matches_grant"] == len(booking_ids)
                    and result["orphan_active_sets"] == 0)
    return result


# --------------------------------------------------------------------------- SQL counting


IGNORED_PREFIXES = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


class StatementCounter:
    """SQL statements sent on an engine (before_cursor_execute), transaction control excluded;
    the transactions begun on it (the engine's ``begin`` event); also the database connections the engine's pool opened (a new connection costs a connect,
    on PostgreSQL a login and SQLAlchemy's set-up queries, and empty statement caches)."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine.sync_engine
        self.n = 0
        self.transactions = 0
        self.connections_opened = 0
        self.samples: list[str] = []
        self.keep = False
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "connect", self._connect)
        event.listen(self.engine, "begin", self._begin)

    def _begin(self, conn) -> None:
        self.transactions += 1

    def _connect(self, dbapi_connection, record) -> None:
        self.connections_opened += 1

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(IGNORED_PREFIXES):
            return
        self.n += 1
        if self.keep:
            self.samples.append(" ".join(statement.split())[:160])

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "connect", self._connect)
        event.remove(self.engine, "begin", self._begin)


class TransactionTimer:
    """How long database transactions stay open: from the engine's ``begin`` event to the
    ``commit``/``rollback`` event, or to the pool's ``reset`` when a session is closed with its
    transaction still open (a request session ends that way). On SQLite every transaction starts
    with BEGIN IMMEDIATE (addon.base.core.db), so this is how long each held the single write lock,
    and the sum over the wall time is the lock's utilisation."""

    def __init__(self, database: Database) -> None:
        self.engine = database.engine.sync_engine
        self.open: dict[int, float] = {}
        self.durations: list[float] = []
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "commit", self._end)
        event.listen(self.engine, "rollback", self._end)
        self.pool = self.engine.pool  # dispose() (at the app's shutdown) replaces the pool
        event.listen(self.pool, "reset", self._reset)

    @staticmethod
    def _key(conn) -> int:
        return id(conn.connection.dbapi_connection)

    def _begin(self, conn) -> None:
        self.open[self._key(conn)] = time.perf_counter()

    def _finish(self, key: int) -> None:
        started = self.open.pop(key, None)
        if started is not None:
            self.durations.append(time.perf_counter() - started)

    def _end(self, conn) -> None:
        self._finish(self._key(conn))

    def _reset(self, dbapi_connection, record, reset_state) -> None:
        self._finish(id(dbapi_connection))

    def take(self) -> list[float]:
        taken, self.durations = self.durations, []
        return taken

    def close(self) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "commit", self._end)
        event.remove(self.engine, "rollback", self._end)
        event.remove(self.pool, "reset", self._reset)


class GCWatch:
    """Python's full (generation 2) garbage collections in this process and the time they took:
    a full collection walks every live object, the app's start-up objects included."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self._started: float | None = None
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.count += 1
            self.seconds += time.perf_counter() - self._started
            self._started = None

    def take(self) -> tuple[int, float]:
        taken = (self.count, self.seconds)
        self.count, self.seconds = 0, 0.0
        return taken

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine from /proc/stat (every process: the
    server, the client, PostgreSQL); (0, 0) where there is no /proc."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Share of all the machine's CPUs that were busy between two machine_cpu() readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else None


class PerRequestStatements:
    """ASGI wrapper: the statements and transactions each /graphql request caused (exact when requests come one at
    a time; after-commit work that outlives its request is counted in the next one)."""

    def __init__(self, app, counter: StatementCounter) -> None:
        self.app = app
        self.counter = counter
        self.per_request: list[int] = []
        self.transactions_per_request: list[int] = []
        self.capture_next = False
        self.captured: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope.get("path") != "/graphql":
            await self.app(scope, receive, send)
            return
        before, began = self.counter.n, self.counter.transactions
        capture = self.capture_next
        if capture:
            self.capture_next = False
            self.counter.samples, self.counter.keep = [], True
        try:
            await self.app(scope, receive, send)
        finally:
            self.per_request.append(self.counter.n - before)
            self.transactions_per_request.append(self.counter.transactions - began)
            if capture:
                self.counter.keep = False
                self.captured = self.counter.samples


# --------------------------------------------------------------------------- the server


def http_implementation() -> str:
    try:
        import httptools  # noqa: F401

        return "httptools"
    except ImportError:
        return "h11"


@asynccontextmanager
async def serving(host: Host, wrap=None) -> AsyncIterator[tuple[str, Any]]:
    """The app (addon.base.public.create_app) served by uvicorn on a free 127.0.0.1 port, in this
    process's event loop (with the worker and the sandbox), lifespan on. Yields the GraphQL URL."""
    import uvicorn

    from addon.base.public import create_app

    app = create_app(host)
    served = wrap(app) if wrap else app
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(served, lifespan="on", log_level="warning", access_log=False,
                            timeout_graceful_shutdown=5, backlog=2048)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 30
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start within 30 s")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/graphql", served
    finally:
        server.should_exit = True
        await task
        sock.close()


async def run_client(job: dict) -> dict:
    """Run bench/loadgen.py in its own process with ``job``; returns its answer."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.loadgen",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        cwd=str(REPO_ROOT), env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    out, err = await process.communicate(json.dumps(job).encode())
    if process.returncode != 0:
        raise RuntimeError(f"the client process failed ({process.returncode}): {err.decode()[-2000:]}")
    return json.loads(out)


# --------------------------------------------------------------------------- GraphQL documents


ACCESS_SELECTION = "access { state authorizationId doors { id name } validFrom validTo }"

SET_STATUS = (
    "mutation($i: SetBookingStatusInput!) { setBookingStatus(input: $i) {"
    f" booking {{ id reference status {{ code }} {ACCESS_SELECTION} }} errors {{ field code message }} }} }}"
)


def set_status_request(booking_id: int, status: str) -> dict:
    return {"query": SET_STATUS, "variables": {"i": {"bookingId": str(booking_id), "status": status}}}


WARMUP_QUERY = {"query": "{ bookingStatuses { code name } }"}


async def stop_task(task: asyncio.Task, stop: asyncio.Event) -> None:
    stop.set()
    await task


async def count_where(database: Database, *conditions) -> int:
    async with database.session() as session:
        value = (await session.execute(select(func.count()).select_from(AccessGrant).where(*conditions))).scalar_one()
    return value

