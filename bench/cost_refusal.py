"""How fast the request limits refuse what used to hold the server up (issue 13), over real HTTP:

    python -m bench.cost_refusal                 # or: make bench-limits
    python -m bench.cost_refusal --samples 50 --bookings 3000

On a fresh SQLite database with ``--bookings`` bookings, the app served by uvicorn on loopback,
a frontend token. Measured, each ``--samples`` times (milliseconds, client side, from sending to
the whole answer):

* ``hundred_aliases``: 100 aliased ``bookings(first: 500)`` → QUERY_TOO_COSTLY;
* ``twenty_thousand_aliases``: 20,000 aliases of ``viewer { name }`` → DOCUMENT_TOO_LARGE;
* ``body_50mb_declared`` / ``body_50mb_streamed``: a 50 MB body with its Content-Length, and sent
  chunked without one → 413 (time to the status line; bytes sent before it);
* ``json_1000_deep``: a JSON body nested 1,000 deep → 400;
* ``viewer_idle`` and ``viewer_during_flood``: ``{ viewer { name } }`` alone, and while four
  clients keep sending the 100-alias query;
* for scale, what the budgets buy: one ``bookings(first: 500)`` page (cost 1,502: the rows read,
  and each one's reference) and the documented Bookings operation at ``first: 150`` (cost ~4,900
  with its count, about the frontend budget).

Never a pass/fail: the figures are printed (and written as JSON with ``--output``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from addon.base.public import Role, create_token  # noqa: E402
from bench.harness import (  # noqa: E402
    SQLiteBackend,
    create_bookings,
    fresh_host,
    seed_world,
    serving,
)

HUNDRED_ALIASES = "{ " + " ".join(f"a{i}: bookings(first: 500) {{ edges {{ node {{ reference }} }} }}"
                                  for i in range(100)) + " }"
TWENTY_THOUSAND_ALIASES = "{ " + " ".join(f"a{i}: viewer {{ name }}" for i in range(20_000)) + " }"
DEEP_JSON = b'{"query": "{ viewer { name } }", "variables": {"x": ' + b"[" * 1000 + b"]" * 1000 + b"}}"
VIEWER = "{ viewer { name } }"
ONE_PAGE = "{ bookings(first: 500) { edges { node { reference } } } }"
BOOKINGS_OPERATION = (Path(__file__).resolve().parents[1] / "graphql" / "operations" / "bookings.graphql")
FIFTY_MB = 50 * 1024 * 1024


def stats(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(values), "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
            "max_ms": round(ordered[-1], 2)}


async def timed_post(client: httpx.AsyncClient, token: str, *, json_body=None, content=None,
                     expect: int = 200) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    response = await client.post(str(client.base_url).rstrip("/"), json=json_body, content=content, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == expect, (response.status_code, response.text[:300])
    return elapsed, response.json()


def code_of(body: dict) -> str | None:
    errors = body.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


async def raw_big_body(url: str, token: str, *, declared: bool) -> tuple[float, int, str]:
    """Send a 50 MB body (with its Content-Length, or chunked without one) over a raw socket and
    time the status line; returns (ms, bytes of body sent before it, status line). The sender
    stops as soon as the answer starts, as a client reading its answer would."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    head = [f"POST {parts.path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}",
            f"Authorization: Bearer {token}", "Content-Type: application/json"]
    head.append(f"Content-Length: {FIFTY_MB}" if declared else "Transfer-Encoding: chunked")
    started = time.perf_counter()
    answer = asyncio.create_task(reader.readline())
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    piece = b'{"query": "' + b"x" * (64 * 1024 - 11)
    sent = 0
    try:
        while sent < FIFTY_MB and not answer.done():
            writer.write(piece if declared else b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()
            sent += len(piece)
            piece = b"x" * len(piece)
            await asyncio.sleep(0)  # let the answer be read
    except (ConnectionError, OSError):
        pass  # the server closed the connection after refusing
    try:
        status = (await answer).decode().strip()
    except (ConnectionError, OSError) as exc:
        status = f"connection closed ({type(exc).__name__})"
    elapsed = (time.perf_counter() - started) * 1000
    writer.close()
    return elapsed, sent, status


async def flood(client: httpx.AsyncClient, token: str, stop: asyncio.Event) -> int:
    count = 0
    while not stop.is_set():
        _, body = await timed_post(client, token, json_body={"query": HUNDRED_ALIASES})
        assert code_of(body) == "QUERY_TOO_COSTLY", body
        count += 1
    return count


async def measure(samples: int, bookings: int) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    backend = SQLiteBackend(workdir)
    await backend.prepare()
    results: dict = {}
    async with fresh_host(backend, workdir) as host:
        world = await seed_world(host, role=Role.FRONTEND)
        await create_bookings(host, world, bookings)
        async with host.database.session() as session:
            admin = await create_token(session, "bench-admin", Role.ADMIN)
            await session.commit()
        frontend = world.token
        async with serving(host) as (url, _app), httpx.AsyncClient(base_url=url, timeout=60) as client:
            await timed_post(client, frontend, json_body={"query": VIEWER})  # warm up

            async def series(name: str, token: str, expect_code: str | None, expect_status: int = 200, **body):
                times = []
                for _ in range(samples):
                    elapsed, answer = await timed_post(client, token, expect=expect_status, **body)
                    assert code_of(answer) == expect_code, answer
                    times.append(elapsed)
                results[name] = stats(times)

            await series("hundred_aliases", frontend, "QUERY_TOO_COSTLY", json_body={"query": HUNDRED_ALIASES})
            await series("twenty_thousand_aliases", frontend, "DOCUMENT_TOO_LARGE",
                         json_body={"query": TWENTY_THOUSAND_ALIASES})
            await series("json_1000_deep", frontend, "REQUEST_TOO_DEEP", expect_status=400, content=DEEP_JSON)
            for declared in (True, False):
                times, sent, statuses = [], [], set()
                for _ in range(max(3, samples // 5)):
                    elapsed, body_sent, status = await raw_big_body(url, frontend, declared=declared)
                    times.append(elapsed)
                    sent.append(body_sent)
                    statuses.add(status)
                name = "body_50mb_declared" if declared else "body_50mb_streamed"
                results[name] = {**stats(times), "status": sorted(statuses),
                                 "body_bytes_sent_before_refusal_max": max(sent)}
            await series("viewer_idle", frontend, None, json_body={"query": VIEWER})

            stop = asyncio.Event()
            flooders = [asyncio.create_task(flood(client, frontend, stop)) for _ in range(4)]
            await asyncio.sleep(0.2)  # the flood is under way (wall-clock benchmark, not a test)
            await series("viewer_during_flood", frontend, None, json_body={"query": VIEWER})
            stop.set()
            results["viewer_during_flood"]["refused_meanwhile"] = sum(await asyncio.gather(*flooders))

            await series("one_page_500_admin", admin, None, json_body={"query": ONE_PAGE})
            await series("bookings_operation_first_150", frontend, None,
                         json_body={"query": BOOKINGS_OPERATION.read_text(), "variables": {"first": 150}})
    results["bookings_in_database"] = bookings
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost_refusal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    results = asyncio.run(measure(args.samples, args.bookings))
    for name, figures in results.items():
        print(f"{name:32} {figures}")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
