"""The access worker: finishes due grants (retries, repairs) in batches, in-process with the
server or as separate ``ireserve worker`` processes side by side. Each records its rounds in the
heartbeat (heartbeat.py), so that every process can tell whether any worker is at work."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from contextlib import asynccontextmanager
from datetime import timedelta

from addon.base.public import Host, bind_fields, is_database_unavailable

from .backend import backends
from .call_log import prune_call_log
from .heartbeat import Heartbeat, ServingSince, forget_gone_workers, workers_readiness
from .leases import claim_due, lease_seconds
from .on_request.opening import confirm_openings
from .reconcile import drain_background, reconcile_grant
from .settings import door_settings
from .sweep import sweep_forever

log = logging.getLogger(__name__)
PRUNE_EVERY = timedelta(hours=1)


class Worker:
    def __init__(self, host: Host, worker_id: str | None = None) -> None:
        self.host = host
        self.worker_id = worker_id or f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._next_prune = None  # when the call log is pruned next (the host's clock)
        self.last_round_at: float | None = None  # loop.time() of the last round (readiness)
        self.heartbeat = Heartbeat(host, self.worker_id)

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due grants and reconcile them; returns how many were claimed."""
        claimed = await claim_due(self.host, self.worker_id, door_settings(self.host).worker_batch_size,
                                  lease_seconds(self.host))
        if claimed:
            # Concurrency towards each vendor is bounded inside reconcile_grant (its backend's setting).
            results = await asyncio.gather(*(reconcile_grant(self.host, grant_id, self.worker_id, backend)
                                             for grant_id, backend in claimed), return_exceptions=True)
            for (grant_id, _), result in zip(claimed, results):
                if isinstance(result, Exception):  # its lease runs out; another round takes it over
                    log.error("reconcile of access grant %s failed", grant_id, exc_info=result)
        return len(claimed)

    async def prune_if_due(self) -> int:
        """Prune the call log at most once an hour; returns how many entries went."""
        now = self.host.clock.now()
        if self._next_prune is not None and now < self._next_prune:
            return 0
        self._next_prune = now + PRUNE_EVERY
        removed = await prune_call_log(self.host)
        if removed:
            log.info("call log: %d entries older than the retention removed", removed)
        gone = await forget_gone_workers(self.host)
        if gone:
            log.info("heartbeat: %d worker(s) not heard of for an hour forgotten", gone)
        return removed

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Run batches until nothing is due (tests, benchmarks)."""
        total = 0
        for _ in range(max_rounds):
            claimed = await self.run_once()
            total += claimed
            if not claimed:
                break
        return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        bind_fields(worker_id=self.worker_id)  # this loop's lines (and vendor calls) name the worker, no request
        log.info("access worker %s started", self.worker_id)
        interval = door_settings(self.host).worker_interval_seconds
        # The drift sweep runs beside the claim loop (one call at a time, rate-bounded), never in it.
        sweeper = asyncio.get_running_loop().create_task(
            sweep_forever(self.host, stop, wake=self.wake, sweeper_id=f"{self.worker_id}-sweep"))
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a wake while it runs is not lost
                self.last_round_at = asyncio.get_running_loop().time()
                try:
                    await self.heartbeat.beat()
                    await self.prune_if_due()
                    claimed = await self.run_once()
                    await confirm_openings(self.host)  # openings whose answer was lost or not confirmed yet
                except Exception as exc:  # the database may be briefly away; keep the loop alive
                    if is_database_unavailable(exc):
                        self.host.database.outage.failed(exc, during="access worker")  # told once per outage
                    else:
                        log.exception("access worker round failed")
                    claimed = 0
                if claimed:
                    continue
                waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
                await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
        finally:
            if not stop.is_set():  # the loop itself failed: the sweep goes with it
                sweeper.cancel()
            await asyncio.gather(sweeper, return_exceptions=True)
            try:
                await self.heartbeat.stop()
            except Exception as exc:  # its row stays and ages out: the worker counts as missing
                log.warning("access worker %s: could not remove its heartbeat (%s)", self.worker_id,
                            type(exc).__name__)
        log.info("access worker %s stopped", self.worker_id)


def running_worker(host: Host) -> Worker | None:
    """The worker of this process, if one runs (to wake it when work is queued)."""
    return host.service(Worker)


@asynccontextmanager
async def engine_lifespan(host: Host):
    """Runs the worker beside the web server unless IRESERVE_WORKER=false; on the way out stops
    it, waits for reconciles that requests started, closes the backends and writes the call log."""
    from .call_log import call_log

    stop = asyncio.Event()
    task = None
    host.provide(ServingSince(host.clock.now()))  # the workers' grace before /readyz calls them missing
    if door_settings(host).worker_enabled:
        worker = host.provide(Worker(host))
        task = asyncio.get_running_loop().create_task(worker.run_forever(stop))
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            await task
        host.discard(Worker)
        await drain_background(host)
        for backend in backends(host).all():
            await backend.aclose()
        await call_log(host).flush()


async def worker_readiness(host: Host) -> tuple[str, str | None] | None:
    """When this process runs the access worker: did its loop go round recently? When it leaves
    that to other processes (IRESERVE_WORKER=false): has any worker gone round lately?"""
    worker = running_worker(host)
    if worker is None:
        return await workers_readiness(host) if not door_settings(host).worker_enabled else None
    if worker.last_round_at is None:
        return "access_worker", "not started yet"
    interval = door_settings(host).worker_interval_seconds
    quiet = asyncio.get_running_loop().time() - worker.last_round_at
    # A round may wait on slow vendor calls; ten idle intervals (at least a minute) is stuck.
    return "access_worker", None if quiet <= max(10 * interval, 60.0) else f"no round for {quiet:.0f} s"


async def run_worker_process(host: Host, health: tuple[str, int] | None = None) -> None:
    """``ireserve worker``: until SIGINT/SIGTERM; with ``health`` (interface, port), also serves
    /healthz, /readyz and /metrics there for container health checks and scrapes."""
    import dataclasses
    import signal

    # This process is the worker: no second one from the lifespan.
    host.provide(dataclasses.replace(door_settings(host), worker_enabled=False))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with host.running():
        worker = host.provide(Worker(host))
        server = _health_server(host, *health) if health else None
        serving = loop.create_task(server.serve()) if server else None
        try:
            await worker.run_forever(stop)
        finally:
            if server is not None:
                server.should_exit = True
                await serving


def _health_server(host: Host, interface: str, port: int):
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from addon.base.public import (
        DatabaseOutageAnswers,
        Server,
        health_routes,
        metrics_route,
        server_config,
        watch_pool,
    )

    watch_pool(host)
    app = Starlette(routes=[*health_routes(host), metrics_route(host)],
                    middleware=[Middleware(DatabaseOutageAnswers, host=host)])  # 503 while the database is away
    return Server(server_config(app, host=interface, port=port, lifespan="off", log_level="warning"),
                  handle_signals=False)  # the worker's own handlers stop it
