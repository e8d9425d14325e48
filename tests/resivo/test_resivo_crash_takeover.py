"""Crash recovery in seconds: a worker process killed while it holds leases (its calls to Resivo
hanging) leaves its work to the next worker within 30 s, with no second set and nothing lost: once
the dead worker's lease and its creates' deadline have passed, a look-up by reference that finds
nothing proves the creates were never carried out. Real processes, real HTTP to a sandbox served
by uvicorn, a shared SQLite database."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from addon.booking.public import set_booking_status
from addon.door_access.models import AccessGrant, GrantState, SetStatus
from tests.conftest import base_environ
from tests.door_access.helpers import create_booking, future, journal_of
from tests.resivo.host_helpers import DEMO_CREDENTIALS, configured_resivo

pytestmark = pytest.mark.anyio

IRESERVE = Path(sys.executable).with_name("ireserve")
TAKEOVER_LIMIT = 30.0  # seconds from the crash to the work being done by another worker


def start_worker(environ: dict) -> subprocess.Popen:
    command = [str(IRESERVE)] if IRESERVE.exists() else [sys.executable, "-m", "addon.base.runtime.cli"]
    return subprocess.Popen(command + ["worker"], env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def grant_rows(host) -> list[AccessGrant]:
    async with host.database.session() as session:
        rows = list((await session.execute(select(AccessGrant).order_by(AccessGrant.id))).scalars().all())
        await session.commit()
        return rows


async def wait_until(condition, seconds: float, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await condition()
        if found:
            return found
        await asyncio.sleep(step)
    return await condition()


async def test_a_killed_worker_s_grants_are_taken_over_within_30_seconds(host, gql, tmp_path, live_sandbox):
    url, sandbox_app = live_sandbox
    admin = httpx.AsyncClient(base_url=url)
    _, objects = await configured_resivo(gql, credentials=dict(DEMO_CREDENTIALS, baseUrl=url))
    made = [await create_booking(gql, objects["Studio 1"], future(), future(11)) for _ in range(4)]
    async with host.database.session() as session:
        for each in made:
            await set_booking_status(host, session, each["id"], "confirmed")
        await session.commit()  # a plain commit: the grants are due, nobody has tried them yet

    # Resivo hangs on every create: the first worker takes the leases and is stuck in its calls.
    assert (await admin.post("/_sandbox/faults", json={"mode": "hang", "seconds": 60, "count": 4,
                                                       "operation": "create_remote_access"})).status_code == 201
    environ = base_environ(tmp_path, host.database.url, IRESERVE_WORKER_INTERVAL="0.2", RESIVO_READ_TIMEOUT="5",
                           RESIVO_CONNECT_TIMEOUT="2")
    first = start_worker(environ)
    try:
        async def all_leased():
            rows = await grant_rows(host)
            sending = [r for g in rows for r in await journal_of(host, g.id) if r.status == SetStatus.SENDING]
            return all(g.claimed_by for g in rows) and len(sending) == len(rows) and rows

        assert await wait_until(all_leased, 60), "the first worker never got to the creates"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        crashed = time.monotonic()
        await admin.delete("/_sandbox/faults")

        second = start_worker(environ)
        try:
            async def all_active():
                rows = await grant_rows(host)
                return all(g.state == GrantState.ACTIVE for g in rows) and rows

            rows = await wait_until(all_active, TAKEOVER_LIMIT + 5)
            took = time.monotonic() - crashed
            assert rows, "the grants of the killed worker were not taken over"
            assert took <= TAKEOVER_LIMIT, f"taken over after {took:.1f} s"
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        await admin.aclose()
    sets = (await httpx.AsyncClient(base_url=url).get("/_sandbox/authorizations")).json()
    sets = sets["authorizations"] if isinstance(sets, dict) else sets
    active = [s for s in sets if s["status"] == "active"]
    assert len(active) == 4 and {s["id"] for s in active} == {g.authorization_id for g in rows}
