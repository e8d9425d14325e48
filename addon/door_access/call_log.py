"""The integration log: every call a backend makes to its lock vendor, written in the background."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select

from addon.base.public import Host

from .metrics import VENDOR_CALL_DURATION
from .models import AccessCallLog

log = logging.getLogger(__name__)
vendor_log = logging.getLogger("addon.door_access.vendor")


@dataclass(frozen=True)
class CallEntry:
    """One call to a lock vendor, as a backend reports it. Never holds a secret or token."""

    integration_id: int | None
    booking_id: int | None
    operation: str
    method: str
    path: str
    http_status: int | None
    duration_ms: float
    outcome: str  # ok, transient or permanent
    error: str | None = None


class CallLog:
    """Queues entries and writes them to ``door_call_log`` from a background task.

    Writing inline would make every vendor call wait for the database, and on SQLite a caller
    that holds the write lock would wait for itself. ``flush()`` drains the queue (tests, shutdown).
    """

    def __init__(self, host: Host, batch_size: int = 200) -> None:
        self.host = host
        self.batch_size = batch_size
        self._pending: list[dict] = []
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    def record(self, entry: CallEntry) -> None:
        # The one log line of this call; the request id (or the worker's grant and attempt) comes
        # from the context the call was made in (addon.base.public.log_fields).
        vendor_log.info("%s %s -> %s %s in %.0f ms", entry.operation, entry.path, entry.http_status, entry.outcome,
                        entry.duration_ms, extra={
                            "vendor_operation": entry.operation, "http_status": entry.http_status,
                            "duration_ms": round(entry.duration_ms, 1), "outcome": entry.outcome,
                            "integration_id": entry.integration_id, "booking_id": entry.booking_id,
                            **({"error": entry.error} if entry.error else {})})
        VENDOR_CALL_DURATION.labels(operation=entry.operation, outcome=entry.outcome).observe(entry.duration_ms / 1000)
        self._pending.append(dict(  # rows, not model instances: written in one INSERT per batch
            integration_id=entry.integration_id,
            booking_id=entry.booking_id,
            at=self.host.clock.now(),
            operation=entry.operation,
            method=entry.method,
            path=entry.path[:500],
            http_status=entry.http_status,
            duration_ms=round(entry.duration_ms),
            outcome=entry.outcome,
            error=entry.error,
        ))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.flush())

    async def flush(self) -> None:
        async with self._lock:
            while self._pending:
                batch, self._pending = self._pending[: self.batch_size], self._pending[self.batch_size:]
                try:
                    async with self.host.database.session() as session:
                        await session.execute(insert(AccessCallLog.__table__), batch)
                        await session.commit()
                except Exception:
                    log.exception("could not write %d call log rows", len(batch))


async def prune_call_log(host: Host, batch_size: int = 1000) -> int:
    """Delete the entries older than IRESERVE_CALL_LOG_RETENTION_DAYS (0 keeps everything), a batch
    per transaction so no other writer waits long; returns how many."""
    from .settings import door_settings

    days = door_settings(host).call_log_retention_days
    if days <= 0:
        return 0
    cutoff = host.clock.now() - timedelta(days=days)
    removed = 0
    while True:
        async with host.database.session() as session:
            ids = (await session.execute(
                select(AccessCallLog.id).where(AccessCallLog.at < cutoff).order_by(AccessCallLog.id).limit(batch_size)
            )).scalars().all()
            if ids:
                await session.execute(delete(AccessCallLog).where(AccessCallLog.id.in_(ids)))
            await session.commit()
        removed += len(ids)
        if len(ids) < batch_size:
            return removed


def call_log(host: Host) -> CallLog:
    return host.service(CallLog, lambda: CallLog(host))
