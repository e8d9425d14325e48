"""The access worker: finishes due grants (retries, repairs) in batches, in-process with the
server or as separate ``ireserve worker`` processes side by side."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from contextlib import asynccontextmanager

from addon.base.host import Host

from .reconcile import claim_due, drain_background, reconcile_grant

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, host: Host, worker_id: str | None = None) -> None:
        self.host = host
        self.worker_id = worker_id or f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due grants and reconcile them; returns how many were claimed."""
        ids = await claim_due(self.host, self.worker_id, self.host.settings.worker_batch_size)
        if ids:
            # Concurrency towards Resivo is bounded inside reconcile_grant (RESIVO_CONCURRENCY).
            await asyncio.gather(*(reconcile_grant(self.host, i, self.worker_id) for i in ids))
        return len(ids)

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
        log.info("access worker %s started", self.worker_id)
        interval = self.host.settings.worker_interval_seconds
        while not stop.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # the database may be briefly away; keep the loop alive
                log.exception("access worker round failed")
                claimed = 0
            if claimed:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        log.info("access worker %s stopped", self.worker_id)


WORKER_KEY = "resivo.worker"


@asynccontextmanager
async def worker_lifespan(host: Host):
    """Runs the worker beside the web server unless IRESERVE_WORKER=false."""
    stop = asyncio.Event()
    task = None
    if host.settings.worker_enabled:
        worker = host.services[WORKER_KEY] = Worker(host)
        task = asyncio.get_running_loop().create_task(worker.run_forever(stop))
    try:
        yield
    finally:
        stop.set()
        if task is not None:
            await task
        await drain_background(host)


async def run_worker_process(host: Host) -> None:
    """``ireserve worker``: until SIGINT/SIGTERM."""
    import dataclasses
    import signal

    # This process is the worker: no second one from the lifespan.
    host.settings = dataclasses.replace(host.settings, worker_enabled=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with host.running():
        await Worker(host).run_forever(stop)
