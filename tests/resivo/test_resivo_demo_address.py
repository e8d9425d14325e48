"""`make run` on another port: the demo integration's base URL follows the address the server
listens on (IRESERVE_HOST/IRESERVE_PORT) each time the demo is seeded; a base URL someone set
elsewhere stays theirs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from addon.base.public import DEMO_FILE, load_host, seed
from addon.resivo.models import ResivoCredentials

pytestmark = pytest.mark.anyio

DEMO = json.loads(DEMO_FILE.read_text(encoding="utf-8"))


async def base_urls(host) -> list[str]:
    async with host.database.session() as session:
        return list((await session.execute(select(ResivoCredentials.base_url))).scalars())


async def seeded_on(host, **environ: str) -> list[str]:
    other = load_host(environ={**host.environ, **environ})
    try:
        await seed(other, DEMO)
        return await base_urls(other)
    finally:
        await other.database.dispose()


async def test_the_demo_integration_follows_the_port_it_is_served_on(host):
    assert await seeded_on(host, IRESERVE_PORT="8000") == ["http://127.0.0.1:8000/resivo-sandbox"]
    assert await seeded_on(host, IRESERVE_PORT="8001") == ["http://127.0.0.1:8001/resivo-sandbox"]
    assert await seeded_on(host, IRESERVE_HOST="0.0.0.0", IRESERVE_PORT="8002") == \
        ["http://127.0.0.1:8002/resivo-sandbox"], "listening everywhere: reached on loopback"

    async with host.database.session() as session:
        await session.execute(update(ResivoCredentials).values(base_url="https://api.resivo.io"))
        await session.commit()
    assert await seeded_on(host, IRESERVE_PORT="8003") == ["https://api.resivo.io"], "an address someone chose stays"
