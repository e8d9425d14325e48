"""Prometheus metrics at ``/metrics`` (text format), for the scrape token or an admin API token.

The scrape token (``IRESERVE_METRICS_TOKEN`` or ``…_FILE``) is compared in memory: a scrape needs
no database, and Prometheus holds no credential that reads or changes the business's data. An
admin API token is looked up in the database as everywhere else.

Counters and histograms live in each process (prometheus-client); with several processes
(``serve --workers N``, or ``ireserve worker`` beside them) ``PROMETHEUS_MULTIPROC_DIR`` makes each
write its values to files there, and ``/metrics`` adds them up. Figures read from the database
(grants by state, the due backlog) are computed when scraped, by the collectors addons register
(``host.registry.metric_collectors``), so they are the same whichever process answers. When the
database does not answer, ``ireserve_database_up`` is 0 and those figures are left out; the
process's own still answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import event
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.host import Host
from ..core.outage import is_database_unavailable
from ..core.principal import Role
from ..identity.auth import authenticate, bearer_token

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# How long a scrape waits for the figures read from the database (Prometheus gives up after 10 s
# by default): past it the scrape answers without them.
DATABASE_READ_SECONDS = 5.0

REQUEST_DURATION = Histogram(
    "ireserve_request_duration_seconds", "HTTP requests by GraphQL operation (or route) and outcome",
    ["operation", "outcome"])
DB_POOL_IN_USE = Gauge("ireserve_db_pool_connections_in_use", "Database connections checked out of the pool",
                       multiprocess_mode="livesum")
DB_POOL_SIZE = Gauge("ireserve_db_pool_size", "Database connections a process keeps open (its pool size)",
                     multiprocess_mode="livesum")

# What an addon registers: reads the database (through the host) and returns metric families.
MetricCollector = Callable[[Host], Awaitable[Iterable[Metric]]]


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


def watch_pool(host: Host) -> None:
    """Keep the pool gauges of this process up to date (checkouts and checkins)."""
    engine = host.database.engine.sync_engine
    DB_POOL_SIZE.set(host.settings.db_pool_size)
    event.listen(engine, "checkout", lambda *_: DB_POOL_IN_USE.inc())
    event.listen(engine, "checkin", lambda *_: DB_POOL_IN_USE.dec())


def _process_registry() -> CollectorRegistry:
    if not multiprocess():
        return REGISTRY
    from prometheus_client import multiprocess as mp

    _forget_dead_processes(os.environ[MULTIPROCESS_DIR])
    registry = CollectorRegistry()
    mp.MultiProcessCollector(registry)
    return registry


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*_(\d+)\.db$")


def _forget_dead_processes(directory: str) -> None:
    """A process that died (a web process the supervisor replaced, a killed worker) leaves the
    files of its live gauges (pool use) behind; they must not count any more. Its counters stay."""
    from prometheus_client import multiprocess as mp

    for name in os.listdir(directory):
        found = _LIVE_GAUGE_FILE.match(name)
        if found and not _alive(int(found.group(1))):
            with contextlib.suppress(OSError):
                mp.mark_process_dead(int(found.group(1)), directory)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def _database_families(host: Host) -> list[Metric]:
    families: list[Metric] = []
    for collector in host.registry.metric_collectors:
        families.extend(await collector(host))
    return families


async def render(host: Host) -> bytes:
    """This process's (or all processes') metrics, then the figures read from the database —
    or, when it does not answer, ``ireserve_database_up 0`` without them."""
    try:
        families = await asyncio.wait_for(_database_families(host), DATABASE_READ_SECONDS)
        up = 1
    except TimeoutError:
        log.warning("metrics: the database did not answer within %.0f s; its figures are left out",
                    DATABASE_READ_SECONDS)
        families, up = [], 0
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        host.database.outage.failed(exc, during="metrics")
        families, up = [], 0
    database_up = GaugeMetricFamily("ireserve_database_up",
                                    "1 when this scrape read the database, 0 when it did not answer (the figures "
                                    "read from it are then left out)")
    database_up.add_metric([], up)
    database = CollectorRegistry(auto_describe=False)
    database.register(_Families([database_up, *families]))
    return generate_latest(_process_registry()) + generate_latest(database)


def is_scrape_token(host: Host, authorization: str | None) -> bool:
    """The request carries the metrics token (compared in constant time: no guessing it by timing)."""
    expected = host.settings.metrics_token
    given = bearer_token(authorization)
    return expected is not None and given is not None and hmac.compare_digest(given.encode(), expected.encode())


def metrics_route(host: Host) -> Route:
    async def metrics(request: Request) -> Response:
        # Metrics name operations and counts of the business: not for the public.
        authorization = request.headers.get("authorization")
        if not is_scrape_token(host, authorization):
            principal = None
            if bearer_token(authorization) is not None:  # an API token: only the database knows it
                async with host.database.session(read_only=True) as session:
                    principal = await authenticate(session, authorization, host.clock.now())
                    await session.rollback()
            if principal is None:
                return JSONResponse({"error": "the metrics token or an admin API token is required "
                                              "(Authorization: Bearer …)"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            if principal.role < Role.ADMIN:
                return JSONResponse({"error": "metrics are for the metrics token and admin tokens only"},
                                    status_code=403)
        return Response(await render(host), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
