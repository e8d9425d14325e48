"""A clock that tests move by hand: waiting out a backoff or a lease is one call, not a sleep."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from addon.base.public import Clock


class ManualClock(Clock):
    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float = 0.0, **delta) -> datetime:
        self._now += timedelta(seconds=seconds, **delta)
        return self._now

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)
