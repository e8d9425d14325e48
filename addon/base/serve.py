"""``ireserve serve``: one web process, or ``--workers N`` of them under a small supervisor.

uvicorn's own ``--workers`` sets up its logging in every child and loses ours, so the supervisor
here binds the socket once and starts N children (``ireserve serve --fd``) that each log in the
application's format; a child that dies is started again, SIGTERM or SIGINT stops them all. A
stop by signal ends with status 0 and no traceback (``make run`` then reports no error).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import uvicorn

from .metrics import MULTIPROCESS_DIR

log = logging.getLogger("addon.base.serve")

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A child that dies this soon after starting is started again only after a growing pause.
QUICK_DEATH_SECONDS = 10.0
MAX_RESTART_PAUSE = 30.0
STOP_TIMEOUT_SECONDS = 30.0


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


def server_config(app, *, host: str | None = None, port: int | None = None, fd: int | None = None,
                  log_level: str = "info", **options) -> uvicorn.Config:
    """uvicorn keeps the logging configured by the CLI (``log_config=None``); the application
    writes its own line per request, so uvicorn's access log (with query strings) is off."""
    where = {"fd": fd} if fd is not None else {"host": host, "port": port}
    return uvicorn.Config(app, log_config=None, access_log=False, log_level=log_level.lower(),
                          **where, **options)


def run_server(config: uvicorn.Config) -> int:
    server = Server(config)
    server.run()
    return 0 if server.started else 3  # 3: the application did not start (see the log)


# -- several processes


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts ``count`` web processes on one listening socket and keeps them running."""

    def __init__(self, count: int, host: str, port: int, child_arguments: list[str]) -> None:
        self.count, self.host, self.port = count, host, port
        self.child_arguments = child_arguments
        self.children: dict[int, tuple[subprocess.Popen, float]] = {}
        self.stopping = False
        self._pause = 1.0

    def _start_child(self, sock: socket.socket, environ: dict[str, str]) -> None:
        command = [sys.executable, "-m", "addon.base.cli", "serve", "--fd", str(sock.fileno()),
                   *self.child_arguments]
        child = subprocess.Popen(command, pass_fds=(sock.fileno(),), env=environ)
        self.children[child.pid] = (child, time.monotonic())
        log.info("web process %s started", child.pid, extra={"child_pid": child.pid})

    def _request_stop(self, signum, _frame) -> None:
        self.stopping = True

    def run(self) -> int:
        environ = dict(os.environ)
        own_dir = None
        if not environ.get(MULTIPROCESS_DIR):  # metrics of every child, added up at /metrics
            own_dir = environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="ireserve-metrics-")
        previous = {sig: signal.signal(sig, self._request_stop) for sig in STOP_SIGNALS}
        sock = _listening_socket(self.host, self.port)
        log.info("serving on http://%s:%s with %d web processes", self.host, self.port, self.count)
        try:
            for _ in range(self.count):
                self._start_child(sock, environ)
            while not self.stopping:
                self._replace_dead(sock, environ)
                time.sleep(0.2)
        finally:
            self._stop_children()
            sock.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if own_dir:
                shutil.rmtree(own_dir, ignore_errors=True)
        log.info("all web processes stopped")
        return 0

    def _replace_dead(self, sock: socket.socket, environ: dict[str, str]) -> None:
        for pid, (child, started) in list(self.children.items()):
            status = child.poll()
            if status is None:
                continue
            del self.children[pid]
            _forget_process_metrics(pid, environ)
            log.warning("web process %s ended with status %s; starting another", pid, status,
                        extra={"child_pid": pid, "exit_status": status})
            if time.monotonic() - started < QUICK_DEATH_SECONDS:
                self._sleep_unless_stopping(self._pause)  # it dies at start-up: do not spin
                self._pause = min(self._pause * 2, MAX_RESTART_PAUSE)
            else:
                self._pause = 1.0
            if not self.stopping:
                self._start_child(sock, environ)

    def _sleep_unless_stopping(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)

    def _stop_children(self) -> None:
        for child, _ in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child, _ in self.children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("web process %s did not stop in time; killed", child.pid)
                child.kill()
                child.wait()


def _forget_process_metrics(pid: int, environ: dict[str, str]) -> None:
    """A dead process's live gauges (pool use) must not count any more; its counters stay."""
    if environ.get(MULTIPROCESS_DIR):
        from prometheus_client import multiprocess

        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(pid, environ[MULTIPROCESS_DIR])
