"""Command-line parts of door access."""

from __future__ import annotations

import argparse


def _worker(host, args: argparse.Namespace) -> int:
    import asyncio

    from addon.base.public import check_ready_to_run

    from .worker import run_worker_process

    check_ready_to_run(host)  # refuses a database behind the code: 'ireserve db upgrade' first
    port = host.settings.health_port
    asyncio.run(run_worker_process(host, health=(args.health_host, port) if port else None))
    return 0


def add_commands(commands) -> None:
    worker = commands.add_parser(
        "worker", help="run the access worker (finishes pending door access) on its own; with IRESERVE_HEALTH_PORT "
                       "set, it serves /healthz, /readyz and /metrics on that port")
    worker.add_argument("--health-host", default="127.0.0.1", metavar="HOST",
                        help="interface of IRESERVE_HEALTH_PORT (default 127.0.0.1)")
    worker.set_defaults(func=_worker)
