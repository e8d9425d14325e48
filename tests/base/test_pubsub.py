"""The live-update broker: a notice goes out only when the transaction that publishes it commits;
on PostgreSQL it reaches every process (LISTEN/NOTIFY) and survives a lost LISTEN connection."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from addon.base.core.host import load_host
from addon.base.server.pubsub import (
    LISTEN_APPLICATION_NAME,
    MAX_PAYLOAD_BYTES,
    Broker,
    PostgresBroker,
    broker,
)
from tests.conftest import _postgres_admin, base_environ, run_aside

pytestmark = pytest.mark.anyio


async def test_a_notice_goes_out_when_its_transaction_commits_and_never_after_a_rollback(host):
    hub = broker(host)
    assert type(hub) is Broker, "SQLite: delivery within the process"
    async with hub.subscribe("things.1") as inbox, hub.subscribe("things.2") as elsewhere:
        async with host.database.session() as session:
            await hub.publish(["things.1", "things.2"], {"n": 1}, session=session)
            await session.rollback()
        async with host.database.session() as session:
            await hub.publish("things.1", {"n": 2}, session=session)
            assert inbox.waiting == 0, "not before the commit"
            await session.commit()
        [notice] = await inbox.next_batch()
        assert (notice.channel, notice.data, notice.missed_since) == ("things.1", {"n": 2}, None)
        assert elsewhere.waiting == 0

        await hub.publish("things.2", {"n": 3})  # without a session: at once
        assert [n.data for n in await elsewhere.next_batch()] == [{"n": 3}]
        with pytest.raises(ValueError, match="ids, not documents"):
            await hub.publish("things.1", {"text": "x" * MAX_PAYLOAD_BYTES})
    assert hub.subscriber_count == 0
    async with hub.subscribe("things.1") as inbox:
        await hub.aclose()  # the process stops
        assert await inbox.next_batch() == [], "a closed broker ends its subscriptions"


@pytest.fixture
def postgres_url(postgres_server, postgres_template):
    name = "t_" + uuid.uuid4().hex[:12]
    run_aside(_postgres_admin, postgres_server, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield postgres_server.url(database=name)
    run_aside(_postgres_admin, postgres_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_postgres_notices_reach_other_processes_and_outlive_a_lost_connection(postgres_url, postgres_server,
                                                                                   tmp_path):
    # Two hosts on one database stand for two processes (each its own engine and broker).
    web = load_host(environ=base_environ(tmp_path, postgres_url))
    worker = load_host(environ=base_environ(tmp_path, postgres_url))
    listener, publisher = broker(web), broker(worker)
    assert type(listener) is PostgresBroker
    try:
        async with listener.subscribe("things.1") as inbox:
            async with worker.database.session() as session:
                await publisher.publish("things.1", {"n": 1}, session=session)
                await session.rollback()
            async with worker.database.session() as session:
                await publisher.publish("things.1", {"n": 2}, session=session)
                await session.commit()
            assert [n.data for n in await asyncio.wait_for(inbox.next_batch(), 10)] == [{"n": 2}]

            await _postgres_admin(postgres_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                   f"WHERE application_name = '{LISTEN_APPLICATION_NAME}'")
            [missed] = await asyncio.wait_for(inbox.next_batch(), 15)
            assert missed.missed_since is not None, "back again: subscribers are told to load afresh"
            async with worker.database.session() as session:
                await publisher.publish("things.1", {"n": 3}, session=session)
                await session.commit()
            assert [n.data for n in await asyncio.wait_for(inbox.next_batch(), 10)] == [{"n": 3}]
    finally:
        await listener.aclose()
        await web.database.dispose()
        await worker.database.dispose()
