"""``ireserve serve``: one web process, or ``--workers N`` of them under uvicorn's own supervisor.

The supervisor binds the socket once, starts N children, starts again one that dies, and stops
them all on SIGTERM or SIGINT. Each child sets up its logging from the ``log_config`` it is given
(the application's format, JSON or text: ``core/logs.py``) and builds its app from the
environment. A stop by signal ends with status 0 and no traceback (``make run`` then reports no
error).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from ..core.logs import log_config
from ..server.metrics import MULTIPROCESS_DIR

log = logging.getLogger("addon.base.serve")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# What each child of ``serve --workers`` serves: the app of a host loaded from the environment.
APP_FACTORY = "addon.base.runtime.web:create_app"
# How long a child may take to answer the supervisor's ping (a thread of its own answers, however
# busy its requests are). Starting a process on a loaded machine can take longer than uvicorn's
# default of 5 s, and a child that misses it is killed and started again, over and over.
CHILD_PING_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ServingAddress:
    """Where ``ireserve serve`` listens (``--host``/``--port``, else IRESERVE_HOST/IRESERVE_PORT): a
    service of the one web process it runs, for what must point at it (the demo's sandbox)."""

    host: str
    port: int


class Server(uvicorn.Server):
    """uvicorn's server with our signal handling: a stop signal shuts down gracefully and the
    process then exits normally (uvicorn would raise the signal again after shutting down).
    ``handle_signals=False`` when embedded in a process that handles them itself (the worker)."""

    def __init__(self, config: uvicorn.Config, handle_signals: bool = True) -> None:
        super().__init__(config)
        self.handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum, _frame) -> None:
        if self.should_exit and signum == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: do not wait for open connections
        self.should_exit = True


def server_config(app, *, host: str | None = None, port: int | None = None, log_level: str = "info",
                  **options) -> uvicorn.Config:
    """uvicorn keeps the logging configured by the CLI (``log_config=None``, unless given); the
    application writes its own line per request, so uvicorn's access log (with query strings) is off."""
    options.setdefault("log_config", None)
    return uvicorn.Config(app, access_log=False, log_level=log_level.lower(), host=host, port=port, **options)


def run_server(config: uvicorn.Config) -> int:
    server = Server(config)
    server.run()
    return 0 if server.started else 3  # 3: the application did not start (see the log)


# -- several processes


def serve_workers(count: int, *, host: str, port: int, log_level: str, log_format: str, **options) -> int:
    """``count`` web processes on one socket under uvicorn's supervisor; 0 once stopped by a signal,
    3 when a child could not start (the supervisor then stops: it would fail the same way again)."""
    config = server_config(APP_FACTORY, factory=True, host=host, port=port, workers=count, log_level=log_level,
                           log_config=log_config(log_level, log_format),
                           timeout_worker_healthcheck=CHILD_PING_TIMEOUT_SECONDS, **options)
    own_dir = None
    if not os.environ.get(MULTIPROCESS_DIR):  # metrics of every child, added up at /metrics
        own_dir = os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="ireserve-metrics-")
    sock = config.bind_socket()
    supervisor = Multiprocess(config, sockets=[sock])
    try:
        log.info("serving on http://%s:%s with %d web processes", host, port, count)
        supervisor.run()
    finally:
        sock.close()
        for sig in STOP_SIGNALS:  # the supervisor's handlers queue signals for a loop that has ended
            signal.signal(sig, signal.SIG_DFL)
        if own_dir:
            os.environ.pop(MULTIPROCESS_DIR, None)
            shutil.rmtree(own_dir, ignore_errors=True)
    log.info("all web processes stopped")
    return 3 if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes) else 0
