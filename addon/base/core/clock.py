"""Time as the application sees it: one clock per host, replaceable in tests.

Code that schedules work (leases, backoff, due times) asks ``host.clock`` instead of the system,
so a test can move time forward instead of sleeping.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone


class Clock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
