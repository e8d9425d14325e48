"""The app served by a real uvicorn on 127.0.0.1, in a thread with its own event loop (WebSockets
need a real server), and a small graphql-transport-ws client on the ``websockets`` package."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


def bound_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1: its port is known before the app is made (for an
    app that must know its own address, e.g. in the links it sends)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """``app`` served by uvicorn (lifespan on) until :meth:`stop`, on ``sock`` (from
    :func:`bound_socket`) or a free port. ``run(coroutine)`` runs work on the server's own loop
    (where its host's engine and broker live)."""

    def __init__(self, app: Any, sock: socket.socket | None = None) -> None:
        self.app = app
        self._socket = sock or bound_socket()
        self.port = self._socket.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning",
                                                    timeout_graceful_shutdown=2))
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.serve(sockets=[self._socket]))
        finally:
            self.loop.close()

    def start(self) -> "LiveServer":
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start the app")
            time.sleep(0.01)
        return self

    async def run(self, coroutine):
        """Await ``coroutine`` on the server's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, self.loop))

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=30)
        self._socket.close()


class Socket:
    """One graphql-transport-ws connection, read in the background as a browser's client does:
    the server's pings are answered at once (unless ``answer_pings`` is off, to play a dead
    client), every other message waits in a queue for :meth:`receive`."""

    def __init__(self, connection: ClientConnection, answer_pings: bool = True) -> None:
        self.connection = connection
        self.answer_pings = answer_pings
        self.pings = 0
        self._messages: asyncio.Queue = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                message = json.loads(text)
                if message.get("type") == "ping":
                    self.pings += 1
                    if self.answer_pings:
                        await self.send({"type": "pong"})
                    continue
                self._messages.put_nowait(message)
        except Exception:  # the connection closed abnormally: closed() tells how
            pass
        finally:
            self._messages.put_nowait(None)

    async def send(self, message: dict) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, timeout: float = 15.0) -> dict | None:
        """The next message; ``None`` once the connection has closed."""
        message = await asyncio.wait_for(self._messages.get(), timeout)
        if message is None:
            self._messages.put_nowait(None)
        return message

    async def init(self, payload: dict | None = None) -> dict | None:
        await self.send({"type": "connection_init", **({"payload": payload} if payload is not None else {})})
        return await self.receive()

    async def subscribe(self, operation_id: str, query: str, variables: dict | None = None) -> None:
        await self.send({"id": operation_id, "type": "subscribe",
                         "payload": {"query": query, "variables": variables or {}}})

    async def next(self, operation_id: str, timeout: float = 15.0) -> dict:
        message = await self.receive(timeout)
        assert message is not None and message.get("id") == operation_id, message
        return message

    async def closed(self, timeout: float = 15.0) -> tuple[int | None, str | None]:
        """Wait for the server to close the connection: (code, reason) of its close frame."""
        await asyncio.wait_for(self._reader, timeout)
        await asyncio.wait_for(self.connection.wait_closed(), 5)
        close = self.connection.protocol.close_rcvd
        return (close.code, close.reason) if close is not None else (None, None)

    async def aclose(self) -> None:
        await self.connection.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


def open_socket(url: str, *, headers: dict | None = None, origin: str | None = None, answer_pings: bool = True,
                subprotocols: tuple[str, ...] = (PROTOCOL,)):
    """``async with open_socket(url, ...) as socket``: a connection (not yet initialised)."""

    class _Opening:
        async def __aenter__(self) -> Socket:
            self._connect = connect(url, subprotocols=list(subprotocols), additional_headers=headers or {},
                                    origin=origin, proxy=None, ping_interval=None, open_timeout=10)
            connection = await self._connect.__aenter__()
            self._socket = Socket(connection, answer_pings)
            return self._socket

        async def __aexit__(self, *exc) -> None:
            await self._connect.__aexit__(*exc)
            self._socket._reader.cancel()

    return _Opening()
