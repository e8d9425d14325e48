"""The benchmark's GraphQL client, run as a separate process (``python -m bench.loadgen``).

The server under test (uvicorn + the app + the access worker) runs in the benchmark's main
process; the client runs here, in its own interpreter, so that on a small machine the client's
own CPU work (building requests, parsing answers) does not share an event loop or the GIL with
the server. Everything a user would feel is timed here: from just before the request is sent to
just after the whole answer is read and parsed.

Job on stdin (JSON)::

    {"url": "http://127.0.0.1:PORT/graphql", "token": "irs_...", "concurrency": 12,
     "warmup": [{"query": "...", "variables": {...}}, ...],
     "requests": [{"query": "...", "variables": {...}}, ...],
     "extract": [["data", "setBookingStatus", "booking", "access", 0, "state"], ...]}

Answer on stdout (JSON): per measured request its latency in ms and the extracted values, the
count of HTTP errors and of answers carrying GraphQL ``errors``, and ``time.monotonic()``
stamps of the first send and the last answer (CLOCK_MONOTONIC is system-wide on Linux, so the
main process can compare them with its own clock).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time

import httpx


def extract(body, path):
    """Follow ``path`` through dicts/lists; ``"#len"`` gives the length of what is there."""
    node = body
    for step in path:
        if step == "#len":
            return len(node) if isinstance(node, list | dict) else None
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return None
    return node


async def run(job: dict) -> dict:
    concurrency = max(1, int(job.get("concurrency", 1)))
    headers = {"Authorization": f"Bearer {job['token']}"} if job.get("token") else {}
    paths = job.get("extract", [])
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    result = {"latencies_ms": [], "extracts": [], "http_errors": 0, "graphql_errors": 0, "first_error": None}

    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120.0), headers=headers) as client:

        async def send(item: dict) -> tuple[float, dict | None, str | None]:
            started = time.perf_counter()
            response = await client.post(job["url"], json=item)
            try:
                body = response.json()
            except ValueError:
                body = None
            elapsed = (time.perf_counter() - started) * 1000
            problem = None
            if response.status_code != 200 or body is None:
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
            elif body.get("errors"):
                problem = "GraphQL: " + json.dumps(body["errors"])[:300]
            return elapsed, body, problem

        # Warm-up: the same path as the measured requests (connections, server caches), not timed.
        for item in job.get("warmup", []):
            await send(item)

        queue: asyncio.Queue = asyncio.Queue()
        for index, item in enumerate(job["requests"]):
            queue.put_nowait((index, item))
        latencies = [0.0] * len(job["requests"])
        extracts = [None] * len(job["requests"])

        async def lane() -> None:
            while True:
                try:
                    index, item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                elapsed, body, problem = await send(item)
                latencies[index] = elapsed
                extracts[index] = [extract(body, p) for p in paths] if body is not None else None
                if problem is not None:
                    if problem.startswith("HTTP"):
                        result["http_errors"] += 1
                    else:
                        result["graphql_errors"] += 1
                    result["first_error"] = result["first_error"] or problem

        result["started"] = time.monotonic()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        result["finished"] = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["latencies_ms"] = latencies
    result["extracts"] = extracts
    return result


def main() -> None:
    job = json.loads(sys.stdin.read())
    json.dump(asyncio.run(run(job)), sys.stdout)


if __name__ == "__main__":
    main()
