"""Command-line parts of the Resivo addon."""

from __future__ import annotations

import argparse


def _sandbox(host, args: argparse.Namespace) -> int:
    from .sandbox import run_sandbox

    run_sandbox(host=args.host, port=args.port)
    return 0


def add_commands(commands) -> None:
    sandbox = commands.add_parser("sandbox", help="run the Resivo sandbox (a stand-in for the Resivo API) on its own")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100)
    sandbox.set_defaults(func=_sandbox)
