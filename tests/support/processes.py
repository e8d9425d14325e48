"""Real processes of the ``ireserve`` CLI for tests, and the one definition of the commands a
deployment runs: compose.yaml must run exactly these (tests/deploy/test_container_files.py) and
the several-processes test runs them (tests/deploy/test_several_processes.py)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

IRESERVE = Path(sys.executable).with_name("ireserve")

# What each service of a deployment runs (arguments of `ireserve`); ports come from the
# environment (IRESERVE_PORT for the web, IRESERVE_HEALTH_PORT for a worker's health endpoints).
MIGRATE = ("db", "upgrade")
WEB = ("serve", "--workers", "2")
WORKER = ("worker",)
# In a container the worker's health port listens on every interface (Prometheus scrapes it from
# the compose network); the tests keep it on loopback.
CONTAINER_HEALTH_BIND = ("--health-host", "0.0.0.0")
# The container health check: liveness only (a database outage must not make containers unhealthy).
HEALTH_CHECK = ("probe", "/healthz")
DEPLOYMENT_COMMANDS = {"migrate": MIGRATE, "web": WEB, "worker": WORKER}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(arguments) -> list[str]:
    base = [str(IRESERVE)] if IRESERVE.exists() else [sys.executable, "-m", "addon.base.runtime.cli"]
    return base + list(arguments)


def start(arguments, environ: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command(arguments), env=environ, stdout=log.open("a"), stderr=subprocess.STDOUT)


def run(arguments, environ: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(command(arguments), env=environ, capture_output=True, text=True, timeout=timeout)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            return process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


async def until_serving(url: str, process: subprocess.Popen, log: Path, seconds: float = 60,
                        path: str = "/healthz") -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=url) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if (await client.get(path)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the process did not start serving {path}:\n{log.read_text()}")


def children_of(pid: int) -> list[int]:
    """The process ids of ``pid``'s children (Linux)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def web_processes_of(pid: int) -> list[int]:
    """The web processes ``serve --workers`` (uvicorn's supervisor) runs: its children but the
    resource tracker that Python's multiprocessing starts beside them."""
    found = []
    for child in children_of(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        if b"resource_tracker" not in command:
            found.append(child)
    return found
