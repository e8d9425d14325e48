"""``ireserve probe``: exit 0 when every path answers 200 — the container's health check (the
image has no curl). A light client on purpose: the standard library only, no settings classes, no
addons, no schema, so that a probe every few seconds costs milliseconds and a few megabytes.

The port: ``--port``, else ``IRESERVE_HEALTH_PORT`` (a worker's container sets it: its health
endpoints answer there), else ``IRESERVE_PORT``, else 8000.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

DEFAULT_PATHS = ("/healthz", "/readyz")
DEFAULT_PORT = 8000


class _NoProxies(urllib.request.ProxyHandler):
    def __init__(self) -> None:
        super().__init__({})  # a probe of this machine never goes through HTTP(S)_PROXY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="paths to check (default: /healthz /readyz)")
    parser.add_argument("--host", default="127.0.0.1", help="address to ask (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: IRESERVE_HEALTH_PORT, else IRESERVE_PORT or 8000)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")


def port_from(environ) -> int:
    """IRESERVE_HEALTH_PORT, else IRESERVE_PORT, else 8000; a value that is not a port is an error."""
    for name in ("IRESERVE_HEALTH_PORT", "IRESERVE_PORT"):
        raw = (environ.get(name) or "").strip()
        if not raw:
            continue
        try:
            port = int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
        if name == "IRESERVE_HEALTH_PORT" and port == 0:
            continue  # 0: no health port (as the application reads it)
        if not 1 <= port <= 65535:
            raise ValueError(f"{name} must be a port (1 to 65535), got {port}")
        return port
    return DEFAULT_PORT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ireserve probe",
                                     description="Health check: exit 0 when every path answers 200.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        port = args.port or port_from(os.environ)
    except ValueError as exc:
        print(f"ireserve: {exc}", file=sys.stderr)
        return 2
    opener = urllib.request.build_opener(_NoProxies())
    for path in args.paths or DEFAULT_PATHS:
        host = f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host  # IPv6
        url = f"http://{host}:{port}{path if path.startswith('/') else '/' + path}"
        try:
            with opener.open(url, timeout=args.timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError) as exc:
            print(f"{url}: {exc}", file=sys.stderr)
            return 1
        if status != 200:
            print(f"{url}: HTTP {status}", file=sys.stderr)
            return 1
    return 0
