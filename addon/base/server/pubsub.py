"""Publish/subscribe for live updates (GraphQL subscriptions), across the processes of one
installation.

Addons publish small notices on channels they name (``broker(host).publish(channel, data,
session=...)``: ids, not documents) and subscribers load what they show from the database when
a notice arrives. A notice goes out only if the change it announces commits:

* PostgreSQL: ``SELECT pg_notify(...)`` inside the publishing transaction; PostgreSQL delivers it
  at commit to every process that ``LISTEN``\\ s. Each process with subscribers holds one
  dedicated connection listening on :data:`PG_CHANNEL` (the logical channel is in the payload),
  reconnects when it drops, and then tells every subscriber that notices may have been missed
  (:attr:`Notice.missed_since`), so that they load the current state again.
* SQLite: within the process, right after the publishing session commits (nothing on rollback).
  Other processes on the same file hear nothing.

The base knows no channel: each addon names its own (e.g. ``door_access.booking.12``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PG_CHANNEL = "ireserve_events"
LISTEN_APPLICATION_NAME = "ireserve-listen"  # how the LISTEN connection shows in pg_stat_activity
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: notices carry ids only.
MAX_PAYLOAD_BYTES = 7900
# Notices waiting for one slow subscriber; past this the oldest go (subscribers load the current
# state whatever the notice, so the newest ones are the ones that matter).
INBOX_LIMIT = 1000
# How long a subscriber waits for the LISTEN connection before its subscription fails.
LISTEN_READY_SECONDS = 10.0
# How often an idle LISTEN connection is probed (a silently dropped TCP connection says nothing).
LISTEN_PROBE_SECONDS = 30.0
RECONNECT_FIRST_SECONDS, RECONNECT_MAX_SECONDS = 0.5, 10.0
_PENDING_KEY = "ireserve.pubsub.pending"


class BrokerClosed(Exception):
    """The broker stopped (the process is shutting down): subscriptions end."""


class LiveUpdatesUnavailable(Exception):
    """The broker cannot listen right now (the database is unreachable)."""


@dataclass(frozen=True)
class Notice:
    channel: str
    data: Mapping[str, Any]
    # Set on the notice sent after the LISTEN connection was lost and is back: changes made since
    # then may have gone unheard, so the subscriber should load its current state again.
    missed_since: datetime | None = None


class Inbox:
    """The notices of one channel for one subscriber."""

    def __init__(self, channel: str, limit: int = INBOX_LIMIT) -> None:
        self.channel = channel
        self._notices: deque[Notice] = deque(maxlen=limit)
        self._arrived = asyncio.Event()
        self._closed = False

    def deliver(self, notice: Notice) -> None:
        self._notices.append(notice)
        self._arrived.set()

    def close(self) -> None:
        self._closed = True
        self._arrived.set()

    @property
    def waiting(self) -> int:
        """Notices delivered and not yet taken."""
        return len(self._notices)

    async def next_batch(self) -> list[Notice]:
        """Wait for at least one notice; return it with every other one already waiting (a burst
        of changes is answered with one fresh load). An empty list: the broker closed (shutdown),
        the subscription ends."""
        while not self._notices:
            if self._closed:
                return []
            self._arrived.clear()
            await self._arrived.wait()
        batch = list(self._notices)
        self._notices.clear()
        return batch


class Broker:
    """In-process delivery (SQLite): notices reach this process's subscribers after commit."""

    def __init__(self, host) -> None:
        self.host = host
        self._inboxes: dict[str, set[Inbox]] = {}
        self._closed = False

    async def publish(self, channel: str | Sequence[str], data: Mapping[str, Any], *,
                      session: AsyncSession | None = None) -> None:
        """Announce ``data`` (JSON, small: ids) on ``channel`` (or several). With ``session``: once
        its transaction (begun if none is open) commits, and not at all if it rolls back; without:
        now."""
        channels = [channel] if isinstance(channel, str) else list(channel)
        _check_size(channels, data)
        if session is None:
            self.deliver(channels, data)
            return
        if not session.in_transaction():
            await session.connection()  # the notice belongs to a transaction, as NOTIFY does on PostgreSQL
        session.info.setdefault(_PENDING_KEY, []).append((self, channels, dict(data)))

    def deliver(self, channels: Sequence[str], data: Mapping[str, Any], missed_since: datetime | None = None) -> None:
        for channel in channels:
            for inbox in list(self._inboxes.get(channel, ())):
                inbox.deliver(Notice(channel, data, missed_since))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Inbox]:
        """Listen on ``channel`` for the block: notices published once this has entered are
        delivered (so load the current state inside the block, not before it)."""
        if self._closed:
            raise BrokerClosed()
        inbox = Inbox(channel)
        self._inboxes.setdefault(channel, set()).add(inbox)
        try:
            await self._ready()
            yield inbox
        finally:
            found = self._inboxes.get(channel)
            if found is not None:
                found.discard(inbox)
                if not found:
                    del self._inboxes[channel]

    @property
    def subscriber_count(self) -> int:
        return sum(len(inboxes) for inboxes in self._inboxes.values())

    async def _ready(self) -> None:
        return None

    def _all_inboxes(self) -> list[Inbox]:
        return [inbox for inboxes in self._inboxes.values() for inbox in inboxes]

    async def aclose(self) -> None:
        self._closed = True
        for inbox in self._all_inboxes():
            inbox.close()


class PostgresBroker(Broker):
    """PostgreSQL: NOTIFY inside the publishing transaction, one LISTEN connection per process
    (opened by the first subscriber, kept and re-opened until the broker closes)."""

    def __init__(self, host) -> None:
        super().__init__(host)
        self._dsn = make_url(host.database.url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._listening = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._lost_at: datetime | None = None

    async def publish(self, channel: str | Sequence[str], data: Mapping[str, Any], *,
                      session: AsyncSession | None = None) -> None:
        channels = [channel] if isinstance(channel, str) else list(channel)
        payload = _check_size(channels, data)
        notify = select(func.pg_notify(PG_CHANNEL, payload))
        if session is not None:
            await session.execute(notify)  # sent by PostgreSQL at commit, dropped on rollback
            return
        async with self.host.database.engine.begin() as connection:
            await connection.execute(notify)

    async def _ready(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen_forever(), name="pubsub-listen")
        try:
            await asyncio.wait_for(self._listening.wait(), LISTEN_READY_SECONDS)
        except asyncio.TimeoutError:
            raise LiveUpdatesUnavailable() from None

    def _on_notify(self, _connection, _pid, _channel, payload: str) -> None:
        try:
            message = json.loads(payload)
            channels, data = message["c"], message["d"]
        except (ValueError, KeyError, TypeError):
            log.warning("live updates: ignored a malformed notification")
            return
        self.deliver(channels, data)

    async def _listen_forever(self) -> None:
        import asyncpg

        delay = RECONNECT_FIRST_SECONDS
        while not self._closed:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn, timeout=LISTEN_READY_SECONDS,
                                                   server_settings={"application_name": LISTEN_APPLICATION_NAME})
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c: lost.set())
                await connection.add_listener(PG_CHANNEL, self._on_notify)
                self._listening.set()
                delay = RECONNECT_FIRST_SECONDS
                if self._lost_at is not None:
                    log.info("live updates: listening again")
                    self._tell_all_they_may_have_missed(self._lost_at)
                    self._lost_at = None
                while not lost.is_set():
                    with suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(lost.wait(), LISTEN_PROBE_SECONDS)
                        continue
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), LISTEN_READY_SECONDS)
                log.warning("live updates: the LISTEN connection was closed; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unreachable, refused, dropped: try again with a growing pause
                log.warning("live updates: cannot listen (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
            finally:
                if self._listening.is_set():
                    self._listening.clear()
                    # Notices committed from now on are unheard until the connection is back.
                    self._lost_at = self.host.clock.now()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            if self._closed:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _tell_all_they_may_have_missed(self, since: datetime) -> None:
        for inbox in self._all_inboxes():
            inbox.deliver(Notice(inbox.channel, {}, missed_since=since - timedelta(seconds=5)))

    async def aclose(self) -> None:
        await super().aclose()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _check_size(channels: Sequence[str], data: Mapping[str, Any]) -> str:
    payload = json.dumps({"c": list(channels), "d": data}, separators=(",", ":"), default=str)
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a notice must stay under {MAX_PAYLOAD_BYTES} bytes (send ids, not documents)")
    return payload


def make_broker(host) -> Broker:
    return Broker(host) if host.database.is_sqlite else PostgresBroker(host)


def broker(host) -> Broker:
    """The process's broker (made on first use; started and stopped by :func:`pubsub_lifespan`)."""
    return host.service(Broker, lambda: make_broker(host))


@asynccontextmanager
async def pubsub_lifespan(host) -> AsyncIterator[None]:
    """Lives as long as the app or the worker process; at the end, subscriptions end and the LISTEN
    connection closes."""
    found = broker(host)
    try:
        yield
    finally:
        await found.aclose()
        host.discard(Broker)


# -- SQLite: deliver what a session published once it has committed --------------------------------

@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    for published, channels, data in session.info.pop(_PENDING_KEY, ()):
        published.deliver(channels, data)


@event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint's rollback leaves the transaction's notices
        session.info.pop(_PENDING_KEY, None)
