"""Run the benchmarks: ``python -m bench.run`` (or ``python bench/run.py``, or ``make bench``).

    python -m bench.run                       # every scenario, SQLite and PostgreSQL
    python -m bench.run --scenario 3 --db sqlite --repeat 5
    python -m bench.run --size 5 --repeat 1   # a quick smoke run

For each scenario and database: one warm-up run (small size, kept in the results but not in
the medians), then ``--repeat`` measured repetitions, each on a fresh database and a fresh
sandbox. Prints a table of medians and writes every raw figure to bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

if __package__ in (None, ""):  # `python bench/run.py`: make the `bench` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (  # noqa: E402
    booking_list,
    bulk_confirmation,
    bulk_confirmation_slow,
    status_latency,
    worker_drain,
)
from bench.harness import (  # noqa: E402
    REPO_ROOT,
    PostgresBackend,
    SQLiteBackend,
    http_implementation,
    medians,
    restore_logging,
    rounded,
    setup_logging,
)

SCENARIOS = [bulk_confirmation, status_latency, booking_list, worker_drain, bulk_confirmation_slow]
RESULTS_PATH = REPO_ROOT / "bench" / "results.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="all",
                        help="all, or comma-separated numbers/names: 1 bulk_confirmation, 2 status_latency, "
                             "3 booking_list, 4 worker_drain, 5 bulk_confirmation_slow (default: all)")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--size", type=int, default=None,
                        help="override every scenario's size (bookings for 1 and 4, calls per variant for 2, "
                             "page size for 3); e.g. --size 5 for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="measured repetitions per scenario and database (default 3)")
    parser.add_argument("--repeat-large", type=int, default=1,
                        help="repetitions for scenarios 1 and 4 when they run at 1,000 or more bookings "
                             "(default 1, so that a full run stays within ~10 minutes on 2 CPUs; "
                             "the warm-up run still comes first)")
    parser.add_argument("--no-warmup", action="store_true", help="skip the warm-up run of each scenario")
    parser.add_argument("--client-concurrency", type=int, default=12,
                        help="requests in flight from the client in scenario 1 (default 12)")
    parser.add_argument("--reconcile-wait", type=float, default=None,
                        help="IRESERVE_RECONCILE_WAIT for scenario 1 (default: the setting, 3 s unless set)")
    parser.add_argument("--samples", type=int, default=None,
                        help="timed calls per variant in scenarios 2 and 3 (default 40)")
    parser.add_argument("--drain-latency-ms", type=float, default=worker_drain.DEFAULT_LATENCY_MS,
                        help=f"sandbox latency in scenario 4 (default {worker_drain.DEFAULT_LATENCY_MS:g} ms)")
    parser.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto",
                        help="event loop of the server process; auto: uvloop when installed, as `ireserve serve` "
                             "(uvicorn) picks it (default auto)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="where to write the JSON results")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown here")
    return parser.parse_args(argv)


def selected_scenarios(spec: str) -> list:
    if spec == "all":
        return list(SCENARIOS)
    chosen = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        for number, module in enumerate(SCENARIOS, start=1):
            if part in (str(number), module.NAME):
                chosen.append(module)
                break
        else:
            raise SystemExit(f"unknown scenario {part!r}; use 1-5 or one of "
                             + ", ".join(m.NAME for m in SCENARIOS))
    return chosen


def loop_factory(choice: str):
    """The server's event loop: uvloop where installed (what uvicorn's ``loop="auto"`` picks)."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("--loop uvloop: uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def machine() -> dict:
    from importlib.metadata import version

    import sqlalchemy
    import strawberry  # noqa: F401

    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "sqlalchemy": sqlalchemy.__version__,
        "strawberry": version("strawberry-graphql"),
        "uvicorn": version("uvicorn"),
        "uvicorn_http": http_implementation(),
        "event_loop": _loop_name(),
    }


def _loop_name() -> str:
    try:
        return type(asyncio.get_running_loop()).__module__.split(".")[0]
    except RuntimeError:
        return "asyncio"


@contextlib.contextmanager
def postgres_server_or_none(wanted: bool, given=None):
    if not wanted:
        yield None, None
        return
    if given is not None:
        yield given, None
        return
    from tests.support.postgres import PostgresUnavailable, running_postgres

    try:
        with running_postgres(database="bench") as server:
            yield server, None
    except PostgresUnavailable as exc:
        yield None, str(exc)


LARGE = (bulk_confirmation.NAME, bulk_confirmation_slow.NAME, worker_drain.NAME)


class LoadSampler:
    """The machine's load during a run, read from /proc/loadavg every 2 s in a thread: the
    1-minute load average and the processes runnable at that moment (this one included). Other
    work on the machine shows here; the harness cannot stop it."""

    def __init__(self, every: float = 2.0) -> None:
        self.every = every
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                fields = Path("/proc/loadavg").read_text().split()
                self.samples.append((float(fields[0]), int(fields[3].split("/")[0])))
            except (OSError, ValueError, IndexError):
                return
            self._stop.wait(self.every)

    def __enter__(self) -> "LoadSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        if not self.samples:
            return {}
        loads = sorted(x for x, _ in self.samples)
        runnable = sorted(n for _, n in self.samples)
        return {"samples": len(loads), "load1_min": loads[0], "load1_median": loads[len(loads) // 2],
                "load1_max": loads[-1], "runnable_median": runnable[len(runnable) // 2], "runnable_max": runnable[-1]}


def repetitions_for(module, size: int, options) -> int:
    if module.NAME in LARGE and size >= 1000 and options.repeat_large:
        return options.repeat_large
    return options.repeat


async def run_scenario(module, backend, workdir: Path, options, info: dict) -> dict:
    size = options.size or module.default_size(options)
    repeat = repetitions_for(module, size, options)
    env = SimpleNamespace(backend=backend, workdir=workdir, options=options)
    started = time.monotonic()
    warmup = None
    if not options.no_warmup:
        print(f"  {module.NAME} on {backend.kind}: warm-up run (size {module.warmup_size(size)})", flush=True)
        warmup = await module.run_once(env, module.warmup_size(size))
        warmup.pop("_settings", None)
    runs = []
    settings = {}
    for index in range(repeat):
        print(f"  {module.NAME} on {backend.kind}: repetition {index + 1}/{repeat} (size {size})", flush=True)
        load = os.getloadavg()
        with LoadSampler() as sampler:
            run = await module.run_once(env, size)
        run["machine_load_during"] = sampler.summary()
        settings = run.pop("_settings", settings)
        # Other work on the machine shows here (the harness cannot stop it); the figures of a
        # run with a high load are worth less.
        run["machine_load_avg_before"] = [round(x, 2) for x in load]
        runs.append(run)
    return {
        "scenario": module.NAME,
        "title": module.TITLE,
        "db": backend.kind,
        "db_version": backend.version,
        "cpu_count": info["cpu_count"],
        "machine": info,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "size": size,
        "repetitions": repeat,
        "settings": settings,
        "duration_s": time.monotonic() - started,
        "medians": medians(runs),
        "runs": runs,
        "warmup_run": warmup,
    }


async def run_all(options, postgres_server=None) -> list[dict]:
    setup_logging()
    info = machine()
    scenarios = selected_scenarios(options.scenario)
    kinds = ["sqlite", "postgres"] if options.db == "both" else [options.db]
    workdir = Path(tempfile.mkdtemp(prefix="ireserve-bench-"))
    results: list[dict] = []
    try:
        with postgres_server_or_none("postgres" in kinds, postgres_server) as (server, problem):
            backends = []
            for kind in kinds:
                if kind == "sqlite":
                    backends.append(SQLiteBackend(workdir))
                elif server is not None:
                    backends.append(PostgresBackend(server, workdir))
                else:
                    print(f"\n*** PostgreSQL could not be started; its runs are SKIPPED: {problem}\n",
                          file=sys.stderr, flush=True)
                    for module in scenarios:
                        results.append({"scenario": module.NAME, "title": module.TITLE, "db": "postgres",
                                        "cpu_count": info["cpu_count"], "machine": info, "skipped": problem})
            for backend in backends:
                await backend.prepare()
            for module in scenarios:
                for backend in backends:
                    results.append(await run_scenario(module, backend, workdir, options, info))
                    # What is measured so far survives an interrupted run.
                    partial = Path(str(options.output) + ".partial")
                    partial.write_text(json.dumps([rounded(r) for r in results], indent=2) + "\n")
            for backend in backends:
                if hasattr(backend, "close"):
                    await backend.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        restore_logging()
    return [rounded(r) for r in results]


# --------------------------------------------------------------------------- output


def _module(name: str):
    return next(m for m in SCENARIOS if m.NAME == name)


def table(results: list[dict]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for result in results:
        if result.get("skipped"):
            rows.append((result["title"], result["db"], "SKIPPED", result["skipped"][:60], ""))
            continue
        module = _module(result["scenario"])
        per_run = [module.table_rows(run) for run in result["runs"]]
        for index, (label, value) in enumerate(module.table_rows(result["medians"])):
            spread = [run_rows[index][1] for run_rows in per_run]
            runs = " | ".join(spread) if len(spread) > 1 and all(len(s) <= 16 for s in spread) else ""
            rows.append((result["title"], result["db"], label, value, runs))
        load = result["medians"].get("machine_load_during")
        if load:
            rows.append((result["title"], result["db"], "machine load during the run: 1-min avg min-max, runnable max",
                         f"{load['load1_min']:.1f}-{load['load1_max']:.1f}, {load['runnable_max']:.0f}", ""))
    return rows


def print_table(results: list[dict]) -> None:
    rows = table(results)
    headers = ("Scenario", "DB", "Figure", "Median", "Runs")
    widths = [max(len(headers[i]), *(len(r[i]) for r in rows)) if rows else len(headers[i]) for i in range(5)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print("\n" + line + "\n" + "-" * len(line))
    previous = None
    for row in rows:
        key = row[:2]
        shown = ("", "") if key == previous else key
        previous = key
        print("  ".join(c.ljust(w) for c, w in zip((*shown, *row[2:]), widths)))
    print()


def markdown(results: list[dict]) -> str:
    out = ["| Scenario | DB | Figure | Median | Runs |", "| --- | --- | --- | --- | --- |"]
    previous = None
    for row in table(results):
        key = row[:2]
        shown = ("", "") if key == previous else key
        previous = key
        out.append("| " + " | ".join(c.replace("|", "/") for c in (*shown, *row[2:])) + " |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.monotonic()
    with asyncio.Runner(loop_factory=loop_factory(options.loop)) as runner:
        results = runner.run(run_all(options))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    if options.markdown:
        options.markdown.write_text(markdown(results))
    print(f"{len(results)} results written to {options.output} in {time.monotonic() - started:.0f} s "
          f"({results[0]['cpu_count'] if results else os.cpu_count()} CPUs, Python {platform.python_version()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
