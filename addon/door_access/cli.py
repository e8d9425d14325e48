"""Command-line parts of door access."""

from __future__ import annotations

import argparse


def _worker(host, args: argparse.Namespace) -> int:
    import asyncio

    from .worker import run_worker_process

    asyncio.run(run_worker_process(host))
    return 0


def add_commands(commands) -> None:
    worker = commands.add_parser("worker", help="run the access worker (finishes pending door access) on its own")
    worker.set_defaults(func=_worker)
